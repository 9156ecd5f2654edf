import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IllegalStateError } from '../../src/errors.js';
import type { BuildEndEvent, Executor } from '../../src/executor/index.js';
import type { Buildset } from '../../src/model/index.js';
import {
  buildsetIdFor,
  jobRequestId,
  readStatus,
  type Scheduler,
} from '../../src/scheduler/runtime/index.js';
import { listComponents } from '../../src/zk/registry.js';
import { heldLocks, read } from '../executor/support.js';
import { createSchedulerWorld, waitUntil, type SchedulerWorld } from './support.js';

const ZERO = '0'.repeat(40);

describe('scheduler: two schedulers, one executor, real ansible', () => {
  let w: SchedulerWorld;
  let executor: Executor;
  let schedulers: Scheduler[];
  const builds: BuildEndEvent[] = [];

  beforeAll(async () => {
    w = await createSchedulerWorld('main');
    executor = await w.world.startExecutor({ slots: 4 });
    executor.onBuildEnd((e) => builds.push(e));
    schedulers = [await w.startScheduler(), await w.startScheduler()];
  }, 60_000);

  afterAll(async () => {
    await w?.dispose();
  });

  const buildsOf = (bs: string, job: string) =>
    builds.filter((b) => b.request.buildsetId === bs && b.request.job === job);
  const jobOf = (bs: Buildset, name: string) => bs.jobs.find((j) => j.name === name)!;
  const timeOf = (name: string, event: 'start' | 'end') => {
    const lines = w.records().filter((r) => r.name === name && r.event === event);
    expect({ name, event, count: lines.length }).toEqual({ name, event, count: 1 });
    return lines[0]!.at;
  };

  it('registers both schedulers as running components', async () => {
    const components = await listComponents(w.world.zk, w.world.paths.components('scheduler'));
    expect(components.map((c) => c.state)).toEqual(['running', 'running']);
    expect(schedulers.map((s) => s.state)).toEqual(['running', 'running']);
    expect(() => schedulers[0]!.start()).toThrow(IllegalStateError);
  });

  it('runs a manual enqueue to SUCCESS: each job once, in dependency order, fan-out in parallel', async () => {
    const id = await w.manage({
      type: 'enqueue',
      pipeline: 'deploy',
      ref: 'refs/heads/main',
      commit: w.sha,
    });
    const bs = await w.finished('deploy', id);
    expect({ result: bs.result, message: bs.message }).toEqual({
      result: 'SUCCESS',
      message: null,
    });
    expect(bs.jobs.map((j) => [j.name, j.state, j.attempt])).toEqual(
      ['d-bootstrap', 'd-base', 'd-svc-a', 'd-svc-b', 'd-svc-c', 'd-finish'].map((n) => [
        n,
        'SUCCESS',
        1,
      ]),
    );
    expect(buildsOf(id, 'checkout')).toHaveLength(1);
    for (const j of bs.jobs)
      expect({ job: j.name, n: buildsOf(id, j.name).length }).toEqual({ job: j.name, n: 1 });
    // hard chain, fan-out after base, hard + soft dependencies of finish
    expect(timeOf('d-bootstrap', 'end')).toBeLessThanOrEqual(timeOf('d-base', 'start'));
    for (const svc of ['d-svc-a', 'd-svc-b', 'd-svc-c'])
      expect(timeOf('d-base', 'end')).toBeLessThanOrEqual(timeOf(svc, 'start'));
    expect(timeOf('d-svc-a', 'end')).toBeLessThanOrEqual(timeOf('d-finish', 'start'));
    expect(timeOf('d-svc-c', 'end')).toBeLessThanOrEqual(timeOf('d-finish', 'start'));
    expect(timeOf('d-svc-a', 'start')).toBeLessThan(timeOf('d-svc-b', 'end'));
    expect(timeOf('d-svc-b', 'start')).toBeLessThan(timeOf('d-svc-a', 'end'));
    // the finished buildset left the queue; the status says so
    await waitUntil(
      async () => (await readStatus(w.world.zk, w.world.paths, 'deploy'))?.buildsets.length === 0,
      'the deploy status to show an empty queue',
    );
  });

  it('routes a ref-updated event only to matching pipelines and selects jobs by changed files', async () => {
    const eventId = `push-${Date.now()}`;
    await w.trigger({
      type: 'ref-updated',
      id: eventId,
      ref: 'refs/heads/release',
      oldCommit: ZERO,
      newCommit: w.sha,
      changedFiles: ['a/site.yaml'],
      source: 'webhook',
      detail: 'push by test',
      receivedAt: Date.now(),
    });
    const id = buildsetIdFor('selective', 'ref', eventId);
    const bs = await w.finished('selective', id);
    expect(bs.result).toBe('SUCCESS');
    expect(bs.jobs.map((j) => j.name)).toEqual(['s-a', 's-c']);
    expect(bs.graph.selection.find((s) => s.job === 's-b')?.selected).toBe(false);
    expect(await w.buildset('deploy', buildsetIdFor('deploy', 'ref', eventId))).toBeNull();
    expect(await w.world.zk.children(`${w.world.paths.triggerEvents()}/entries`)).toEqual([]);
  });

  it('skips exactly the dependents of a failing job and ends FAILURE', async () => {
    const id = await w.manage({
      type: 'enqueue',
      pipeline: 'failing',
      ref: 'refs/heads/main',
      commit: w.sha,
    });
    const bs = await w.finished('failing', id);
    expect(bs.result).toBe('FAILURE');
    expect(bs.jobs.map((j) => [j.name, j.state])).toEqual([
      ['f-base', 'FAILURE'],
      ['f-child', 'SKIPPED'],
      ['f-grandchild', 'SKIPPED'],
      ['f-other', 'SUCCESS'],
    ]);
    expect(jobOf(bs, 'f-child').reason).toBe('skipped: f-base failed');
    expect(jobOf(bs, 'f-grandchild').reason).toBe('skipped: f-base failed');
    expect(buildsOf(id, 'f-child')).toHaveLength(0);
    expect(buildsOf(id, 'f-base')).toHaveLength(1);
  });

  it('never runs two holders of a max-1 semaphore at once', async () => {
    const id = await w.manage({
      type: 'enqueue',
      pipeline: 'sema',
      ref: 'refs/heads/main',
      commit: w.sha,
    });
    const bs = await w.finished('sema', id);
    expect(bs.result).toBe('SUCCESS');
    const [a0, a1, b0, b1] = [
      timeOf('m-a', 'start'),
      timeOf('m-a', 'end'),
      timeOf('m-b', 'start'),
      timeOf('m-b', 'end'),
    ];
    expect(a1 <= b0 || b1 <= a0).toBe(true);
    expect(await w.semaphoreHolders()).toEqual([]);
  });

  it('dequeue cancels a running buildset and leaves no request behind', async () => {
    const id = await w.manage({
      type: 'enqueue',
      pipeline: 'cancel',
      ref: 'refs/heads/main',
      commit: w.sha,
    });
    const gate = jobRequestId(id, 'c-gate');
    await waitUntil(
      async () =>
        (await w.requests()).includes(gate) && (await read(w.world, gate)).state === 'running',
      'the gate job to run',
      30_000,
    );
    await w.manage({ type: 'dequeue', pipeline: 'cancel', buildsetId: id });
    const bs = await w.finished('cancel', id);
    expect(bs.result).toBe('CANCELED');
    expect(bs.message).toBe('dequeued by test');
    expect(bs.jobs.map((j) => [j.name, j.state])).toEqual([
      ['c-gate', 'CANCELED'],
      ['c-after', 'CANCELED'],
    ]);
    await waitUntil(
      async () => (await w.requests()).every((r) => !r.startsWith(id)),
      'the canceled requests to be removed',
    );
    expect(buildsOf(id, 'c-gate').map((b) => b.outcome.result)).toEqual(['CANCELED']);
  });

  it('retries a build whose executor lock vanished, and the buildset completes', async () => {
    const id = await w.manage({
      type: 'enqueue',
      pipeline: 'lost',
      ref: 'refs/heads/main',
      commit: w.sha,
    });
    const first = jobRequestId(id, 'l-gate');
    await waitUntil(
      async () =>
        (await w.requests()).includes(first) && (await read(w.world, first)).state === 'running',
      'the first attempt to run',
      30_000,
    );
    await w.world.zk.delete(w.world.paths.buildLock(first));
    await waitUntil(
      async () =>
        (await w.requests()).includes(`${first}.2`) &&
        (await read(w.world, `${first}.2`)).state === 'running',
      'the second attempt to run',
      30_000,
    );
    writeFileSync(join(w.world.records, 'l-gate.go'), '');
    const bs = await w.finished('lost', id);
    expect(bs.result).toBe('SUCCESS');
    expect([jobOf(bs, 'l-gate').state, jobOf(bs, 'l-gate').attempt]).toEqual(['SUCCESS', 2]);
    // The executor could not report the first attempt: the retry came from the LOST completion.
    await waitUntil(() => buildsOf(id, 'l-gate').length === 2, 'both attempts to end');
    expect(buildsOf(id, 'l-gate').map((b) => [b.request.attempt, b.reported])).toEqual([
      [1, false],
      [2, true],
    ]);
  });

  it('finishes a buildset when one of the schedulers dies in the middle of it', async () => {
    schedulers.push(await w.startScheduler());
    const eventId = `push-crash-${Date.now()}`;
    await w.trigger({
      type: 'ref-updated',
      id: eventId,
      ref: 'refs/heads/release',
      oldCommit: null,
      newCommit: w.sha,
      changedFiles: ['b/site.yaml'],
      source: 'poll',
      detail: 'push by test',
      receivedAt: Date.now(),
    });
    const id = buildsetIdFor('selective', 'ref', eventId);
    await waitUntil(
      async () => (await w.buildset('selective', id))?.state === 'running',
      'the buildset to pass its checkout',
      30_000,
    );
    await w.crash(schedulers[0]!);
    const bs = await w.finished('selective', id);
    expect(bs.result).toBe('SUCCESS');
    expect(bs.jobs.map((j) => [j.name, j.state, j.attempt])).toEqual([
      ['s-b', 'SUCCESS', 1],
      ['s-c', 'SUCCESS', 1],
    ]);
    const components = await listComponents(w.world.zk, w.world.paths.components('scheduler'));
    expect(components).toHaveLength(2);
  });

  it('drains the schedulers and leaves no locks, semaphore holders or requests', async () => {
    await waitUntil(async () => (await w.requests()).length === 0, 'every request to be removed');
    const drains = schedulers.map((s) => s.drain());
    expect(schedulers[0]!.drain()).toBe(drains[0]);
    expect(schedulers[1]!.stop()).toBe(drains[1]);
    await Promise.all(drains);
    expect(schedulers.map((s) => s.state)).toEqual(['stopped', 'stopped', 'stopped']);
    expect(await listComponents(w.world.zk, w.world.paths.components('scheduler'))).toEqual([]);
    expect(await w.pipelineLockNodes()).toEqual([]);
    expect(await heldLocks(w.world.zk, w.world.paths)).toEqual([]);
    expect(await w.semaphoreHolders()).toEqual([]);
    expect(await w.requests()).toEqual([]);
  });
});
