/**
 * Web is stateless: two servers on two ports, each with its own ZooKeeper
 * session on the same tree, give the same answers. And shutdown: once a
 * drain starts readiness never says 200 again, open streams are ended
 * cleanly, and the server leaves the component registry.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import { buildset, dispatchAll, job, running } from '../../src/scheduler/test-fixtures.js';
import { writeStatus } from '../../src/scheduler/runtime/status-writer.js';
import { WebServer } from '../../src/web/index.js';
import { listComponents } from '../../src/zk/index.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { waitUntil } from '../fixtures/wait.js';
import { call, newWorld, publishExampleLayout, type World } from './support.js';

let world: World;
const sessions: ZooKeeperClient[] = [];
const servers: WebServer[] = [];

async function startServer(before?: (s: WebServer) => void): Promise<WebServer> {
  const zk = await connectZooKeeper({
    connectString: world.connectString,
    sessionTimeoutMs: 10_000,
  });
  sessions.push(zk);
  const server = new WebServer(
    { host: '127.0.0.1', port: 0, version: 'test' },
    { zk, paths: world.paths, logger: world.logger },
  );
  servers.push(server);
  before?.(server);
  await server.start();
  return server;
}

beforeAll(async () => {
  world = await newWorld('web-cluster');
  await publishExampleLayout(world);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await Promise.all(sessions.map((s) => s.close()));
  await world?.close();
});

describe('two web processes', () => {
  it('give identical /api/status answers (and the same layout answers)', async () => {
    const [a, b] = [await startServer(), await startServer()];
    const jobs = [job('base'), job('web', ['base']), job('dns', ['base', '~web'])];
    const first = dispatchAll(running(buildset(jobs, { id: 'bs-a' })));
    const second = buildset(jobs, { id: 'bs-b', commit: 'd'.repeat(40) });
    await writeStatus(world.zk, world.paths, {
      state: { pipeline: 'deploy', queue: [first.id, second.id] },
      manager: 'serial',
      buildsets: new Map([
        [first.id, first],
        [second.id, second],
      ]),
      now: 10_000,
    });
    await writeStatus(world.zk, world.paths, {
      state: { pipeline: 'hourly', queue: [] },
      manager: 'supercedent',
      buildsets: new Map(),
      now: 10_000,
    });
    const fromA = await call(`${a.url}/api/status`);
    const fromB = await call(`${b.url}/api/status`);
    expect(fromA.status).toBe(200);
    const pipelines = (fromA.body as { pipelines: { pipeline: string; buildsets: unknown[] }[] })
      .pipelines;
    expect(pipelines.map((p) => [p.pipeline, p.buildsets.length])).toEqual([
      ['deploy', 2],
      ['hourly', 0],
    ]);
    expect(fromB.text).toBe(fromA.text);
    for (const path of ['/api/pipelines', '/api/jobs', '/api/plan?pipeline=deploy&files=a,b'])
      expect((await call(`${b.url}${path}`)).text).toBe((await call(`${a.url}${path}`)).text);
  });
});

describe('shutdown', () => {
  it('ends open streams cleanly and deregisters', async () => {
    // A stand-in for the live log stream: open until the server closes.
    const server = await startServer((s) =>
      s.app.get('/test/stream', { config: { access: 'public' } }, (_request, reply) => {
        reply.hijack();
        reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
        reply.raw.write('event: hello\ndata: 1\n\n');
        s.closing.addEventListener('abort', () => reply.raw.end('event: end\ndata: bye\n\n'));
      }),
    );
    const url = server.url as string;
    expect((await call(`${url}/api/ready`)).status).toBe(200);
    const stream = await fetch(`${url}/test/stream`);
    const reader = (stream.body as ReadableStream<Uint8Array> | null)?.getReader();
    if (reader === undefined) throw new Error('no stream body');
    const chunk = async (): Promise<Uint8Array | undefined> => (await reader.read()).value;
    const firstChunk = new TextDecoder().decode(await chunk());
    expect(firstChunk).toContain('event: hello');

    const drained = server.drain();
    let rest = '';
    for (let c = await chunk(); c !== undefined; c = await chunk())
      rest += new TextDecoder().decode(c);
    expect(rest).toContain('event: end');
    await drained;
    expect(server.state).toBe('stopped');
    await waitUntil(
      async () =>
        (await listComponents(world.zk, world.paths.components('web'))).every(
          (c) => (c.extra as { url?: string }).url !== url,
        ),
      'the drained web server to leave the registry',
    );
  });

  it('answers readiness with 503 on a connection still open while it drains', async () => {
    // A response held open keeps its connection active, so closing the server cannot drop it.
    let release = (): void => undefined;
    const held = new Promise<void>((r) => (release = r));
    const server = await startServer((s) =>
      s.app.get('/test/hold', { config: { access: 'public' } }, (_request, reply) => {
        reply.hijack();
        reply.raw.writeHead(200, { 'content-type': 'text/plain' });
        reply.raw.write('held\n');
        void held.then(() => reply.raw.end());
      }),
    );
    const socket = connect(Number(new URL(server.url as string).port), '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    try {
      socket.write('GET /test/hold HTTP/1.1\r\nHost: test\r\n\r\n');
      await waitUntil(() => received.includes('held'), 'the held response to start');
      const drained = server.drain();
      await waitUntil(() => !server.app.server.listening, 'the server to stop listening');
      // Pipelined behind the held response: answered once that one ends.
      socket.write('GET /api/ready HTTP/1.1\r\nHost: test\r\n\r\n');
      release();
      await waitUntil(() => /^HTTP\/1\.1 503/m.test(received), 'readiness to answer', 5_000);
      const answers = received.match(/^HTTP\/1\.1 \d{3}/gm);
      expect(answers).toEqual(['HTTP/1.1 200', 'HTTP/1.1 503']);
      expect(received).toContain('"code":"DRAWBRIDGE_ERR_WEB_UNAVAILABLE"');
      expect(received).toMatch(/connection: close/i);
      await drained;
      expect(server.state).toBe('stopped');
    } finally {
      release();
      socket.destroy();
    }
  });
});
