/**
 * A scheduler that died after writing a pipeline's state but before creating
 * the requests it implied: the next scheduler to take the pipeline's lock
 * reconciles, creates them, and the buildset runs to its end.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pipelineJobs } from '../../src/config/index.js';
import { buildsetCodec, pipelineStateCodec } from '../../src/model/index.js';
import { applyInput, createBuildset } from '../../src/scheduler/index.js';
import { checkoutRequestId, readStatus } from '../../src/scheduler/runtime/index.js';
import { ZkDocument } from '../../src/zk/document.js';
import { createSchedulerWorld, waitUntil, type SchedulerWorld } from './support.js';

describe('scheduler taking over a pipeline', () => {
  let w: SchedulerWorld;

  beforeAll(async () => {
    w = await createSchedulerWorld('takeover');
    await w.world.startExecutor({ slots: 2 });
  }, 60_000);

  afterAll(async () => {
    await w?.dispose();
  });

  it('performs the actions a dead scheduler left undone', async () => {
    const { zk, paths } = w.world;
    const created = createBuildset({
      id: 'orphan-1',
      pipeline: 'selective',
      ref: 'refs/heads/release',
      commit: w.sha,
      oldCommit: null,
      trigger: { kind: 'manual', detail: 'written by a scheduler that then died' },
      changedFiles: ['b/x'],
      layoutVersion: 'test-layout',
      precedence: 'normal',
      jobs: pipelineJobs(w.layout, 'selective'),
      now: Date.now(),
    });
    if (created.kind !== 'created') throw new Error('expected a buildset');
    const started = applyInput(
      created.buildset,
      { type: 'start', requestId: checkoutRequestId('orphan-1') },
      Date.now(),
    );
    expect(started.actions.map((a) => a.type)).toEqual(['request-checkout']);
    // What the dead scheduler stored: the queue and the buildset in checkout, no request.
    await new ZkDocument(zk, paths.buildset('selective', 'orphan-1'), buildsetCodec).create(
      started.buildset,
    );
    await new ZkDocument(zk, paths.pipelineState('selective'), pipelineStateCodec).create({
      pipeline: 'selective',
      queue: ['orphan-1'],
    });
    expect(await w.requests()).toEqual([]);

    await w.startScheduler();
    const bs = await w.finished('selective', 'orphan-1');
    expect(bs.result).toBe('SUCCESS');
    expect(bs.jobs.map((j) => [j.name, j.state])).toEqual([
      ['s-b', 'SUCCESS'],
      ['s-c', 'SUCCESS'],
    ]);
    expect(bs.checkout.attempt).toBe(1);
    await waitUntil(async () => (await w.requests()).length === 0, 'every request to be removed');
    await waitUntil(
      async () => (await readStatus(zk, paths, 'selective'))?.buildsets.length === 0,
      'the status to show the finished buildset gone from the queue',
    );
  });
});
