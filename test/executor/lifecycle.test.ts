import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IllegalStateError } from '../../src/errors.js';
import type { BuildEndEvent } from '../../src/executor/index.js';
import type { BuildRequest } from '../../src/model/index.js';
import { listComponents } from '../../src/zk/registry.js';
import { expireSession } from '../fixtures/zookeeper.js';
import {
  completed,
  createWorld,
  heldLocks,
  processesMatching,
  put,
  read,
  request,
  requestDoc,
  resultQueue,
  waitUntil,
  type World,
} from './support.js';

describe('executor lifecycle', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld('lifecycle');
  });
  afterAll(async () => {
    if (world) expect(await heldLocks(world.zk, world.paths)).toEqual([]);
    await world?.dispose();
  });

  const components = () => listComponents(world.zk, world.paths.components('executor'));
  const gate = (name: string, over: Partial<BuildRequest> = {}) =>
    request(world, {
      playbook: 'playbooks/gate.yml',
      vars: { record_dir: world.records, name },
      ...over,
    });
  const started = (name: string) =>
    waitUntil(() => existsSync(join(world.records, `${name}.pid`)), `playbook ${name} to start`);
  const open = (name: string) => writeFileSync(join(world.records, `${name}.go`), '');

  it('registers with its state, slots and live log address, and deregisters on stop', async () => {
    const executor = await world.startExecutor({ slots: 3 });
    const [record] = await components();
    expect(record).toMatchObject({
      id: executor.id,
      kind: 'executor',
      version: 'test',
      pid: process.pid,
      extra: { slots: 3, slotsInUse: 0, logStream: executor.logStreamUrl },
    });
    await waitUntil(async () => (await components())[0]?.state === 'running', 'state running');
    expect(executor.logStreamUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await executor.pause();
    expect((await components())[0]?.state).toBe('paused');
    await expect(executor.pause()).rejects.toBeInstanceOf(IllegalStateError);
    await executor.resume();
    expect((await components())[0]?.state).toBe('running');
    const stopping = executor.stop();
    expect(executor.stop()).toBe(stopping);
    await stopping;
    expect(executor.state).toBe('stopped');
    expect(await components()).toEqual([]);
    await expect(executor.resume()).rejects.toBeInstanceOf(IllegalStateError);
    expect(() => executor.start()).toThrow(IllegalStateError);
  });

  it('never runs more builds than it has slots', async () => {
    const executor = await world.startExecutor({ slots: 2 });
    const reqs = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        put(
          world,
          request(world, {
            playbook: 'playbooks/interval.yml',
            vars: { record_dir: world.records, name: `slot-${i}`, seconds: 1 },
          }),
        ),
      ),
    );
    let maxRunning = 0;
    let maxInUse = 0;
    await waitUntil(
      async () => {
        const states = await Promise.all(reqs.map(async (r) => (await read(world, r.id)).state));
        maxRunning = Math.max(maxRunning, states.filter((s) => s === 'running').length);
        maxInUse = Math.max(maxInUse, executor.running.length);
        return states.every((s) => s === 'completed');
      },
      'all five builds to complete',
      90_000,
    );
    const done = await Promise.all(reqs.map((r) => completed(world, r.id)));
    expect(done.map((r) => r.outcome?.result)).toEqual(Array(5).fill('SUCCESS'));
    // From each request's claim to the transaction that completed it (the node's mtime).
    const intervals = await Promise.all(
      done.map(async (r) => ({
        from: r.startedAt!,
        to: (await world.zk.get(world.paths.buildRequest(r.id))).stat.mtime,
      })),
    );
    const overlap = Math.max(
      ...intervals.map((a) => intervals.filter((b) => b.from <= a.from && a.from < b.to).length),
    );
    expect(overlap).toBe(2);
    expect(maxRunning).toBeLessThanOrEqual(2);
    expect(maxInUse).toBe(2);
    await executor.stop();
  });

  it('stops claiming while paused and claims again on resume', async () => {
    const first = await world.startExecutor({ slots: 1 });
    await first.pause();
    const r1 = await put(world, request(world));
    // A second executor starting only now wins r1: the paused one, already watching, did not take it.
    const second = await world.startExecutor({ slots: 1 });
    expect((await completed(world, r1.id)).executor).toBe(second.id);
    await second.drain();
    await first.resume();
    const r2 = await put(world, request(world));
    expect((await completed(world, r2.id)).executor).toBe(first.id);
    await first.stop();
  });

  it('drains: finishes running builds, claims nothing new, then deregisters', async () => {
    const executor = await world.startExecutor({ slots: 2 });
    const r = await put(world, gate('drain'));
    await started('drain');
    const draining = executor.drain();
    expect(executor.drain()).toBe(draining);
    await waitUntil(async () => (await components())[0]?.state === 'draining', 'state draining');
    const late = await put(world, request(world));
    open('drain');
    await draining;
    expect((await read(world, r.id)).outcome?.result).toBe('SUCCESS');
    expect(await components()).toEqual([]);
    expect((await read(world, late.id)).state).toBe('requested');
    // Leave nothing claimable behind for the next test.
    await world.zk.deleteRecursive(world.paths.buildRequest(late.id));
  });

  it('stops: running builds are killed and reported ABORTED, retryable', async () => {
    const executor = await world.startExecutor({ slots: 2 });
    const r = await put(world, gate('stop'));
    await started('stop');
    const pid = Number(readFileSync(join(world.records, 'stop.pid'), 'utf8'));
    await executor.stop();
    const done = await read(world, r.id);
    expect(done.state).toBe('completed');
    expect(done.outcome).toMatchObject({ result: 'ABORTED', retryable: true });
    expect(processesMatching('stop.go').includes(pid)).toBe(false);
    expect(await components()).toEqual([]);
  });

  it('on session loss aborts its builds and drops them, then registers again', async () => {
    const executor = await world.startExecutor({ slots: 2 });
    const r = await put(world, gate('expire'));
    await started('expire');
    const id = executor.id;
    const lock = world.paths.buildLock(r.id);
    expect(await world.zk.exists(lock)).not.toBeNull();
    await expireSession(world.chroot.serverConnectString, world.zk.sessionCredentials()!);
    await waitUntil(() => executor.running.length === 0, 'the build to be aborted');
    await waitUntil(
      () => !processesMatching('expire.go').length,
      'the playbook to be killed on the bastion',
    );
    await waitUntil(async () => (await components())[0]?.id === id, 're-registration');
    expect((await components())[0]?.state).toBe('running');
    // The lock is gone and the request still RUNNING: a scheduler sees a lost build.
    expect(await world.zk.exists(lock)).toBeNull();
    expect((await read(world, r.id)).state).toBe('running');
    await executor.stop();
    await world.zk.deleteRecursive(world.paths.buildRequest(r.id));
  });

  it('shares requests between racing executors: each build runs and reports exactly once', async () => {
    const executors = await Promise.all([
      world.startExecutor({ slots: 2 }, true),
      world.startExecutor({ slots: 2 }, true),
    ]);
    const reqs = await Promise.all(
      Array.from({ length: 6 }, () => put(world, request(world, { pipeline: 'race' }))),
    );
    const done = await Promise.all(reqs.map((r) => completed(world, r.id, 90_000)));
    expect(done.map((r) => r.outcome?.result)).toEqual(Array(6).fill('SUCCESS'));
    const ids = new Set(executors.map((e) => e.id));
    expect(done.every((r) => ids.has(r.executor ?? ''))).toBe(true);
    const events = await resultQueue(world, 'race').read();
    expect(events.map((e) => e.value.requestId).sort()).toEqual(reqs.map((r) => r.id).sort());
    await Promise.all(executors.map((e) => e.stop()));
  });

  it('claims nothing a scheduler cancelled while it waited in line for a slot', async () => {
    // Both exist before the executor starts: its first scan reads both, claims the
    // older and keeps the other in line, so the cancel lands on a remembered request.
    const first = await put(world, gate('in-line'));
    const waiting = await put(world, request(world, { createdAt: first.createdAt + 1 }));
    const executor = await world.startExecutor({ slots: 1 });
    await started('in-line');
    const current = await requestDoc(world, waiting.id).read();
    await requestDoc(world, waiting.id).write(
      { ...current!.value, cancelRequested: true },
      current!.version,
    );
    open('in-line');
    expect((await completed(world, first.id)).outcome?.result).toBe('SUCCESS');
    // Ordered after the cancelled one: once it has run, the cancelled one was passed over.
    const later = await put(world, request(world, { createdAt: Date.now() + 1_000 }));
    expect((await completed(world, later.id)).executor).toBe(executor.id);
    expect((await read(world, waiting.id)).state).toBe('requested');
    await executor.stop();
    await world.zk.deleteRecursive(world.paths.buildRequest(waiting.id));
  });

  it('drops the result of a build whose request a scheduler deleted', async () => {
    const executor = await world.startExecutor({ slots: 1 });
    const r = await put(world, gate('deleted', { pipeline: 'deleted' }));
    await started('deleted');
    const ended = new Promise<BuildEndEvent>((resolve) => executor.onBuildEnd(resolve));
    await requestDoc(world, r.id).delete();
    const e = await ended;
    expect(e).toMatchObject({ reported: false, outcome: { result: 'CANCELED' } });
    expect(await resultQueue(world, 'deleted').read()).toEqual([]);
    await waitUntil(() => !processesMatching('deleted.go').length, 'the playbook to be killed');
    await executor.stop();
  });

  it('escalates a drain when stop() is called: the running build is aborted', async () => {
    const executor = await world.startExecutor({ slots: 1 });
    const r = await put(world, gate('escalate'));
    await started('escalate');
    const draining = executor.drain();
    expect(executor.stop()).toBe(draining);
    await draining;
    expect((await read(world, r.id)).outcome).toMatchObject({ result: 'ABORTED', retryable: true });
    expect(executor.state).toBe('stopped');
  });

  it('refuses options out of range with a typed error naming the key', async () => {
    await expect(world.startExecutor({ slots: 0 })).rejects.toMatchObject({
      code: 'DRAWBRIDGE_ERR_EXECUTOR_CONFIG',
      key: 'slots',
    });
  });
});
