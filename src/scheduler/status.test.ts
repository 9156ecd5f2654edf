import { describe, expect, it } from '@jest/globals';
import type { PipelineManager } from '../config/index.js';
import type { Buildset } from '../model/buildset.js';
import { applyInput } from './buildset-machine.js';
import { countStates, pipelineStatus } from './status.js';
import { buildset, completion, dispatchAll, job, running } from './test-fixtures.js';

const EXPECTED: Record<string, number> = { a: 10_000, b: 20_000, c: 5_000 };
const jobs = () => [job('a'), job('b', ['a']), job('c')];

/** a running since 3000, c queued, b waiting on a. */
function inFlight(id = 'b1'): Buildset {
  const bs = dispatchAll(running(buildset(jobs(), { id })), 3000);
  return applyInput(bs, { type: 'build-started', requestId: 'req-a', at: 3000 }, 3000).buildset;
}

function status(records: Buildset[], manager: PipelineManager = 'serial', now = 8000) {
  return pipelineStatus({
    state: { pipeline: 'deploy', queue: records.map((b) => b.id) },
    manager,
    buildsets: new Map(records.map((b) => [b.id, b])),
    now,
    expectedMs: (name) => EXPECTED[name] ?? 0,
    expectedCheckoutMs: 1000,
  });
}

describe('pipelineStatus', () => {
  it('estimates the end from the critical path of the remaining work', () => {
    const s = status([inFlight()]);
    expect(s).toMatchObject({ pipeline: 'deploy', manager: 'serial', generatedAt: 8000 });
    const bs = s.buildsets[0]!;
    // a has 5 s left, then b's 20 s; c (5 s) runs beside them; the checkout is done.
    expect(bs.remainingMs).toBe(25_000);
    expect(bs.criticalPath).toEqual(['a', 'b']);
    expect(bs.estimatedStartAt).toBeNull();
    expect(bs.estimatedEndAt).toBe(33_000);
    expect(bs.progress).toEqual({
      total: 3,
      waiting: 1,
      queued: 1,
      running: 1,
      succeeded: 0,
      failed: 0,
      skipped: 0,
      finished: 0,
    });
    expect(bs.jobs.map((j) => [j.name, j.state, j.expectedMs, j.remainingMs])).toEqual([
      ['a', 'RUNNING', 10_000, 5_000],
      ['b', 'WAITING', 20_000, 20_000],
      ['c', 'QUEUED', 5_000, 5_000],
    ]);
    expect(bs.jobs[1]).toMatchObject({ dependencies: ['a'], attempts: 3, semaphores: [] });
    expect(bs.checkout).toMatchObject({ state: 'SUCCESS', remainingMs: 0, lastResult: 'SUCCESS' });
  });

  it('counts a running job that overran its expected time as nearly done', () => {
    const bs = status([inFlight()], 'serial', 50_000).buildsets[0]!;
    expect(bs.jobs[0]?.remainingMs).toBe(0);
    expect(bs.remainingMs).toBe(20_000);
  });

  it('serial: a queued buildset starts when the one ahead is expected to end', () => {
    const s = status([buildset(jobs(), { id: 'b2' }), inFlight('b1')]);
    expect(s.buildsets.map((b) => b.id)).toEqual(['b2', 'b1']);
    const [queued, first] = s.buildsets;
    expect(queued).toMatchObject({ position: 0, state: 'queued', remainingMs: 31_000 });
    expect(queued?.estimatedStartAt).toBe(first?.estimatedEndAt);
    expect(queued?.estimatedEndAt).toBe(33_000 + 31_000);
  });

  it('independent: a queued buildset is expected to start now', () => {
    const s = status([inFlight('b1'), buildset(jobs(), { id: 'b2' })], 'independent');
    expect(s.buildsets[1]).toMatchObject({ estimatedStartAt: 8000, estimatedEndAt: 39_000 });
  });

  it('supercedent: lanes are per ref', () => {
    const stable = buildset(jobs(), { id: 's1', ref: 'refs/heads/stable' });
    const s = status([inFlight('b1'), stable], 'supercedent');
    expect(s.buildsets[1]?.estimatedStartAt).toBe(8000);
  });

  it('a finished buildset has nothing left and ends when it ended', () => {
    let bs = inFlight();
    bs = applyInput(bs, completion(bs, 'a', 'FAILURE'), 9000).buildset;
    bs = applyInput(bs, completion(bs, 'c', 'SUCCESS'), 9500).buildset;
    const s = status([bs], 'serial', 12_000).buildsets[0]!;
    expect(s).toMatchObject({
      state: 'done',
      result: 'FAILURE',
      remainingMs: 0,
      estimatedEndAt: 9500,
    });
    expect(s.jobs[1]).toMatchObject({
      state: 'SKIPPED',
      reason: 'skipped: a failed',
      remainingMs: 0,
    });
    expect(s.progress).toMatchObject({ succeeded: 1, failed: 1, skipped: 1, finished: 3 });
  });

  it('treats a corrupt expected duration as zero instead of failing', () => {
    const s = pipelineStatus({
      state: { pipeline: 'deploy', queue: ['b1'] },
      manager: 'serial',
      buildsets: new Map([['b1', inFlight()]]),
      now: 8000,
      expectedMs: (name) => (name === 'b' ? Number.NaN : -5),
      expectedCheckoutMs: Number.POSITIVE_INFINITY,
    });
    expect(s.buildsets[0]?.remainingMs).toBe(0);
  });

  it('is plain JSON', () => {
    const s = status([inFlight('b1'), buildset(jobs(), { id: 'b2' })]);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});

describe('countStates', () => {
  it('counts every state into one bucket', () => {
    const c = countStates([
      'WAITING',
      'QUEUED',
      'RUNNING',
      'SUCCESS',
      'FAILURE',
      'RETRY_LIMIT',
      'SKIPPED',
    ]);
    expect(c).toEqual({
      total: 7,
      waiting: 1,
      queued: 1,
      running: 1,
      succeeded: 1,
      failed: 2,
      skipped: 1,
      finished: 4,
    });
  });
});
