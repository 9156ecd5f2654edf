/**
 * `drawbridge api ...` against a real web app: tables by default, JSON with
 * --json, the token from the environment or a file, and the server's error
 * code in the message when the API refuses. Build logs come from a real file
 * under the app's log root and from a real executor live log server; rolling
 * restarts from a stand-in admin port (see `restartActions`).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ApiClient, CliApiError, SseParser } from '../../src/cli/api-client.js';
import {
  apiBuildsetCommand,
  apiComponentsCommand,
  apiEnqueueCommand,
  apiLogsCommand,
  apiPlanCommand,
  apiRollingRestartCommand,
  apiStatusCommand,
  FOLLOW_RETRY_DELAYS_MS,
} from '../../src/cli/api-commands.js';
import { EXIT } from '../../src/cli/io.js';
import { BuildLog } from '../../src/executor/build-log.js';
import { LogServer } from '../../src/executor/log-server.js';
import { createHistoryStore, historyEntryOf, type HistoryStore } from '../../src/history/index.js';
import { buildRequestCodec, managementEventCodec } from '../../src/model/index.js';
import {
  OpsBusyError,
  OpsLastComponentError,
  type RestartStepState,
  type RollingRestartRecord,
  type RollingRestartState,
} from '../../src/ops/index.js';
import { Authenticator, zkAdminActions, type AdminActions } from '../../src/web/index.js';
import { ComponentRegistration, ZkDocument, ZkEventQueue } from '../../src/zk/index.js';
import { waitUntil } from '../fixtures/wait.js';
import { startTcpProxy } from '../fixtures/tcp-proxy.js';
import { finishedBuildset } from '../history/support.js';
import {
  makeToken,
  newWorld,
  publishExampleLayout,
  serveApp,
  type Served,
  type World,
} from './support.js';

const SHA = 'e'.repeat(40);
const operator = makeToken('cli', 'operator');
const reader = makeToken('viewer', 'read');
const admin = makeToken('ops', 'admin');

let world: World;
let web: Served;
let dir: string;
let store: HistoryStore;

/**
 * The admin port's rolling restart, played by the test: the real driver needs
 * real schedulers, and test/web/admin-daemon.test.ts covers it end to end.
 */
const restart = {
  /** Thrown by the next POST: the server turns it into its 409. */
  refusal: undefined as Error | undefined,
  record: undefined as (RollingRestartRecord & { driverAlive?: boolean }) | undefined,
  polls: 0,
};
function restartActions(w: World): AdminActions {
  // As src/cli/daemon-admin.ts shows a record: the whole record is the detail.
  const operation = (r: RollingRestartRecord) => ({
    id: r.id,
    kind: 'rolling-restart',
    state: r.state,
    detail: { ...r },
  });
  return {
    ...zkAdminActions(w.zk, w.paths),
    rollingRestart: () => {
      if (restart.refusal) return Promise.reject(restart.refusal);
      return Promise.resolve(operation(restart.record!));
    },
    operation: (id) => {
      restart.polls += 1;
      const r = restart.record;
      return Promise.resolve(r?.id === id ? operation(r) : undefined);
    },
  };
}

function buffers() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
    },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drawbridge-cli-client-'));
  world = await newWorld('web-cli');
  await publishExampleLayout(world);
  store = createHistoryStore({ kind: 'sqlite', path: join(dir, 'history.sqlite') }, world.logger);
  web = await serveApp(world, {
    auth: new Authenticator({
      readProtected: true,
      tokens: [operator.entry, reader.entry, admin.entry],
      jwt: undefined,
    }),
    defaultBranch: 'master',
    history: store,
    logRoot: join(dir, 'logs'),
    admin: restartActions(world),
  });
});
afterAll(async () => {
  await web?.close();
  await store?.close();
  await world?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('drawbridge api', () => {
  it('status and components print tables with a token from the environment', async () => {
    const env = { DRAWBRIDGE_URL: web.url, DRAWBRIDGE_TOKEN: reader.token };
    const s = buffers();
    expect(await apiStatusCommand({}, env, s.io)).toBe(EXIT.ok);
    expect(s.out()).toBe('no pipeline has run yet\n');
    const c = buffers();
    expect(await apiComponentsCommand({ kind: 'web' }, env, c.io)).toBe(EXIT.ok);
    expect(c.out()).toBe('no component is registered\n');
    const j = buffers();
    expect(await apiComponentsCommand({ json: true }, env, j.io)).toBe(EXIT.ok);
    expect(JSON.parse(j.out())).toEqual({ components: [] });
  });

  it('enqueue and dequeue act with a token from --token-file, and say what they did', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, `${operator.token}\n`);
    const e = buffers();
    const opts = { url: web.url, tokenFile: file };
    expect(await apiEnqueueCommand({ ...opts, pipeline: 'deploy', commit: SHA }, {}, e.io)).toBe(
      EXIT.ok,
    );
    expect(e.out()).toMatch(/^enqueued deploy at eeeeeeeeeeee: event rest-/);
    const queue = new ZkEventQueue(
      world.zk,
      world.paths.pipelineManagementEvents('deploy'),
      managementEventCodec,
    );
    expect((await queue.read()).map((x) => x.value)).toEqual([
      expect.objectContaining({ type: 'enqueue', commit: SHA, requestedBy: 'rest (token cli)' }),
    ]);
    // No such buildset: the server's 404 and its code reach the user.
    await expect(
      apiBuildsetCommand(
        'dequeue',
        { ...opts, pipeline: 'deploy', buildset: 'bs-x' },
        {},
        buffers().io,
      ),
    ).rejects.toThrow(/404 no buildset "deploy\/bs-x" \[DRAWBRIDGE_ERR_WEB_UNKNOWN\]/);
  });

  it('plan renders the server plan like the local command', async () => {
    const env = { DRAWBRIDGE_URL: web.url, DRAWBRIDGE_TOKEN: reader.token };
    const p = buffers();
    expect(await apiPlanCommand({ pipeline: 'deploy', files: 'README.md' }, env, p.io)).toBe(
      EXIT.ok,
    );
    expect(p.out()).toMatch(
      /^pipeline deploy: 1 changed file\(s\)\n {2}README.md\n\nselected \d+ of \d+ jobs:/,
    );
  });

  it('a refusal is a CliApiError naming the status and code, never the token', async () => {
    const err = await apiEnqueueCommand(
      { url: web.url, pipeline: 'deploy', commit: SHA },
      { DRAWBRIDGE_TOKEN: reader.token },
      buffers().io,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliApiError);
    expect((err as CliApiError).message).toContain('403');
    expect((err as CliApiError).serverCode).toBe('DRAWBRIDGE_ERR_WEB_FORBIDDEN');
    expect((err as CliApiError).message).not.toContain(reader.token);
    const unreachable = await apiStatusCommand(
      { url: 'http://127.0.0.1:1' },
      {},
      buffers().io,
    ).catch((e: unknown) => e);
    expect((unreachable as CliApiError).message).toMatch(/unreachable/);
  });

  it('gives up on a server that never answers, after DRAWBRIDGE_API_TIMEOUT seconds', async () => {
    // Accepts the connection and then says nothing, like a hung process behind a firewall.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    silent.listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const err = await apiStatusCommand(
        { url: `http://127.0.0.1:${port}` },
        { DRAWBRIDGE_API_TIMEOUT: '0.3' },
        buffers().io,
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CliApiError);
      expect((err as CliApiError).message).toMatch(/no answer within 0\.3 s/);
      await expect(ApiClient.from({}, { DRAWBRIDGE_API_TIMEOUT: 'soon' })).rejects.toMatchObject({
        code: 'DRAWBRIDGE_ERR_CLI_USAGE',
      });
      expect((await ApiClient.from({}, {})).timeoutMs).toBe(30_000);
      expect(
        (await ApiClient.from({ timeoutMs: 5 }, { DRAWBRIDGE_API_TIMEOUT: '9' })).timeoutMs,
      ).toBe(5);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('warns on stderr when the token would cross the network over plain http', async () => {
    const env = { DRAWBRIDGE_TOKEN: reader.token };
    const warned = async (url: string, e: Record<string, string> = env) => {
      const lines: string[] = [];
      await ApiClient.from({ url }, e, (l) => lines.push(l));
      return lines.join('');
    };
    const remote = await warned('http://deploy.example.org:9000');
    expect(remote).toMatch(
      /warning: the API token goes to deploy\.example\.org over plain http:\/\//,
    );
    expect(remote).not.toContain(reader.token);
    expect(await warned('http://10.0.0.5:9000')).toContain('10.0.0.5');
    for (const url of [
      'https://deploy.example.org',
      'http://127.0.0.1:9000',
      'http://localhost:9000',
      'http://[::1]:9000',
    ])
      expect({ url, warning: await warned(url) }).toEqual({ url, warning: '' });
    expect(await warned('http://deploy.example.org:9000', {})).toBe('');
    // Through a command, the warning reaches its stderr.
    const b = buffers();
    await apiStatusCommand(
      { url: 'http://192.0.2.1:9' },
      { ...env, DRAWBRIDGE_API_TIMEOUT: '0.2' },
      b.io,
    ).catch(() => undefined);
    expect(b.err()).toContain('warning: the API token goes to 192.0.2.1');
  });
});

describe('drawbridge api logs', () => {
  const env = () => ({ DRAWBRIDGE_URL: web.url, DRAWBRIDGE_TOKEN: reader.token });
  const LOG = Array.from({ length: 40 }, (_, i) => `line ${i} ✓`).join('\n') + '\n';
  const FINISHED = 'manual-00000000000000d0-j-base';
  let executor: LogServer;
  let registration: ComponentRegistration;

  beforeAll(async () => {
    // A finished build: its history row, and its file under the app's log root.
    const bs = finishedBuildset({ id: 'manual-00000000000000d0', endedAt: Date.now() });
    const entry = historyEntryOf(bs);
    const logRoot = join(dir, 'logs');
    const builds = entry.builds.map((b) =>
      b.logPath === null ? b : { ...b, logPath: join(logRoot, bs.id, `${b.job}-${b.attempt}.log`) },
    );
    await store.put({ ...entry, builds });
    mkdirSync(join(logRoot, bs.id), { recursive: true });
    writeFileSync(join(logRoot, bs.id, 'base-1.log'), LOG);
    // Running builds: an executor's live log server, registered as executors register it.
    executor = new LogServer(pino({ level: 'silent' }), 10);
    const base = await executor.listen('127.0.0.1', 0);
    registration = await ComponentRegistration.register(
      world.zk,
      world.paths.components('executor'),
      { kind: 'executor', hostname: 'test', pid: process.pid, version: 'test', state: 'running' },
    );
    await registration.update('running', { slots: 4, slotsInUse: 3, logStream: base });
  });
  afterAll(async () => {
    await executor?.close();
    await registration?.unregister();
  });

  /** A build running on that executor: its request in ZooKeeper, its log on the server. */
  async function running(n: number, log: Promise<BuildLog>): Promise<string> {
    const buildsetId = `manual-00000000000000e${n}`;
    const id = `${buildsetId}-j-deploy`;
    executor.add(id, log);
    await new ZkDocument(world.zk, world.paths.buildRequest(id), buildRequestCodec).create({
      id,
      kind: 'job',
      pipeline: 'deploy',
      buildsetId,
      job: 'deploy',
      attempt: 1,
      ref: 'refs/heads/main',
      commit: 'b'.repeat(40),
      playbook: 'playbooks/deploy.yml',
      vars: {},
      timeoutMs: null,
      precedence: 'normal',
      createdAt: Date.now(),
      state: 'running',
      cancelRequested: false,
      executor: registration.id,
      startedAt: Date.now(),
      outcome: null,
    });
    return id;
  }

  it("prints a finished build's log, and the server's 404 for a build without one", async () => {
    const b = buffers();
    expect(await apiLogsCommand({ build: FINISHED }, env(), b.io)).toBe(EXIT.ok);
    expect(b.out()).toBe(LOG);
    await expect(apiLogsCommand({ build: 'no-such-build' }, env(), buffers().io)).rejects.toThrow(
      /404 no log for build "no-such-build".*\[DRAWBRIDGE_ERR_WEB_LOG_NOT_FOUND\]/,
    );
    // Follow a finished log: every line, then the end event ends the command.
    const f = buffers();
    expect(await apiLogsCommand({ build: FINISHED, follow: true }, env(), f.io)).toBe(EXIT.ok);
    expect([f.out(), f.err()]).toEqual([LOG, '']);
  });

  it('-f prints lines as the build writes them and exits 0 when the build ends', async () => {
    const log = await BuildLog.open(join(dir, 'running', 'e1.log'));
    const id = await running(1, Promise.resolve(log));
    log.line('first');
    const b = buffers();
    const following = apiLogsCommand({ build: id, follow: true }, env(), b.io);
    await waitUntil(() => b.out() === 'first\n', 'the line written before following');
    log.line('second, while following');
    await waitUntil(
      () => b.out() === 'first\nsecond, while following\n',
      'the line written while following',
    );
    log.line('last');
    await log.end();
    expect(await following).toBe(EXIT.ok);
    expect([b.out(), b.err()]).toEqual(['first\nsecond, while following\nlast\n', '']);
  });

  it('-f resumes from Last-Event-ID after a dropped connection, and gives up when the server stays away', async () => {
    const log = await BuildLog.open(join(dir, 'running', 'e2.log'));
    const id = await running(2, Promise.resolve(log));
    const proxy = await startTcpProxy(Number(new URL(web.url).port));
    try {
      log.line('one');
      log.line('two');
      const b = buffers();
      const url = `http://127.0.0.1:${proxy.port}`;
      const following = apiLogsCommand({ build: id, follow: true, url }, env(), b.io).catch(
        (e: unknown) => e,
      );
      await waitUntil(() => b.out() === 'one\ntwo\n', 'the first two lines');
      // The server drops the connection; the client must come back for what follows only.
      web.app.server.closeAllConnections();
      log.line('three');
      await waitUntil(() => b.out() === 'one\ntwo\nthree\n', 'the line after the reconnection');
      expect(proxy.accepted).toBe(2);
      const afterTwo = Buffer.byteLength('one\ntwo\n');
      expect(b.err()).toMatch(
        new RegExp(`broke off .*; resuming from byte ${afterTwo} in 250 ms\n$`),
      );
      // Now nothing listens any more: a few retries, then a clear error.
      await proxy.close();
      const err = await following;
      expect(err).toBeInstanceOf(CliApiError);
      expect((err as CliApiError).message).toMatch(
        new RegExp(
          `the log stream broke off and ${FOLLOW_RETRY_DELAYS_MS.length} attempts to resume it failed; the last: unreachable`,
        ),
      );
      expect(b.err().match(/resuming from byte/g)).toHaveLength(1 + FOLLOW_RETRY_DELAYS_MS.length);
      expect(b.out()).toBe('one\ntwo\nthree\n');
    } finally {
      await proxy.close();
      await log.end();
    }
  });

  it("-f exits 1 with the server's message on a failure event", async () => {
    // The executor could not open the build's log: web's upstream answers 404.
    const id = await running(3, Promise.reject(new Error('cannot open the log file')));
    const b = buffers();
    expect(await apiLogsCommand({ build: id, follow: true }, env(), b.io)).toBe(EXIT.invalid);
    expect(b.out()).toBe('');
    expect(b.err()).toMatch(
      new RegExp(`^drawbridge: the log of ${id} cannot be followed: http://\\S+: HTTP 404\n$`),
    );
  });

  it('parses events as EventSource does, across chunks cut anywhere', () => {
    const stream =
      '\uFEFFretry: 2000\n\n: a comment\nid: 7\ndata: a\r\ndata:b\r\rid: 9\nevent: end\ndata\n\n' +
      'id: 10\nevent: failure\ndata: cut off';
    const bytes = new TextEncoder().encode(stream);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const parser = new SseParser('3');
      const events = [...parser.push(bytes.slice(0, cut)), ...parser.push(bytes.slice(cut))];
      expect({ cut, events, last: parser.lastEventId }).toEqual({
        cut,
        events: [
          { type: 'message', data: 'a\nb', lastEventId: '7' },
          { type: 'end', data: '', lastEventId: '9' },
        ],
        last: '9',
      });
    }
  });
});

describe('drawbridge api rolling-restart', () => {
  const env = () => ({ DRAWBRIDGE_URL: web.url, DRAWBRIDGE_TOKEN: admin.token });
  const record = (
    id: string,
    state: RollingRestartState,
    message: string,
    steps: RestartStepState[],
    error: RollingRestartRecord['error'] = null,
  ): RollingRestartRecord => ({
    id,
    kind: 'scheduler',
    state,
    requestedBy: 'rest (token ops)',
    startedAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    endedAt: state === 'running' ? null : new Date().toISOString(),
    timeoutMs: 300_000,
    steps: steps.map((s, i) => ({
      component: `scheduler-${i}`,
      hostname: 'test',
      pid: 100 + i,
      state: s,
      replacement: null,
      startedAt: null,
      endedAt: null,
    })),
    message,
    error,
  });

  it('follows the restart, printing each change once, until it succeeds', async () => {
    restart.refusal = undefined;
    restart.record = record('rr-1', 'running', 'draining scheduler-0', ['draining', 'pending']);
    restart.polls = 0;
    const b = buffers();
    const following = apiRollingRestartCommand({}, env(), b.io);
    await waitUntil(() => restart.polls >= 2, 'two looks at an unchanged restart');
    restart.record = record('rr-1', 'running', 'draining scheduler-1', ['done', 'draining']);
    await waitUntil(() => b.err().includes('[1/2]'), 'the second step');
    restart.record = record('rr-1', 'succeeded', 'restarted 2 schedulers', ['done', 'done']);
    expect(await following).toBe(EXIT.ok);
    expect(b.out()).toBe(
      'rolling restart rr-1: 2 schedulers, one at a time\n' +
        'rolling restart rr-1 succeeded: restarted 2 schedulers\n',
    );
    expect(b.err()).toBe(
      '  [0/2] draining scheduler-0\n  [1/2] draining scheduler-1\n  [2/2] restarted 2 schedulers\n',
    );
  });

  it('exits 1 with the error when the restart fails or its driver is gone; --json prints the record', async () => {
    restart.record = record('rr-2', 'running', 'draining scheduler-0', ['draining', 'pending']);
    const b = buffers();
    const following = apiRollingRestartCommand({ json: true }, env(), b.io);
    await waitUntil(() => b.err().includes('[0/2]'), 'the first step');
    restart.record = record(
      'rr-2',
      'failed',
      'stopped: scheduler-0 did not drain',
      ['failed', 'pending'],
      { code: 'DRAWBRIDGE_ERR_OPS_TIMEOUT', message: 'scheduler-0: did not drain within 300 s' },
    );
    expect(await following).toBe(EXIT.invalid);
    expect(JSON.parse(b.out())).toMatchObject({ id: 'rr-2', state: 'failed' });
    expect(b.err()).toMatch(
      /\ndrawbridge: rolling restart rr-2 failed: scheduler-0: did not drain within 300 s \(DRAWBRIDGE_ERR_OPS_TIMEOUT\)\n$/,
    );
    restart.record = {
      ...record('rr-3', 'running', 'draining scheduler-0', ['draining', 'pending']),
      driverAlive: false,
    };
    const gone = buffers();
    expect(await apiRollingRestartCommand({}, env(), gone.io)).toBe(EXIT.invalid);
    expect(gone.err()).toMatch(/rolling restart rr-3 stopped moving: the web process .* is gone/);
  });

  it("exits 1 with the server's message when it refuses with 409; a lower role is refused", async () => {
    for (const refusal of [
      new OpsBusyError('rr-1'),
      new OpsLastComponentError('scheduler', 'scheduler-0', 'no other scheduler runs'),
    ]) {
      restart.refusal = refusal;
      const b = buffers();
      expect(await apiRollingRestartCommand({}, env(), b.io)).toBe(EXIT.invalid);
      expect([b.out(), b.err()]).toEqual([
        '',
        `drawbridge: ${refusal.message} (${refusal.code})\n`,
      ]);
    }
    restart.refusal = undefined;
    await expect(
      apiRollingRestartCommand({}, { ...env(), DRAWBRIDGE_TOKEN: operator.token }, buffers().io),
    ).rejects.toMatchObject({ status: 403, serverCode: 'DRAWBRIDGE_ERR_WEB_FORBIDDEN' });
  });

  it('gives up after --timeout with a "still waiting" line every 5 s meanwhile', async () => {
    await expect(
      apiRollingRestartCommand({ timeout: 'soon' }, env(), buffers().io),
    ).rejects.toMatchObject({ code: 'DRAWBRIDGE_ERR_CLI_USAGE' });
    restart.record = record('rr-4', 'running', 'replacing scheduler-0', ['replacing', 'pending']);
    restart.polls = 0;
    const b = buffers();
    const started = Date.now();
    expect(await apiRollingRestartCommand({ timeout: '6' }, env(), b.io)).toBe(EXIT.invalid);
    expect(Date.now() - started).toBeGreaterThanOrEqual(6_000);
    expect(restart.polls).toBeGreaterThanOrEqual(5);
    expect(b.err().match(/ {2}still waiting \(\d+ s\): replacing scheduler-0\n/g)).toHaveLength(1);
    expect(b.err()).toMatch(
      /\ndrawbridge: rolling restart rr-4 is still running after 6 s; stopped waiting \(it goes on: GET \/api\/admin\/operations\/rr-4\)\n$/,
    );
  });
});
