/**
 * `/api/builds/:id/log`: a build's log as text, with HTTP Range; with
 * `?follow=1` as server-sent events (one event per batch of whole lines,
 * its id the byte offset after it, so Last-Event-ID resumes exactly).
 *
 * Where the bytes come from: a running build's from the live log server of
 * the executor running it (its URL is in the executor's component record);
 * a finished build's from its file under `executor.logRoot` when this web
 * shares the executors' disk, else from whichever registered executor
 * still serves it (the last `recentLogs` builds of each).
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { toError } from '../errors.js';
import { buildRequestCodec } from '../model/index.js';
import { listComponents, ZkDocument } from '../zk/index.js';
import type { WebApp, WebDeps } from './app.js';
import { WebError } from './errors.js';
import { assertReady } from './routes-health.js';
import { errorBody } from './schemas.js';

/** No log is known for this build, here or on any executor. */
export class WebLogNotFoundError extends WebError {
  readonly code = 'DRAWBRIDGE_ERR_WEB_LOG_NOT_FOUND';
  readonly statusCode = 404;
  constructor(
    readonly id: string,
    reason: string,
  ) {
    super(`no log for build ${JSON.stringify(id)}: ${reason}`);
  }
}

/** The Range header asks for bytes the log does not have. */
export class WebLogRangeError extends WebError {
  readonly code = 'DRAWBRIDGE_ERR_WEB_LOG_RANGE';
  readonly statusCode = 416;
  override readonly headers: Readonly<Record<string, string>>;
  constructor(
    readonly range: string,
    readonly size: number,
  ) {
    super(`range ${range} is not satisfiable: the log has ${size} bytes`);
    this.headers = { 'content-range': `bytes */${size}` };
  }
}

/** A log readable from somewhere: a local file or an executor's live log server. */
interface LogSource {
  /** Bytes available now, and whether the build has ended (no more will come). */
  stat(): Promise<{ size: number; ended: boolean }>;
  /** Bytes [start, end). */
  read(start: number, end: number): Promise<NodeJS.ReadableStream>;
  /** Bytes from `offset` as they are written, ending when the build's log is complete. */
  follow(offset: number, signal: AbortSignal): AsyncIterable<Buffer>;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const HTTP_TIMEOUT_MS = 5_000;

const logParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 300 } },
} as const;

const logQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { follow: { type: 'string', enum: ['0', '1'] } },
} as const;

const text = { type: 'string', description: 'the log, plain text (UTF-8)' } as const;

export function logRoutes(app: WebApp, deps: WebDeps): void {
  app.get<{ Params: { id: string }; Querystring: { follow?: '0' | '1' } }>(
    '/api/builds/:id/log',
    {
      schema: {
        params: logParams,
        querystring: logQuery,
        response: { 200: text, 206: text, '4xx': errorBody, '5xx': errorBody },
      },
    },
    async (request, reply) => {
      assertReady(deps);
      const { id } = request.params;
      const source = await locate(deps, id);
      if (request.query.follow === '1') {
        const last = request.headers['last-event-id'];
        const from = typeof last === 'string' && /^\d{1,15}$/.test(last) ? Number(last) : 0;
        // Locating took a while: a drain may have begun meanwhile, and a new stream would hold it up.
        assertReady(deps);
        reply.hijack();
        await streamEvents(reply.raw, source, from, deps.closing, request.log.child({ build: id }));
        return reply;
      }
      const { size } = await source.stat();
      const range = parseRange(request.headers.range, size);
      void reply
        .header('Content-Type', 'text/plain; charset=utf-8')
        .header('Accept-Ranges', 'bytes')
        .header('Cache-Control', 'no-store');
      if (range === null) return reply.code(200).send(await source.read(0, size));
      void reply.header('Content-Range', `bytes ${range.start}-${range.end - 1}/${size}`);
      return reply.code(206).send(await source.read(range.start, range.end));
    },
  );
}

/**
 * One `bytes=a-b`, `bytes=a-` or `bytes=-n` range (RFC 9110 14.1.2). Null: serve it
 * all, as the RFC has a server do for a header it does not understand (another unit,
 * a malformed or backwards range) or will not honour (several ranges).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (m === null) return null;
  const [a, b] = [m[1] ?? '', m[2] ?? ''];
  if (a === '') {
    if (b === '') return null;
    // A suffix of 0 bytes is valid syntax that selects nothing.
    if (Number(b) === 0) throw new WebLogRangeError(header, size);
    return size === 0 ? null : { start: Math.max(0, size - Number(b)), end: size };
  }
  const start = Number(a);
  if (b !== '' && Number(b) < start) return null;
  if (start >= size) throw new WebLogRangeError(header, size);
  return { start, end: b === '' ? size : Math.min(size, Number(b) + 1) };
}

async function locate(deps: WebDeps, id: string): Promise<LogSource> {
  if (!ID.test(id)) throw new WebLogNotFoundError(id, 'not a build id');
  const finished = await deps.history?.getBuild(id).catch(() => null);
  if (finished) {
    const file = localFile(deps.logRoot, finished.logPath);
    if (file !== undefined && (await isFile(file))) return fileSource(file);
  } else {
    const stored = await new ZkDocument(
      deps.zk,
      deps.paths.buildRequest(id),
      buildRequestCodec,
    ).read();
    const req = stored?.value;
    if (req && req.state === 'requested')
      throw new WebLogNotFoundError(id, 'the build has not started yet');
    if (req?.executor) {
      const url = (await executorStreams(deps)).get(req.executor);
      if (url !== undefined) return remoteSource(url, id);
    }
  }
  for (const url of (await executorStreams(deps)).values()) {
    const source = remoteSource(url, id);
    if (
      await source.stat().then(
        () => true,
        () => false,
      )
    )
      return source;
  }
  throw new WebLogNotFoundError(
    id,
    finished
      ? 'its file is not on this host and no executor still serves it'
      : 'no such build, or no executor serves its log any more',
  );
}

/** A finished build's log file, when it lies under the configured log root. */
function localFile(logRoot: string | undefined, logPath: string | null): string | undefined {
  if (logRoot === undefined || logPath === null) return undefined;
  const root = resolve(logRoot);
  const file = resolve(logPath);
  return file.startsWith(root + sep) ? file : undefined;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Executor id → base URL of its live log server. */
async function executorStreams(deps: WebDeps): Promise<Map<string, string>> {
  const all = await listComponents(deps.zk, deps.paths.components('executor'));
  const urls = new Map<string, string>();
  for (const c of all) {
    const url = c.extra['logStream'];
    if (typeof url === 'string' && /^http:\/\//.test(url)) urls.set(c.id, url);
  }
  return urls;
}

function fileSource(path: string): LogSource {
  return {
    stat: async () => ({ size: (await stat(path)).size, ended: true }),
    read: (start, end) =>
      Promise.resolve(
        end <= start ? emptyStream() : createReadStream(path, { start, end: end - 1 }),
      ),
    async *follow(offset, signal) {
      const { size } = await stat(path);
      if (offset >= size) return;
      for await (const chunk of createReadStream(path, { start: offset, end: size - 1, signal }))
        yield chunk as Buffer;
    },
  };
}

function remoteSource(base: string, id: string): LogSource {
  const url = (offset: number, follow: boolean): string =>
    `${base}/builds/${id}/log?offset=${offset}${follow ? '&follow=1' : ''}`;
  const sizeOf = (res: IncomingMessage) => ({
    size: Number(res.headers['x-log-size'] ?? 0),
    ended: res.headers['x-build-ended'] === 'true',
  });
  return {
    async stat() {
      const res = await get(url(0, false), 'HEAD');
      res.resume();
      return sizeOf(res);
    },
    async read(start, end) {
      const res = await get(url(start, false), 'GET');
      return limit(res, end - start);
    },
    async *follow(offset, signal) {
      const res = await get(url(offset, true), 'GET', signal);
      try {
        for await (const chunk of res) yield chunk as Buffer;
      } finally {
        res.destroy();
      }
    },
  };
}

/** A GET or HEAD that resolves with a 200 response, or rejects. */
function get(url: string, method: 'GET' | 'HEAD', signal?: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(url, { method, signal }, (res) => {
      req.setTimeout(0);
      if (res.statusCode === 200) return resolvePromise(res);
      res.resume();
      reject(new Error(`${url}: HTTP ${res.statusCode}`));
    });
    req.setTimeout(HTTP_TIMEOUT_MS, () => req.destroy(new Error(`${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** The first `n` bytes of a response, then it is closed. */
async function* take(res: IncomingMessage, n: number): AsyncGenerator<Buffer> {
  let left = n;
  try {
    for await (const chunk of res) {
      const buf = chunk as Buffer;
      if (left <= 0) break;
      yield buf.length > left ? buf.subarray(0, left) : buf;
      left -= buf.length;
    }
  } finally {
    res.destroy();
  }
}

function limit(res: IncomingMessage, n: number): NodeJS.ReadableStream {
  return Readable.from(take(res, n));
}

function emptyStream(): NodeJS.ReadableStream {
  return Readable.from([]);
}

/** SSE ends a field at CR, LF or CRLF: each must start a new `data:`, or log text could forge fields. */
const LINE_BREAK = /\r\n|\r|\n/;

/**
 * Server-sent events from `from` on: only whole lines are sent (so an event
 * id is always a line boundary), the rest when the log ends, then an `end` event.
 * A failure is the `failure` event: `error` is EventSource's own connection event.
 */
async function streamEvents(
  raw: ServerResponse,
  source: LogSource,
  from: number,
  closing: AbortSignal | undefined,
  log: FastifyBaseLogger,
): Promise<void> {
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  raw.once('close', stop);
  closing?.addEventListener('abort', stop, { once: true });
  // An aborted signal never fires 'abort' again, a closed response never 'close': check
  // both, or the upstream would be followed for nobody and hold a drain up.
  if (raw.destroyed || closing?.aborted) stop();
  try {
    if (abort.signal.aborted) return;
    raw.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    const write = async (text: string): Promise<void> => {
      // A slow client: wait for it rather than buffer the whole log in memory.
      if (!raw.write(text)) await once(raw, 'drain', { signal: abort.signal });
    };
    await write('retry: 2000\n\n');
    let offset = from;
    let pending = Buffer.alloc(0);
    const send = (bytes: Buffer): Promise<void> => {
      offset += bytes.length;
      const lines = bytes
        .toString('utf8')
        .replace(/(\r\n|\r|\n)$/, '')
        .split(LINE_BREAK);
      return write(`id: ${offset}\n${lines.map((l) => `data: ${l}`).join('\n')}\n\n`);
    };
    for await (const chunk of source.follow(from, abort.signal)) {
      pending = Buffer.concat([pending, chunk]);
      const cut = pending.lastIndexOf(0x0a);
      if (cut < 0) continue;
      await send(pending.subarray(0, cut + 1));
      pending = pending.subarray(cut + 1);
    }
    if (!abort.signal.aborted) {
      if (pending.length > 0) await send(pending);
      await write(`event: end\nid: ${offset}\ndata: {"size":${offset}}\n\n`);
    }
  } catch (e) {
    if (!abort.signal.aborted) {
      const message = JSON.stringify({ message: toError(e).message });
      raw.write(`event: failure\ndata: ${message}\n\n`);
    }
  } finally {
    raw.off('close', stop);
    closing?.removeEventListener('abort', stop);
    const why = raw.destroyed ? 'client gone' : closing?.aborted ? 'web closing' : 'log done';
    log.debug({ from, wrote: raw.headersSent, why }, 'live log stream over');
    const socket = raw.socket;
    // Its headers said keep-alive; a draining server must not be held up by the idle connection.
    raw.end(() => closing?.aborted && socket?.end());
  }
}
