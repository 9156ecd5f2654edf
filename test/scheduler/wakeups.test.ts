/**
 * A queue's change wakes only its own pipeline and acks wake nobody
 * (src/scheduler/runtime/wakeups.ts), so what used to ride on those wake-ups
 * must now ask for its round itself: a backlog larger than one pass's batch,
 * and a semaphore given back that another pipeline waits for. Here the
 * safety tick, which would cover for them, is a minute away.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { watchForWork } from '../../src/scheduler/runtime/wakeups.js';
import { ZkEventQueue } from '../../src/zk/queue.js';
import { managementEventCodec, triggerEventCodec } from '../../src/model/index.js';
import type { Scheduler } from '../../src/scheduler/runtime/index.js';
import { createSchedulerWorld, waitUntil, type SchedulerWorld } from './support.js';

describe('scheduler wake-ups without the safety tick', () => {
  let w: SchedulerWorld;
  let scheduler: Scheduler;

  beforeAll(async () => {
    w = await createSchedulerWorld('wakeups');
    await w.world.startExecutor({ slots: 4 });
    scheduler = await w.startScheduler({ safetyIntervalMs: 60_000, eventsPerPass: 2 });
  }, 60_000);

  afterAll(async () => {
    await w?.dispose();
  });

  /** A ref-updated event no pipeline wants, on the global queue. */
  const pushNowhere = (id: string) =>
    w.trigger({
      type: 'ref-updated',
      id,
      ref: 'refs/heads/nowhere',
      oldCommit: null,
      newCommit: w.sha,
      changedFiles: null,
      source: 'poll',
      detail: 'test',
      receivedAt: Date.now(),
    });
  const globalQueue = () =>
    new ZkEventQueue(w.world.zk, w.world.paths.triggerEvents(), triggerEventCodec);
  const cancelQueue = () =>
    new ZkEventQueue(
      w.world.zk,
      w.world.paths.pipelineManagementEvents('cancel'),
      managementEventCodec,
    );
  const drained = (queue: ZkEventQueue<unknown>, what: string) =>
    waitUntil(async () => (await queue.ids()).length === 0, what, 15_000);

  it('applies every management event of a pipeline, two per pass', async () => {
    for (let i = 0; i < 7; i++)
      await w.manage({ type: 'dequeue', pipeline: 'cancel', buildsetId: `none-${i}` });
    await drained(
      cancelQueue(),
      'the 7 dequeue events to be applied and acked without a safety tick',
    );
  });

  it('routes every global trigger event, two per round', async () => {
    for (let i = 0; i < 5; i++) await pushNowhere(`nowhere-${i}`);
    await drained(globalQueue(), 'the 5 trigger events to be routed without a safety tick');
  });

  it('starts a buildset of another pipeline as soon as the semaphore it waits for is given back', async () => {
    const enqueue = (pipeline: string) =>
      w.manage({ type: 'enqueue', pipeline, ref: 'refs/heads/main', commit: w.sha });
    const sema = await enqueue('sema');
    await waitUntil(
      async () =>
        (await w.buildset('sema', sema))?.jobs.some((j) =>
          ['QUEUED', 'RUNNING'].includes(j.state),
        ) ?? false,
      'a job of sema to take the semaphore',
      30_000,
    );
    // sema-other has no event of its own once enqueued: only the release can wake it.
    const other = await enqueue('sema-other');
    const bs = await w.finished('sema-other', other, 30_000);
    expect({ result: bs.result, message: bs.message }).toEqual({
      result: 'SUCCESS',
      message: null,
    });
    expect((await w.finished('sema', sema)).result).toBe('SUCCESS');
    // The semaphore (max 1) was honoured: o-a ran while neither m-a nor m-b did.
    const at = (name: string, event: string) =>
      w.records().find((r) => r.name === name && r.event === event)?.at ?? NaN;
    for (const m of ['m-a', 'm-b'])
      expect({
        m,
        apart: at('o-a', 'start') >= at(m, 'end') || at('o-a', 'end') <= at(m, 'start'),
      }).toEqual({ m, apart: true });
  }, 60_000);

  it('wakes on a removal from the executor registry, not on one from a queue', async () => {
    const { zk } = w.world;
    const queue = '/wake-test/queue';
    const registry = '/wake-test/registry';
    await zk.mkdirp(queue);
    await zk.mkdirp(registry);
    await zk.create(`${queue}/e-1`, Buffer.from('event'));
    await zk.create(`${registry}/executor-1`, Buffer.from('executor'));
    const woken: string[] = [];
    const stop = watchForWork(
      {
        zk,
        queues: [queue],
        registries: [registry],
        intervalMs: 60_000,
        log: pino({ level: 'silent' }),
      },
      (why) => woken.push(why),
    );
    try {
      await waitUntil(() => woken.length === 2, 'the first listings to wake', 10_000);
      expect([...woken].sort()).toEqual([queue, registry]);
      await zk.delete(`${queue}/e-1`); // an ack
      await zk.delete(`${registry}/executor-1`); // an executor gone
      await waitUntil(() => woken.length === 3, 'the registry removal to wake', 10_000);
      // One session's watch events arrive in order: the ack's came first and woke nobody.
      expect(woken[2]).toBe(registry);
      await zk.create(`${queue}/e-2`, Buffer.from('event'));
      await waitUntil(() => woken.length === 4, 'a new event to wake', 10_000);
      expect(woken).toEqual([...woken.slice(0, 2), registry, queue]);
    } finally {
      stop();
      await zk.deleteRecursive('/wake-test');
    }
  });

  it('routes past a global event it cannot read, keeps it, and does not spin on it', async () => {
    const { zk } = w.world;
    const global = globalQueue();
    // Not an event: routing fails on it in every round until it is removed.
    const poison = await zk.create(`${global.entriesPath}/e-`, Buffer.from('{"not":"an event"}'), {
      mode: 'persistent_sequential',
    });
    for (let i = 0; i < 3; i++) await pushNowhere(`behind-${i}`);
    const before = scheduler.rounds;
    await w.manage({ type: 'dequeue', pipeline: 'cancel', buildsetId: 'none-after-poison' });
    await drained(cancelQueue(), 'a dequeue to be applied beside the unreadable global event');
    // A round per wake-up, not a busy loop re-reading the same batch.
    expect(scheduler.rounds - before).toBeLessThan(20);
    // The events behind it were routed; it is kept for a scheduler that can read it.
    await waitUntil(
      async () => (await global.ids()).length === 1,
      'the events behind the unreadable one to be routed',
      15_000,
    );
    expect(await global.ids()).toEqual([poison.slice(poison.lastIndexOf('/') + 1)]);
    await zk.delete(poison);
  });

  it('applies the events of a pipeline past one it cannot read, keeps it, and does not spin on it', async () => {
    const { zk } = w.world;
    const queue = cancelQueue();
    // Not an event: the pipeline's passes cannot decode it, now or later.
    const poison = await zk.create(`${queue.entriesPath}/e-`, Buffer.from('{"not":"an event"}'), {
      mode: 'persistent_sequential',
    });
    const before = scheduler.rounds;
    for (let i = 0; i < 5; i++)
      await w.manage({ type: 'dequeue', pipeline: 'cancel', buildsetId: `after-poison-${i}` });
    // Two per pass: the five behind it need three passes, each asking for the next.
    await waitUntil(
      async () => (await queue.ids()).length === 1,
      'the 5 dequeue events behind the unreadable one to be applied and acked',
      15_000,
    );
    expect(await queue.ids()).toEqual([poison.slice(poison.lastIndexOf('/') + 1)]);
    expect(scheduler.rounds - before).toBeLessThan(20);
    // Still the pipeline's: a later event is applied too.
    await w.manage({ type: 'dequeue', pipeline: 'cancel', buildsetId: 'after-poison-late' });
    await waitUntil(
      async () => (await queue.ids()).length === 1,
      'a later dequeue event to be applied past the unreadable one',
      15_000,
    );
    await zk.delete(poison);
  });
});
