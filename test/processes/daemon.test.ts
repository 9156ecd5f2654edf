/**
 * The daemon machinery in this process, on the shared ZooKeeper: signal
 * handling on the real `process` object (and none left behind), the web
 * server's drain and stop, and what web serves when data is odd.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { daemonCommand } from '../../src/cli/daemon-command.js';
import { Daemon } from '../../src/cli/daemon-lifecycle.js';
import { IllegalStateError } from '../../src/errors.js';
import {
  Authenticator,
  WebListenError,
  WebServer,
  WebUnsupportedError,
  buildWebApp,
} from '../../src/web/index.js';
import { ZkPaths } from '../../src/zk/index.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { newChroot, type TestChroot } from '../fixtures/zookeeper.js';
import { freePort, getJson, serve, waitUntil, writeConfig } from './support.js';

// Real processes start slowly on a loaded machine (each compiles the sources).
jest.setTimeout(120_000);

let chroot: TestChroot;
let zk: ZooKeeperClient;
let dir: string;
const paths = new ZkPaths('/drawbridge');
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  chroot = await newChroot('processes-daemon');
  zk = await connectZooKeeper({ connectString: chroot.connectString, sessionTimeoutMs: 4_000 });
  dir = mkdtempSync(join(tmpdir(), 'drawbridge-proc-daemon-'));
});
afterAll(async () => {
  await zk?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('daemonCommand', () => {
  it('drains on the first signal, exits 0 and leaves no listener on process', async () => {
    const before = ['SIGTERM', 'SIGINT'].map((s) => process.listenerCount(s));
    const webPort = await freePort();
    const config = writeConfig(dir, {
      zookeeper: chroot.serverConnectString,
      root: `${chroot.chroot}/drawbridge`,
      logRoot: join(dir, 'logs'),
      webPort,
      logPort: await freePort(),
    });
    let logs = '';
    let stderr = '';
    const code = daemonCommand(
      ['web'],
      { config, grace: '5' },
      {
        env: {},
        io: { stdout: { write: () => true }, stderr: { write: (t: string) => (stderr += t) } },
        signals: process,
        logOut: { write: (t: string) => (logs += t) },
        version: 'test',
      },
    );
    await waitUntil(() => logs.includes('"msg":"daemon running"'), `the daemon to run:\n${logs}`);
    expect(process.listenerCount('SIGTERM')).toBe((before[0] ?? 0) + 1);
    expect((await getJson(`http://127.0.0.1:${webPort}/api/ready`)).status).toBe(200);
    process.emit('SIGTERM');
    expect(await code).toBe(0);
    expect(stderr).toBe('');
    expect(logs).toMatch(/"signal":"SIGTERM".*"msg":"shutdown requested/);
    expect(['SIGTERM', 'SIGINT'].map((s) => process.listenerCount(s))).toEqual(before);
    expect(await zk.children(paths.components('web'))).toEqual([]);
  });

  it('refuses a --grace that is not a number of seconds', async () => {
    await expect(
      daemonCommand(
        ['web'],
        { config: join(dir, 'drawbridge.yaml'), grace: 'soon' },
        {
          env: {},
          io: { stdout: { write: () => true }, stderr: { write: () => true } },
          signals: process,
          logOut: { write: () => true },
          version: 'test',
        },
      ),
    ).rejects.toMatchObject({ code: 'DRAWBRIDGE_ERR_CLI_USAGE' });
  });
});

describe('Daemon', () => {
  it('escalates a drain to a stop when the grace period ends; one promise throughout', async () => {
    const web = new WebServer(
      { host: '127.0.0.1', port: 0, version: 'test' },
      { zk, paths, logger: silent },
    );
    // A request that never ends keeps the drain from finishing on its own.
    let arrived = false;
    web.app.get('/test/forever', () => {
      arrived = true;
      return new Promise(() => undefined);
    });
    const daemon = new Daemon([{ name: 'web', service: web }], { graceMs: 200, logger: silent });
    await daemon.start();
    expect(daemon.state).toBe('running');
    const forever = fetch(`${web.url}/test/forever`).catch((e: unknown) => e);
    await waitUntil(() => arrived, 'the endless request to arrive');
    const draining = daemon.drain();
    expect(daemon.drain()).toBe(draining);
    expect(daemon.state).toBe('draining');
    // The endless request holds the drain; only the grace period can end it.
    await waitUntil(() => daemon.state !== 'draining', 'the grace period to end');
    expect(['stopping', 'stopped']).toContain(daemon.state);
    expect(daemon.stop()).toBe(draining);
    await draining;
    await daemon.stopped;
    expect(daemon.state).toBe('stopped');
    expect(web.state).toBe('stopped');
    expect(daemon.failures).toEqual([]);
    expect(String(await forever)).toMatch(/fetch failed/); // its connection was cut
    expect(() => daemon.start()).toThrow(IllegalStateError);
  });
});

describe('WebServer', () => {
  it('drains: waits for requests in flight, deregisters; drain and stop return one promise', async () => {
    const web = new WebServer(
      { host: '127.0.0.1', port: 0, version: 'test' },
      { zk, paths, logger: silent },
    );
    // A request held open: the drain must wait for it, readiness must say 503 meanwhile.
    let release: (() => void) | undefined;
    web.app.get('/test/hold', () => new Promise((r) => (release = () => r({ ok: true }))));
    try {
      await web.start();
      expect(web.state).toBe('running');
      const held = fetch(`${web.url}/test/hold`);
      await waitUntil(() => release !== undefined, 'the held request to arrive');
      expect(await zk.children(paths.components('web'))).toHaveLength(1);
      const draining = web.drain();
      expect(web.drain()).toBe(draining);
      expect(web.state).toBe('draining');
      release?.();
      expect((await held).status).toBe(200);
      await draining;
      expect(web.stop()).toBe(draining);
      expect(web.state).toBe('stopped');
      expect(await zk.children(paths.components('web'))).toEqual([]);
      expect(() => web.start()).toThrow(IllegalStateError);
    } finally {
      await web.stop();
    }
  });

  it('refuses a JWT key it cannot use rather than serve unprotected', () => {
    const jwt = { issuer: undefined, audience: undefined, hs256Secret: undefined };
    expect(
      () =>
        new Authenticator({
          readProtected: true,
          tokens: [],
          jwt: { ...jwt, rs256PublicKey: '/key.pem' },
          rs256PublicKeyPem: 'not a key',
        }),
    ).toThrow(WebUnsupportedError);
  });

  it('says 503 on readiness as soon as it drains', async () => {
    let shuttingDown = false;
    const app = buildWebApp({ zk, paths, logger: silent, shuttingDown: () => shuttingDown });
    const url = await serve(app);
    expect((await getJson(`${url}/api/ready`)).status).toBe(200);
    shuttingDown = true;
    expect(await getJson(`${url}/api/ready`)).toEqual({
      status: 503,
      body: {
        error: {
          code: 'DRAWBRIDGE_ERR_WEB_UNAVAILABLE',
          message: 'service unavailable: shutting down',
        },
      },
    });
    await app.close();
  });

  it('fails to start with WebListenError when the port is taken, and deregisters', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const addr = blocker.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const web = new WebServer(
      { host: '127.0.0.1', port, version: 'test' },
      { zk, paths, logger: silent },
    );
    await expect(web.start()).rejects.toBeInstanceOf(WebListenError);
    expect(web.state).toBe('stopped');
    await new Promise((r) => blocker.close(r));
  });
});

describe('web API on odd data', () => {
  let url: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const app = buildWebApp({ zk, paths, logger: silent });
    url = await serve(app);
    close = () => app.close();
  });
  afterAll(async () => close());

  it('serves a damaged summary as unreadable, next to the good ones', async () => {
    await zk.mkdirp(paths.pipeline('broken'));
    await zk.create(paths.pipelineStatus('broken'), Buffer.from('{not json'));
    await zk.mkdirp(paths.pipeline('periodic')); // no summary yet: left out
    const r = await getJson(`${url}/api/status`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      pipelines: [{ pipeline: 'broken', unreadable: expect.stringMatching(/JSON/) }],
    });
  });

  it('answers a bad query with a 400 JSON error body', async () => {
    const r = await getJson(`${url}/api/components?kind=robot`);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      error: { code: 'DRAWBRIDGE_ERR_WEB_BAD_REQUEST', message: expect.stringContaining('kind') },
    });
  });
});
