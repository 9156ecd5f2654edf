/**
 * The rolling-restart driver (src/ops) against a real ZooKeeper, with
 * components that are registry entries of this process: each one watches its
 * control request as a daemon does and, asked to drain, deregisters; a
 * "supervisor" registers its successor. Fast cases the process tests leave
 * out: the operation lock, a component gone before its turn, cancellation,
 * and the races between drains, control requests and a lost lock.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { daemonAdminActions } from '../../src/cli/daemon-admin.js';
import type { LayoutSettings } from '../../src/config/layout-sources.js';
import {
  clearControlRequest,
  OpsBusyError,
  OpsLastComponentError,
  readControlRequest,
  readRollingRestart,
  requestComponentAction,
  rollingRestartLock,
  sendControlRequest,
  startRollingRestart,
  watchControlRequests,
} from '../../src/ops/index.js';
import { WebBadRequestError } from '../../src/web/index.js';
import { ZkPaths } from '../../src/zk/paths.js';
import { ComponentRegistration } from '../../src/zk/registry.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { waitUntil } from '../fixtures/wait.js';
import { newChroot } from '../fixtures/zookeeper.js';

let zk: ZooKeeperClient;
let count = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const chroot = await newChroot('ha-ops');
  zk = await connectZooKeeper({ connectString: chroot.connectString, sessionTimeoutMs: 4_000 });
});
afterAll(async () => {
  for (const c of cleanups) await c();
  await zk?.close();
});

function fresh(): ZkPaths {
  count += 1;
  return new ZkPaths(`/t${count}`);
}

/**
 * A scheduler stand-in: registered running; on a drain request it
 * deregisters and, if `comesBack`, a successor registers (as a supervisor
 * would restart it). Returns its id.
 */
async function component(
  paths: ZkPaths,
  comesBack: boolean,
  pid = 1000 + count,
  startedAt = new Date().toISOString(),
  onDrain: () => Promise<void> = () => Promise.resolve(),
): Promise<string> {
  const reg = await ComponentRegistration.register(zk, paths.components('scheduler'), {
    kind: 'scheduler',
    hostname: 'test',
    pid,
    version: 'test',
    state: 'running',
    startedAt,
  });
  const stop = watchControlRequests(
    zk,
    paths,
    reg.id,
    async (request) => {
      if (request.action !== 'drain') return;
      stop();
      await onDrain();
      await reg.unregister();
      if (comesBack) await component(paths, comesBack, pid + 100);
    },
    () => undefined,
  );
  cleanups.push(async () => {
    stop();
    await reg.unregister();
  });
  return reg.id;
}

/** A scheduler that never acts on its requests: a drain sent to it stays pending. */
async function deaf(paths: ZkPaths): Promise<string> {
  const reg = await ComponentRegistration.register(zk, paths.components('scheduler'), {
    kind: 'scheduler',
    hostname: 'test',
    pid: 5000 + count,
    version: 'test',
    state: 'running',
    startedAt: new Date().toISOString(),
  });
  cleanups.push(() => reg.unregister());
  return reg.id;
}

describe('rolling restart driver', () => {
  it('replaces each component in turn and records every step', async () => {
    const paths = fresh();
    const ids = [await component(paths, true), await component(paths, true)];
    const seen: string[] = [];
    const handle = await startRollingRestart(zk, paths, {
      kind: 'scheduler',
      requestedBy: 'test',
      timeoutMs: 10_000,
      pollMs: 20,
      onProgress: (p) => {
        if (seen.at(-1) !== p.record.message) seen.push(p.record.message);
      },
    });
    const final = await handle.done;
    expect(final.state).toBe('succeeded');
    expect(final.steps.map((s) => [s.component, s.state])).toEqual(ids.map((id) => [id, 'done']));
    expect(final.steps.every((s) => s.replacement !== null && !ids.includes(s.replacement))).toBe(
      true,
    );
    expect(seen).toContain(`${ids[0]} drained; waiting for its replacement`);
    expect(await readRollingRestart(zk, paths)).toEqual({ ...final, driverAlive: false });
  });

  it('allows one operation at a time', async () => {
    const paths = fresh();
    await component(paths, false);
    await component(paths, false);
    const first = await startRollingRestart(zk, paths, {
      kind: 'scheduler',
      requestedBy: 'first',
      timeoutMs: 1_000,
      pollMs: 20,
    });
    await expect(
      startRollingRestart(zk, paths, {
        kind: 'scheduler',
        requestedBy: 'second',
        timeoutMs: 1_000,
      }),
    ).rejects.toThrow(OpsBusyError);
    expect((await readRollingRestart(zk, paths))?.driverAlive).toBe(true);
    // Nobody restarts the first one: it fails on time, naming it, and touches no other.
    const final = await first.done;
    expect(final).toMatchObject({ state: 'failed', error: { code: 'DRAWBRIDGE_ERR_OPS_TIMEOUT' } });
    expect(final.steps.map((s) => s.state)).toEqual(['failed', 'pending']);
  });

  it('refuses with fewer than two running and skips one gone before its turn', async () => {
    const paths = fresh();
    const solo = await component(paths, true);
    await expect(
      startRollingRestart(zk, paths, { kind: 'scheduler', requestedBy: 't', timeoutMs: 1_000 }),
    ).rejects.toThrow(OpsLastComponentError);
    expect(await readRollingRestart(zk, paths)).toBeNull();

    // Oldest first: one that comes back, and as it drains, the next one leaves.
    const leaving = await ComponentRegistration.register(zk, paths.components('scheduler'), {
      kind: 'scheduler',
      hostname: 'test',
      pid: 8,
      version: 'test',
      state: 'running',
      startedAt: '2001-01-01T00:00:00.000Z',
    });
    const first = await component(paths, true, 7, '2000-01-01T00:00:00.000Z', () =>
      leaving.unregister(),
    );
    const handle = await startRollingRestart(zk, paths, {
      kind: 'scheduler',
      requestedBy: 't',
      timeoutMs: 10_000,
      pollMs: 20,
    });
    const final = await handle.done;
    expect(final.state).toBe('succeeded');
    expect(final.steps.map((s) => [s.component, s.state])).toEqual([
      [first, 'done'],
      [leaving.id, 'gone'],
      [solo, 'done'],
    ]);
  });

  it('stops when its signal is aborted', async () => {
    const paths = fresh();
    await component(paths, false);
    await component(paths, false);
    const abort = new AbortController();
    const handle = await startRollingRestart(zk, paths, {
      kind: 'scheduler',
      requestedBy: 't',
      timeoutMs: 30_000,
      pollMs: 20,
      signal: abort.signal,
    });
    await waitUntil(
      async () => (await readRollingRestart(zk, paths))?.steps[0]?.state === 'replacing',
      'the first component to be drained',
    );
    abort.abort(new Error('operator pressed Ctrl-C'));
    const final = await handle.done;
    expect(final).toMatchObject({
      state: 'failed',
      error: { code: 'DRAWBRIDGE_ERR_OPS_CANCELED' },
      message: 'rolling restart canceled: Error: operator pressed Ctrl-C',
    });
  });
});

describe('scheduler drains and control requests', () => {
  it('never drains the last scheduler left without a pending drain', async () => {
    const paths = fresh();
    const [a, b] = [await deaf(paths), await deaf(paths)];
    await requestComponentAction(zk, paths, a, 'drain', 'first');
    // a is still registered and running, but draining: b is the last one.
    await expect(requestComponentAction(zk, paths, b, 'drain', 'second')).rejects.toThrow(
      OpsLastComponentError,
    );
    expect(await readControlRequest(zk, paths, b)).toBeNull();
    expect(await zk.children(rollingRestartLock(paths))).toEqual([]);
  });

  it('refuses a scheduler drain while a rolling restart runs', async () => {
    const paths = fresh();
    const a = await component(paths, false);
    await component(paths, false);
    const handle = await startRollingRestart(zk, paths, {
      kind: 'scheduler',
      requestedBy: 't',
      timeoutMs: 1_000,
      pollMs: 20,
    });
    const other = await deaf(paths);
    await expect(requestComponentAction(zk, paths, other, 'drain', 'op')).rejects.toThrow(
      OpsBusyError,
    );
    expect(await readControlRequest(zk, paths, other)).toBeNull();
    expect((await handle.done).steps[0]?.component).toBe(a);
  });

  it('does not overwrite a pending drain, and deletes only the request handled', async () => {
    const paths = fresh();
    const id = await deaf(paths);
    const drain = await sendControlRequest(zk, paths, id, { action: 'drain', requestedBy: 'a' });
    await expect(
      sendControlRequest(zk, paths, id, { action: 'pause', requestedBy: 'b' }),
    ).rejects.toThrow(OpsBusyError);
    expect(await readControlRequest(zk, paths, id)).toEqual(drain);
    await clearControlRequest(zk, paths, id);

    await sendControlRequest(zk, paths, id, { action: 'pause', requestedBy: 'a' });
    const handled = (await zk.get(paths.controlRequest(id))).stat.version;
    const newer = await sendControlRequest(zk, paths, id, { action: 'resume', requestedBy: 'b' });
    await clearControlRequest(zk, paths, id, handled);
    expect(await readControlRequest(zk, paths, id)).toEqual(newer);
    await clearControlRequest(zk, paths, id);
  });

  it('fails a rolling restart whose lock is lost, and sends nothing more', async () => {
    const paths = fresh();
    await component(paths, false);
    const second = await component(paths, false);
    const handle = await startRollingRestart(zk, paths, {
      kind: 'scheduler',
      requestedBy: 't',
      timeoutMs: 30_000,
      pollMs: 20,
    });
    await waitUntil(
      async () => (await readRollingRestart(zk, paths))?.steps[0]?.state === 'replacing',
      'the first component to be drained',
    );
    const [node] = await zk.children(rollingRestartLock(paths));
    await zk.delete(`${rollingRestartLock(paths)}/${node ?? 'missing'}`);
    const final = await handle.done;
    expect(final).toMatchObject({
      state: 'failed',
      error: { code: 'DRAWBRIDGE_ERR_OPS_LOCK_LOST' },
    });
    expect(await readRollingRestart(zk, paths)).toMatchObject({
      state: 'failed',
      error: { code: 'DRAWBRIDGE_ERR_OPS_LOCK_LOST' },
    });
    expect(await readControlRequest(zk, paths, second)).toBeNull();
  });

  it('refuses a REST rolling restart from a web sharing its process with a scheduler', async () => {
    const paths = fresh();
    await deaf(paths);
    await deaf(paths);
    const admin = daemonAdminActions({
      zk,
      paths,
      // Not read by a rolling restart.
      config: {} as LayoutSettings,
      logger: pino({ level: 'silent' }),
      closing: () => undefined,
      sharesProcessWithScheduler: true,
    });
    const refused = admin.rollingRestart?.({ by: 'rest' });
    await expect(refused).rejects.toThrow(WebBadRequestError);
    await expect(refused).rejects.toMatchObject({ statusCode: 409 });
    expect(await readRollingRestart(zk, paths)).toBeNull();
  });
});
