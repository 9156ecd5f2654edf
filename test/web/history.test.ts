/**
 * The history routes and build logs over HTTP: /api/buildsets, /api/builds
 * and by id from a real SQLite history; /api/builds/:id/log from a finished
 * build's file under the log root (with Range), and from a running build on
 * an executor's real live log server (its URL in the component registry),
 * followed as server-sent events that resume from Last-Event-ID.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { BuildLog } from '../../src/executor/build-log.js';
import { LogServer } from '../../src/executor/log-server.js';
import { createHistoryStore, historyEntryOf, type HistoryStore } from '../../src/history/index.js';
import { buildRequestCodec, type BuildRequest } from '../../src/model/index.js';
import { WebServer } from '../../src/web/index.js';
import { parseRange } from '../../src/web/routes-logs.js';
import { ComponentRegistration, ZkDocument } from '../../src/zk/index.js';
import { waitUntil } from '../fixtures/wait.js';
import { finishedBuildset } from '../history/support.js';
import { newWorld, serveApp, type Served, type World } from './support.js';

const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);
const dir = mkdtempSync(join(tmpdir(), 'drawbridge-web-history-'));
const logRoot = join(dir, 'logs');
const LOG = Array.from({ length: 50 }, (_, i) => `line ${i} ✓`).join('\n') + '\n';

let world: World;
let store: HistoryStore;
let web: Served;
let bare: Served;

beforeAll(async () => {
  world = await newWorld('web-history');
  store = createHistoryStore({ kind: 'sqlite', path: join(dir, 'history.sqlite') }, world.logger);
  for (let i = 0; i < 6; i++) {
    const bs = finishedBuildset({
      id: `manual-00000000000000a${i}`,
      pipeline: i < 4 ? 'deploy' : 'hourly',
      ref: i % 2 === 0 ? 'refs/heads/main' : 'refs/heads/release',
      endedAt: T0 + i * 3_600_000,
      result: i === 3 ? 'FAILURE' : 'SUCCESS',
      jobs: [
        { name: 'base', state: i === 3 ? 'FAILURE' : 'SUCCESS' },
        { name: 'svc', state: i === 3 ? 'SKIPPED' : 'SUCCESS' },
      ],
    });
    const entry = historyEntryOf(bs);
    // The log paths point into this test's log root, as the executor writes them.
    const builds = entry.builds.map((b) =>
      b.logPath === null ? b : { ...b, logPath: join(logRoot, bs.id, `${b.job}-${b.attempt}.log`) },
    );
    await store.put({ ...entry, builds });
  }
  mkdirSync(join(logRoot, 'manual-00000000000000a0'), { recursive: true });
  writeFileSync(join(logRoot, 'manual-00000000000000a0', 'base-1.log'), LOG);
  web = await serveApp(world, { history: store, logRoot });
  bare = await serveApp(world);
}, 60_000);

afterAll(async () => {
  await web?.close();
  await bare?.close();
  await store?.close();
  await world?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function json(path: string, served = web) {
  const res = await fetch(`${served.url}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
const ids = (list: unknown) => (list as { id: string }[]).map((b) => b.id);

describe('GET /api/buildsets and /api/builds', () => {
  it('lists finished buildsets newest first, with filters, limit, skip and more', async () => {
    const all = await json('/api/buildsets');
    expect(all.status).toBe(200);
    expect(ids(all.body['buildsets'])).toEqual(
      [5, 4, 3, 2, 1, 0].map((i) => `manual-00000000000000a${i}`),
    );
    expect(all.body).toMatchObject({ more: false, limit: 50, skip: 0 });
    const first = (all.body['buildsets'] as Record<string, unknown>[])[5]!;
    expect(first).toMatchObject({
      pipeline: 'deploy',
      result: 'SUCCESS',
      endedAt: new Date(T0).toISOString(),
      trigger: { kind: 'manual', detail: 'enqueued by test' },
    });
    const page = await json('/api/buildsets?pipeline=deploy&limit=2&skip=1');
    expect([ids(page.body['buildsets']), page.body['more']]).toEqual([
      ['manual-00000000000000a2', 'manual-00000000000000a1'],
      true,
    ]);
    const failed = await json('/api/buildsets?result=FAILURE&job=base');
    expect(ids(failed.body['buildsets'])).toEqual(['manual-00000000000000a3']);
    const range = await json(
      `/api/buildsets?ref=refs/heads/main&since=${new Date(T0 + 1).toISOString()}&until=${T0 + 5 * 3_600_000}`,
    );
    expect(ids(range.body['buildsets'])).toEqual([
      'manual-00000000000000a4',
      'manual-00000000000000a2',
    ]);
  });

  it('lists builds by job and result, each with the URL of its log', async () => {
    const res = await json('/api/builds?job=svc&result=SKIPPED');
    expect(res.status).toBe(200);
    const builds = res.body['builds'] as Record<string, unknown>[];
    expect(builds).toHaveLength(1);
    expect(builds[0]).toMatchObject({
      id: 'manual-00000000000000a3:svc',
      buildsetId: 'manual-00000000000000a3',
      attempt: 0,
      startedAt: null,
      logUrl: '/api/builds/manual-00000000000000a3%3Asvc/log',
    });
    const checkouts = await json('/api/builds?job=checkout&pipeline=hourly');
    expect((checkouts.body['builds'] as { buildsetId: string }[]).map((b) => b.buildsetId)).toEqual(
      ['manual-00000000000000a5', 'manual-00000000000000a4'],
    );
  });

  it('answers one buildset with its builds, one build, and 404 for what is not there', async () => {
    const bs = await json('/api/buildsets/manual-00000000000000a3');
    expect(bs.status).toBe(200);
    expect(bs.body['buildset']).toMatchObject({ result: 'FAILURE', pipeline: 'deploy' });
    expect((bs.body['builds'] as { job: string }[]).map((b) => b.job).sort()).toEqual([
      'base',
      'checkout',
      'svc',
    ]);
    const build = await json('/api/builds/manual-00000000000000a3-j-base');
    expect(build.body['build']).toMatchObject({
      result: 'FAILURE',
      exitCode: 2,
      durationMs: 49_000,
    });
    for (const path of ['/api/buildsets/nope', '/api/builds/nope']) {
      const res = await json(path);
      expect({
        path,
        status: res.status,
        code: (res.body['error'] as { code: string }).code,
      }).toEqual({
        path,
        status: 404,
        code: 'DRAWBRIDGE_ERR_WEB_HISTORY_NOT_FOUND',
      });
    }
  });

  it('refuses bad filters with a JSON 400', async () => {
    for (const q of [
      'since=yesterday',
      'limit=0',
      'limit=501',
      'skip=-1',
      'result=ok',
      'color=red',
    ]) {
      const res = await json(`/api/buildsets?${q}`);
      expect({ q, status: res.status, body: Object.keys(res.body) }).toEqual({
        q,
        status: 400,
        body: ['error'],
      });
    }
  });

  it('answers an empty history when the app has none', async () => {
    const res = await json('/api/builds', bare);
    expect([res.status, res.body['builds']]).toEqual([200, []]);
    expect((await json('/api/buildsets/manual-00000000000000a0', bare)).status).toBe(404);
  });
});

describe('GET /api/builds/:id/log of a finished build (file under the log root)', () => {
  const url = () => `${web.url}/api/builds/manual-00000000000000a0-j-base/log`;

  it('serves the whole log as text, and byte ranges as 206', async () => {
    const whole = await fetch(url());
    expect([whole.status, whole.headers.get('accept-ranges'), await whole.text()]).toEqual([
      200,
      'bytes',
      LOG,
    ]);
    const bytes = Buffer.from(LOG);
    const cases: [string, number, number][] = [
      ['bytes=0-9', 0, 10],
      ['bytes=20-', 20, bytes.length],
      ['bytes=-15', bytes.length - 15, bytes.length],
      [`bytes=5-${bytes.length + 100}`, 5, bytes.length],
    ];
    for (const [range, start, end] of cases) {
      const res = await fetch(url(), { headers: { range } });
      const got = Buffer.from(await res.arrayBuffer());
      expect({
        range,
        status: res.status,
        cr: res.headers.get('content-range'),
        same: got.equals(bytes.subarray(start, end)),
      }).toEqual({
        range,
        status: 206,
        cr: `bytes ${start}-${end - 1}/${bytes.length}`,
        same: true,
      });
    }
  });

  it('answers an unsatisfiable range with 416, a JSON error and Content-Range: bytes */size', async () => {
    const size = Buffer.byteLength(LOG);
    for (const range of [`bytes=${size}-`, `bytes=${size + 5}-${size + 9}`, 'bytes=-0']) {
      const res = await fetch(url(), { headers: { range } });
      const body = (await res.json()) as { error: { code: string } };
      expect({
        range,
        status: res.status,
        cr: res.headers.get('content-range'),
        code: body.error.code,
      }).toEqual({
        range,
        status: 416,
        cr: `bytes */${size}`,
        code: 'DRAWBRIDGE_ERR_WEB_LOG_RANGE',
      });
    }
  });

  it('ignores a Range it does not understand or will not honour: 200 with the whole log', async () => {
    for (const range of ['bytes=9-3', 'lines=1-2', 'bytes=x-', 'bytes=-', 'bytes=0-1,5-6', '']) {
      const res = await fetch(url(), { headers: { range } });
      expect({ range, status: res.status, cr: res.headers.get('content-range') }).toEqual({
        range,
        status: 200,
        cr: null,
      });
      expect(await res.text()).toBe(LOG);
    }
  });

  it('follows RFC 9110 at the edges of an empty log', () => {
    expect(parseRange('bytes=-5', 0)).toBeNull();
    expect(() => parseRange('bytes=0-', 0)).toThrow(/not satisfiable: the log has 0 bytes/);
    expect(parseRange('bytes=3-3', 10)).toEqual({ start: 3, end: 4 });
  });

  it('follows a finished log as events: every line, then end; Last-Event-ID resumes after it', async () => {
    const all = await sse(`${url()}?follow=1`);
    expect(all.events.at(-1)).toEqual({
      event: 'end',
      id: String(Buffer.byteLength(LOG)),
      data: `{"size":${Buffer.byteLength(LOG)}}`,
    });
    expect(linesOf(all.events)).toEqual(LOG.trimEnd().split('\n'));
    const cut = Buffer.byteLength(LOG.split('\n').slice(0, 30).join('\n') + '\n');
    const rest = await sse(`${url()}?follow=1`, { 'last-event-id': String(cut) });
    expect(linesOf(rest.events)).toEqual(LOG.trimEnd().split('\n').slice(30));
  });

  it('splits lines at a bare CR too, so log text cannot forge an event field', async () => {
    const id = 'manual-00000000000000a2-j-base';
    const text = 'ok\nx\rid: 0\nx\revent: end\r\ny\r\rdata: z\ndone\r\n';
    mkdirSync(join(logRoot, 'manual-00000000000000a2'), { recursive: true });
    writeFileSync(join(logRoot, 'manual-00000000000000a2', 'base-1.log'), text);
    const { events } = await sse(`${web.url}/api/builds/${id}/log?follow=1`);
    expect(linesOf(events)).toEqual([
      'ok',
      'x',
      'id: 0',
      'x',
      'event: end',
      'y',
      '',
      'data: z',
      'done',
    ]);
    const size = String(Buffer.byteLength(text));
    expect(events.map((e) => e.event)).toEqual([...events.slice(1).map(() => 'message'), 'end']);
    expect(events.map((e) => e.id).at(-2)).toBe(size);
    expect(events.every((e) => e.id !== '0')).toBe(true);
  });

  it('answers 404 as JSON for a build without a log anywhere', async () => {
    for (const id of ['manual-00000000000000a1-j-base', 'no-such-build', 'bad%20id']) {
      const res = await fetch(`${web.url}/api/builds/${id}/log`);
      const body = (await res.json()) as { error: { code: string } };
      expect({ id, status: res.status, code: body.error.code }).toEqual({
        id,
        status: 404,
        code: 'DRAWBRIDGE_ERR_WEB_LOG_NOT_FOUND',
      });
    }
  });
});

describe('GET /api/builds/:id/log of a running build (the executor live log server)', () => {
  let server: LogServer;
  let registration: ComponentRegistration;
  let log: BuildLog;
  const id = 'manual-00000000000000b0-j-deploy';

  beforeAll(async () => {
    server = new LogServer(pino({ level: 'silent' }), 10);
    const base = await server.listen('127.0.0.1', 0);
    registration = await ComponentRegistration.register(
      world.zk,
      world.paths.components('executor'),
      { kind: 'executor', hostname: 'test', pid: process.pid, version: 'test', state: 'running' },
    );
    await registration.update('running', { slots: 2, slotsInUse: 1, logStream: base });
    log = await BuildLog.open(join(dir, 'running', 'deploy-1.log'));
    server.add(id, Promise.resolve(log));
    const request: BuildRequest = {
      id,
      kind: 'job',
      pipeline: 'deploy',
      buildsetId: 'manual-00000000000000b0',
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
    };
    await new ZkDocument(world.zk, world.paths.buildRequest(id), buildRequestCodec).create(request);
  });

  afterAll(async () => {
    await log?.end();
    await server?.close();
    await registration?.unregister();
  });

  it('streams lines as they are written, resumes from Last-Event-ID, and ends with the build', async () => {
    log.line('first');
    log.line('second');
    await waitUntil(() => log.size === Buffer.byteLength('first\nsecond\n'), 'two lines on disk');
    const ranged = await fetch(`${web.url}/api/builds/${id}/log`, {
      headers: { range: 'bytes=6-' },
    });
    expect([ranged.status, await ranged.text()]).toEqual([206, 'second\n']);

    const events: SseEvent[] = [];
    const done = sse(`${web.url}/api/builds/${id}/log?follow=1`, {}, (e) => events.push(e));
    await waitUntil(() => linesOf(events).length === 2, 'the two lines written so far as events');
    log.line('third, while following');
    await waitUntil(
      () => linesOf(events).includes('third, while following'),
      'a line written while following',
    );
    const afterSecond = String(Buffer.byteLength('first\nsecond\n'));
    const resumed = sse(`${web.url}/api/builds/${id}/log?follow=1`, {
      'last-event-id': afterSecond,
    });
    log.line('last');
    await log.end();
    const all = await done;
    expect(linesOf(all.events)).toEqual(['first', 'second', 'third, while following', 'last']);
    expect(all.events.at(-1)?.event).toBe('end');
    expect(linesOf((await resumed).events)).toEqual(['third, while following', 'last']);
  });

  it('ends a follower cleanly when the web server drains, while the build still runs', async () => {
    const other = 'manual-00000000000000b1-j-deploy';
    const running = await BuildLog.open(join(dir, 'running', 'other-1.log'));
    server.add(other, Promise.resolve(running));
    const doc = new ZkDocument(world.zk, world.paths.buildRequest(id), buildRequestCodec);
    const request = (await doc.read())!.value;
    await new ZkDocument(world.zk, world.paths.buildRequest(other), buildRequestCodec).create({
      ...request,
      id: other,
      buildsetId: 'manual-00000000000000b1',
    });
    const ws = new WebServer(
      { host: '127.0.0.1', port: 0, version: 'test' },
      { zk: world.zk, paths: world.paths, logger: world.logger, history: store, logRoot },
    );
    await ws.start();
    try {
      running.line('still running');
      const events: SseEvent[] = [];
      const follower = sse(`${ws.url}/api/builds/${other}/log?follow=1`, {}, (e) => events.push(e));
      await waitUntil(() => linesOf(events).length === 1, 'the first line as an event');
      await ws.drain();
      const ended = await follower;
      expect(linesOf(ended.events)).toEqual(['still running']);
      expect(ended.events.some((e) => e.event === 'end')).toBe(false);
      expect(ws.state).toBe('stopped');
    } finally {
      await ws.stop();
      await running.end();
    }
  });
});

describe('GET /api/builds/:id/log?follow=1 while the stream is starting', () => {
  let standIn: StandIn;
  let registration: ComponentRegistration;
  let ws: WebServer;

  beforeEach(async () => {
    standIn = await standInLogServer();
    registration = await ComponentRegistration.register(
      world.zk,
      world.paths.components('executor'),
      { kind: 'executor', hostname: 'test', pid: process.pid, version: 'test', state: 'running' },
    );
    await registration.update('running', { slots: 1, slotsInUse: 1, logStream: standIn.url });
    ws = new WebServer(
      { host: '127.0.0.1', port: 0, version: 'test' },
      { zk: world.zk, paths: world.paths, logger: world.logger, history: store, logRoot },
    );
    await ws.start();
  });
  afterEach(async () => {
    await ws.stop();
    await registration.unregister();
    await standIn.close();
  });

  // A build web knows nothing of: it asks every executor (HEAD), and the stand-in holds that answer.
  const follow = (id: string) =>
    fetch(`${ws.url}/api/builds/${id}/log?follow=1`).then(async (r) => ({
      status: r.status,
      text: await r.text(),
    }));

  it('lets a drain that began meanwhile finish: no stream, no upstream', async () => {
    const answer = follow('manual-00000000000000c0-j-deploy');
    await waitUntil(() => standIn.state.heads === 1, 'web to ask the executor for the log');
    const drained = ws.drain();
    standIn.release();
    await waitUntil(() => ws.state === 'stopped', 'the drain to finish', 5_000);
    await drained;
    expect((await answer).status).toBe(503);
    expect(standIn.state.follows).toBe(0);
  });

  it('follows nothing for a client that left before the stream started', async () => {
    const id = 'manual-00000000000000c1-j-deploy';
    // node:http, not fetch: its destroy() closes the socket at once.
    const client = httpRequest(`${ws.url}/api/builds/${id}/log?follow=1`);
    client.on('error', () => undefined).end();
    await waitUntil(() => standIn.state.heads === 1, 'web to ask the executor for the log');
    client.destroy();
    await waitUntil(async () => (await connections(ws)) === 0, 'web to see the client leave');
    standIn.release();
    const over = (l: string) => l.includes(`"build":"${id}"`) && l.includes('live log stream over');
    await waitUntil(
      () => standIn.state.follows > 0 || world.logLines.some(over),
      'the stream to end or to follow the executor',
      5_000,
    );
    expect(standIn.state.follows).toBe(0);
    expect(world.logLines.find(over)).toContain('"why":"client gone"');
  });

  it("reports an upstream failure as a `failure` event, not EventSource's own `error`", async () => {
    standIn.release();
    standIn.state.failFollow = true;
    const id = 'manual-00000000000000c2-j-deploy';
    const { events } = await sse(`${ws.url}/api/builds/${id}/log?follow=1`);
    expect(events).toEqual([
      { event: 'failure', id: undefined, data: expect.stringContaining('HTTP 500') },
    ]);
  });
});

interface StandIn {
  readonly url: string;
  /** HEAD requests received, follow requests served; `failFollow`: answer those with a 500. */
  readonly state: { heads: number; follows: number; failFollow: boolean };
  /** Answers the HEAD requests held so far, and those to come, at once. */
  release(): void;
  close(): Promise<void>;
}

/**
 * A stand-in for an executor's live log server whose HEAD answers wait until
 * released: the window between web locating a log and starting to stream it.
 */
async function standInLogServer(): Promise<StandIn> {
  let release = (): void => undefined;
  const released = new Promise<void>((r) => (release = r));
  const open = new Set<ServerResponse>();
  const state = { heads: 0, follows: 0, failFollow: false };
  const server: Server = createServer((req, res) => {
    if (req.method === 'HEAD') {
      state.heads += 1;
      void released.then(() =>
        res.writeHead(200, { 'x-log-size': '6', 'x-build-ended': 'false' }).end(),
      );
    } else if (state.failFollow) {
      res.writeHead(500).end();
    } else {
      state.follows += 1;
      open.add(res);
      res.writeHead(200).write('hello\n');
    }
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    release,
    close: async () => {
      for (const res of open) res.end();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function connections(ws: WebServer): Promise<number> {
  return new Promise((resolve, reject) =>
    ws.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
  );
}

interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

/**
 * Reads a server-sent event stream to its end, parsing it as a browser's
 * EventSource does: a line ends at CRLF, LF or a bare CR, and `id` persists.
 */
async function sse(
  url: string,
  headers: Record<string, string> = {},
  onEvent: (e: SseEvent) => void = () => undefined,
): Promise<{ status: number; events: SseEvent[] }> {
  const res = await fetch(url, { headers });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: SseEvent[] = [];
  let buffer = '';
  let lastId: string | undefined;
  let type = '';
  let data: string[] = [];
  const line = (l: string): void => {
    if (l === '') {
      if (data.length > 0) {
        const e = { event: type || 'message', id: lastId, data: data.join('\n') };
        events.push(e);
        onEvent(e);
      }
      [type, data] = ['', []];
      return;
    }
    const colon = l.indexOf(':');
    if (colon === 0) return;
    const field = colon < 0 ? l : l.slice(0, colon);
    const value = colon < 0 ? '' : l.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') lastId = value;
  };
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let m: RegExpExecArray | null;
    // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
    while ((m = /\r\n|\r|\n/.exec(buffer)) !== null) {
      if (m[0] === '\r' && m.index === buffer.length - 1) break;
      line(buffer.slice(0, m.index));
      buffer = buffer.slice(m.index + m[0].length);
    }
  }
  return { status: res.status, events };
}

function linesOf(events: readonly SseEvent[]): string[] {
  return events.filter((e) => e.event === 'message').flatMap((e) => e.data.split('\n'));
}
