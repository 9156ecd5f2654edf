/**
 * `/api/status`: every pipeline's status summary, as the scheduler last
 * wrote it (sharded JSON at ZkPaths.pipelineStatus). Web never computes
 * status itself; a pipeline without a summary yet is left out.
 */
import type { Logger } from 'pino';
import { toError } from '../errors.js';
import { readValue, unlessMissing, type ZkClient, type ZkPaths } from '../zk/index.js';
import type { WebApp, WebDeps } from './app.js';
import { assertReady } from './routes-health.js';
import { StatusCache } from './status-cache.js';
import { statusBody, withErrors } from './schemas.js';

export type StatusEntry = { readonly pipeline: string } & Record<string, unknown>;

export function statusRoutes(app: WebApp, deps: WebDeps): void {
  const log = deps.logger;
  const cache = new StatusCache(deps.zk, deps.paths, log, () =>
    readStatuses(deps.zk, deps.paths, log),
  );
  app.addHook('onClose', (_instance, done) => {
    cache.stop();
    done();
  });
  app.get(
    '/api/status',
    { schema: { response: withErrors(statusBody) } },
    async (request, reply) => {
      assertReady(deps);
      cache.start();
      const { body, gzip, etag } = await cache.get();
      void reply
        .header('etag', etag)
        .header('cache-control', 'no-cache')
        .header('vary', 'accept-encoding');
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
      // Buffers skip fastify's serialiser: the body was serialised once, when it changed.
      void reply.type('application/json; charset=utf-8');
      if (acceptsGzip(request.headers['accept-encoding']))
        return reply.header('content-encoding', 'gzip').send(gzip);
      return reply.send(body);
    },
  );
}

/** True when the client lists gzip without `q=0`. */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  return value.split(',').some((part) => {
    const [coding = '', ...params] = part.trim().toLowerCase().split(';');
    if (coding.trim() !== 'gzip' && coding.trim() !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** The summaries of all pipelines, by pipeline name. */
export async function readStatuses(
  zk: ZkClient,
  paths: ZkPaths,
  log: Logger,
): Promise<StatusEntry[]> {
  const names = (await unlessMissing(zk.children(paths.pipelines()), [])).sort();
  const all = await Promise.all(names.map((name) => readOne(zk, paths, name, log)));
  return all.filter((s): s is StatusEntry => s !== null);
}

async function readOne(
  zk: ZkClient,
  paths: ZkPaths,
  name: string,
  log: Logger,
): Promise<StatusEntry | null> {
  let path: string;
  try {
    path = paths.pipelineStatus(name);
  } catch {
    return null; // not a pipeline node Drawbridge made
  }
  const stored = await readValue(zk, path);
  if (stored === null) return null;
  try {
    const value: unknown = JSON.parse(stored.data.toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new TypeError('not a JSON object');
    return { ...(value as Record<string, unknown>), pipeline: name };
  } catch (e) {
    // One damaged summary must not hide the others: say so in its place.
    log.warn({ err: toError(e), pipeline: name }, 'unreadable pipeline status');
    return { pipeline: name, unreadable: toError(e).message };
  }
}
