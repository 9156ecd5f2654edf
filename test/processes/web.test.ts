/**
 * `drawbridge web` as a real process on its own ZooKeeper, which the test
 * stops and starts again: liveness stays 200 throughout, readiness follows
 * the ZooKeeper connection, and every answer is JSON, errors included.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZkPaths } from '../../src/zk/index.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { startZooKeeper, type ZkServer } from '../fixtures/zookeeper.js';
import {
  type Daemon,
  drawbridge,
  freePort,
  getJson,
  reap,
  waitForLog,
  waitUntil,
  writeConfig,
} from './support.js';

// Real processes start slowly on a loaded machine (each compiles the sources).
jest.setTimeout(120_000);

let server: ZkServer;
let zk: ZooKeeperClient;
let dir: string;
let daemon: Daemon | undefined;
let base: string;
const paths = new ZkPaths('/drawbridge');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drawbridge-proc-web-'));
  server = await startZooKeeper();
  zk = await connectZooKeeper({ connectString: server.connectString, sessionTimeoutMs: 4_000 });
  const webPort = await freePort();
  base = `http://127.0.0.1:${webPort}`;
  const config = writeConfig(dir, {
    zookeeper: server.connectString,
    root: paths.root,
    logRoot: join(dir, 'logs'),
    webPort,
    logPort: await freePort(),
  });
  daemon = drawbridge(['web', '--config', config]);
  await waitForLog(daemon, /"msg":"daemon running"/, 'the web server to run');
});
afterAll(async () => {
  await reap(daemon);
  await zk?.close();
  await server?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('drawbridge web', () => {
  it('answers liveness and readiness', async () => {
    expect(await getJson(`${base}/api/health`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await getJson(`${base}/api/ready`)).toEqual({
      status: 200,
      body: { status: 'ready', zookeeper: 'connected' },
    });
  });

  it('lists itself among the components', async () => {
    const r = await getJson(`${base}/api/components`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      components: [
        expect.objectContaining({
          kind: 'web',
          state: 'running',
          pid: daemon?.child.pid,
          extra: { url: base },
        }),
      ],
    });
  });

  it('serves each pipeline status as the scheduler wrote it, an empty list when none', async () => {
    expect(await getJson(`${base}/api/status`)).toEqual({ status: 200, body: { pipelines: [] } });
    const summary = { pipeline: 'deploy', manager: 'serial', generatedAt: 1, buildsets: [] };
    await zk.mkdirp(paths.pipeline('deploy'));
    await zk.create(paths.pipelineStatus('deploy'), Buffer.from(JSON.stringify(summary)));
    expect(await getJson(`${base}/api/status`)).toEqual({
      status: 200,
      body: { pipelines: [summary] },
    });
  });

  it('answers an unknown route with a 404 JSON error body', async () => {
    expect(await getJson(`${base}/api/nope`)).toEqual({
      status: 404,
      body: {
        error: { code: 'DRAWBRIDGE_ERR_WEB_NOT_FOUND', message: 'no route for GET /api/nope' },
      },
    });
  });

  it('is not ready while ZooKeeper is away, and ready again once it is back', async () => {
    await server.stop();
    let ready = await getJson(`${base}/api/ready`);
    await waitUntil(
      async () => (ready = await getJson(`${base}/api/ready`)).status === 503,
      'readiness to turn 503',
    );
    expect(ready.body).toEqual({
      error: {
        code: 'DRAWBRIDGE_ERR_WEB_UNAVAILABLE',
        message: expect.stringMatching(/ZooKeeper/),
      },
    });
    expect((await getJson(`${base}/api/health`)).status).toBe(200);
    expect((await getJson(`${base}/api/status`)).status).toBe(503);
    await server.start();
    await waitUntil(
      async () => (await getJson(`${base}/api/ready`)).status === 200,
      'readiness to come back',
    );
  });

  it('exits 0 on SIGTERM and leaves the registry', async () => {
    const d = daemon!;
    d.signal('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(d.stdout()).toMatch(/"msg":"web stopped"/);
    expect(await zk.children(paths.components('web'))).toEqual([]);
  });
});
