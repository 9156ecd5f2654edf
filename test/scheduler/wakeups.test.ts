/**
 * Acks wake nobody (src/scheduler/runtime/wakeups.ts), so a backlog larger
 * than one pass's batch must be worked off by the scheduler asking for more
 * rounds itself, not by the safety tick: here the tick is a minute away.
 */
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { ZkEventQueue } from '../../src/zk/queue.js';
import { managementEventCodec, triggerEventCodec } from '../../src/model/index.js';
import { createSchedulerWorld, waitUntil, type SchedulerWorld } from './support.js';

describe('scheduler wake-ups: backlogs beyond one batch', () => {
  let w: SchedulerWorld;

  beforeAll(async () => {
    w = await createSchedulerWorld('wakeups');
    await w.startScheduler({ safetyIntervalMs: 60_000, eventsPerPass: 2 });
  }, 60_000);

  afterAll(async () => {
    await w?.dispose();
  });

  it('applies every management event of a pipeline, two per pass', async () => {
    const { zk, paths } = w.world;
    for (let i = 0; i < 7; i++)
      await w.manage({ type: 'dequeue', pipeline: 'cancel', buildsetId: `none-${i}` });
    const queue = new ZkEventQueue(
      zk,
      paths.pipelineManagementEvents('cancel'),
      managementEventCodec,
    );
    await waitUntil(
      async () => (await queue.ids()).length === 0,
      'the 7 dequeue events to be applied and acked without a safety tick',
      15_000,
    );
  });

  it('routes every global trigger event, two per round', async () => {
    const { zk, paths } = w.world;
    for (let i = 0; i < 5; i++)
      await w.trigger({
        type: 'ref-updated',
        id: `nowhere-${i}`,
        ref: 'refs/heads/nowhere',
        oldCommit: null,
        newCommit: w.sha,
        changedFiles: null,
        source: 'poll',
        detail: 'test',
        receivedAt: Date.now(),
      });
    const queue = new ZkEventQueue(zk, paths.triggerEvents(), triggerEventCodec);
    await waitUntil(
      async () => (await queue.ids()).length === 0,
      'the 5 trigger events to be routed without a safety tick',
      15_000,
    );
  });
});
