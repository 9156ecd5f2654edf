/**
 * A web app against the shared ZooKeeper: its own chroot, the example
 * layout published as the schedulers would, and a listener on a loopback
 * port chosen at run time (fetch, not app.inject: see test/processes/support.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { LayoutStore, toStoredLayout } from '../../src/model/layout-store.js';
import { buildWebApp, type WebApp, type WebDeps } from '../../src/web/index.js';
import { ZkPaths } from '../../src/zk/index.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { newChroot } from '../fixtures/zookeeper.js';

const EXAMPLE = new URL('../../config/example/zuul.d/', import.meta.url).pathname;

export interface World {
  readonly zk: ZooKeeperClient;
  readonly paths: ZkPaths;
  readonly connectString: string;
  /** Every log line any app of this world wrote, for the "no secret in logs" checks. */
  readonly logLines: string[];
  readonly logger: Logger;
  close(): Promise<void>;
}

export async function newWorld(name: string): Promise<World> {
  const chroot = await newChroot(name);
  const zk = await connectZooKeeper({
    connectString: chroot.connectString,
    sessionTimeoutMs: 10_000,
  });
  const paths = new ZkPaths('/drawbridge');
  for (const dir of paths.directories()) await zk.mkdirp(dir);
  const logLines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logLines.push(line) });
  return {
    zk,
    paths,
    connectString: chroot.connectString,
    logLines,
    logger,
    close: () => zk.close(),
  };
}

/** Stores the example layout and makes it current, as a starting scheduler does. */
export async function publishExampleLayout(world: World): Promise<string> {
  const sources = readdirSync(EXAMPLE)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => ({ file: `zuul.d/${f}`, text: readFileSync(join(EXAMPLE, f), 'utf8') }));
  const hash = createHash('sha256');
  for (const s of sources) hash.update(s.file).update(s.text);
  const version = `files-${hash.digest('hex').slice(0, 16)}`;
  await new LayoutStore(world.zk, world.paths).publish(
    toStoredLayout({
      version,
      commit: null,
      sources,
      loadOptions: {},
      storedBy: 'web test',
      now: Date.now(),
    }),
  );
  return version;
}

export interface Served {
  readonly app: WebApp;
  readonly url: string;
  close(): Promise<void>;
}

export async function serveApp(world: World, extra: Partial<WebDeps> = {}): Promise<Served> {
  const app = buildWebApp({ zk: world.zk, paths: world.paths, logger: world.logger, ...extra });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, close: () => app.close() };
}

export interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly text: string;
  readonly headers: Headers;
}

/** One request; the body is parsed when it is JSON. */
export async function call(
  url: string,
  init: RequestInit & { json?: unknown; token?: string } = {},
): Promise<Reply> {
  const headers = new Headers(init.headers);
  if (init.token !== undefined) headers.set('authorization', `Bearer ${init.token}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  const res = await fetch(url, { ...init, headers, body });
  const text = await res.text();
  let parsed: unknown = undefined;
  if ((res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/** A random token and its config entry, as an operator would make them. */
export function makeToken(name: string, role: 'read' | 'operator' | 'admin') {
  const token = randomBytes(32).toString('hex');
  const hash = `sha256:${createHash('sha256').update(token).digest('hex')}`;
  return { token, entry: { name, hash, role } };
}
