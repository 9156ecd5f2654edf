import { describe, expect, it } from '@jest/globals';
import type { Buildset } from '../model/buildset.js';
import { applyInput } from './buildset-machine.js';
import { dispatchable, markAllDispatched, markDispatched, reconcile } from './dispatch.js';
import { NotDispatchableError } from './errors.js';
import { buildset, completion, job, running } from './test-fixtures.js';

describe('dispatchable', () => {
  it('lists nothing before the checkout succeeded', () => {
    const bs = buildset([job('a')]);
    expect(dispatchable(bs)).toEqual([]);
    expect(dispatchable(applyInput(bs, { type: 'start', requestId: 'co' }, 1).buildset)).toEqual(
      [],
    );
  });

  it('lists the ready jobs in graph order with the semaphores each needs', () => {
    const jobs = [job('a', [], { semaphores: ['db'] }), job('b', ['a']), job('c', ['~a'])];
    expect(dispatchable(running(buildset(jobs)))).toEqual([{ job: 'a', semaphores: ['db'] }]);
    const other = [job('x'), job('y', [], { semaphores: ['s1', 's2'] })];
    expect(dispatchable(running(buildset(other)))).toEqual([
      { job: 'x', semaphores: [] },
      { job: 'y', semaphores: ['s1', 's2'] },
    ]);
  });

  it('lists a child once its dependency succeeded, not before', () => {
    let bs = running(buildset([job('a'), job('b', ['a'])]));
    bs = markDispatched(bs, 'a', 'ra', 3000).buildset;
    expect(dispatchable(bs)).toEqual([]);
    bs = applyInput(bs, completion(bs, 'a', 'SUCCESS'), 3500).buildset;
    expect(dispatchable(bs)).toEqual([{ job: 'b', semaphores: [] }]);
  });
});

describe('markDispatched', () => {
  const jobs = [
    job('a', [], { semaphores: ['db'], timeoutMs: 60_000, vars: { v: 1 }, attempts: 2 }),
    job('b', ['a']),
  ];

  it('queues the job and asks for a build request with everything the executor needs', () => {
    const bs = running(buildset(jobs, { precedence: 'high' }));
    const t = markDispatched(bs, 'a', 'ra', 3000);
    expect(t.buildset.jobs[0]).toMatchObject({
      state: 'QUEUED',
      attempt: 1,
      requestBase: 'ra',
      requestId: 'ra',
      queuedAt: 3000,
      heldSemaphores: ['db'],
    });
    expect(t.actions).toEqual([
      {
        type: 'request-build',
        request: {
          id: 'ra',
          kind: 'job',
          pipeline: 'deploy',
          buildsetId: 'bs1',
          job: 'a',
          attempt: 1,
          ref: 'refs/heads/main',
          commit: bs.commit,
          playbook: 'playbooks/a.yaml',
          vars: { v: 1 },
          timeoutMs: 60_000,
          precedence: 'high',
          createdAt: 3000,
          state: 'requested',
          cancelRequested: false,
          executor: null,
          startedAt: null,
          outcome: null,
        },
      },
    ]);
    expect(bs.jobs[0]?.state).toBe('WAITING');
  });

  it('changes nothing when replayed with the same request id', () => {
    const t = markDispatched(running(buildset(jobs)), 'a', 'ra', 3000);
    const again = markDispatched(t.buildset, 'a', 'ra', 3001);
    expect(again.buildset).toBe(t.buildset);
    expect(again.actions).toEqual([]);
  });

  it('refuses a job whose dependency has not succeeded, an unknown job, a second id', () => {
    const bs = running(buildset(jobs));
    expect(() => markDispatched(bs, 'b', 'rb', 1)).toThrow(NotDispatchableError);
    expect(() => markDispatched(bs, 'zz', 'rz', 1)).toThrow(/zz cannot be dispatched \(unknown\)/);
    const queued = markDispatched(bs, 'a', 'ra', 1).buildset;
    expect(() => markDispatched(queued, 'a', 'other', 1)).toThrow(/\(QUEUED\)/);
  });

  it('refuses any job while the buildset is not running', () => {
    expect(() => markDispatched(buildset(jobs), 'a', 'ra', 1)).toThrow(/\(queued\)/);
  });
});

describe('reconcile', () => {
  it('repeats what the state implies: live requests, cancels, releases', () => {
    const jobs = [job('a', [], { semaphores: ['db'] }), job('b'), job('c', ['b'])];
    let bs = running(buildset(jobs));
    bs = markDispatched(bs, 'a', 'ra', 3000).buildset;
    bs = markDispatched(bs, 'b', 'rb', 3000).buildset;
    expect(reconcile(bs).map((a) => [a.type, 'request' in a ? a.request.id : a.job])).toEqual([
      ['request-build', 'ra'],
      ['request-build', 'rb'],
    ]);
    bs = applyInput(bs, completion(bs, 'a', 'SUCCESS'), 3100).buildset;
    bs = applyInput(bs, { type: 'cancel', reason: 'dequeued' }, 3200).buildset;
    expect(reconcile(bs)).toEqual([
      { type: 'release-semaphores', job: 'a', holder: 'ra', semaphores: ['db'] },
      { type: 'cancel-build', job: 'b', requestId: 'rb' },
    ]);
  });

  it('repeats the checkout request while it is queued', () => {
    const bs = applyInput(buildset([job('a')]), { type: 'start', requestId: 'co' }, 1).buildset;
    expect(reconcile(bs)).toEqual([
      { type: 'request-checkout', request: expect.objectContaining({ id: 'co' }) as unknown },
    ]);
  });
});

describe('markAllDispatched', () => {
  const fanout = () => running(buildset([job('a'), job('b'), job('c', ['a'])]));
  /** Marks `job=requestId` pairs at `now`. */
  const mark = (bs: Buildset, pairs: string, now = 1) =>
    markAllDispatched(
      bs,
      pairs
        .split(' ')
        .filter(Boolean)
        .map((p) => {
          const [job = '', requestId = ''] = p.split('=');
          return { job, requestId };
        }),
      now,
    );

  it('marks several ready jobs with one copy, as one call each would', () => {
    const bs = fanout();
    const t = mark(bs, 'a=ra b=rb', 3000);
    expect(t.buildset.jobs.map((j) => [j.name, j.state, j.requestId])).toEqual([
      ['a', 'QUEUED', 'ra'],
      ['b', 'QUEUED', 'rb'],
      ['c', 'WAITING', null],
    ]);
    expect(t.actions.map((a) => (a.type === 'request-build' ? a.request.id : a.type))).toEqual([
      'ra',
      'rb',
    ]);
    expect(bs.jobs.every((j) => j.state === 'WAITING')).toBe(true);
  });

  it('changes nothing for jobs already dispatched under the same ids, or for none', () => {
    const bs = mark(fanout(), 'a=ra').buildset;
    expect(mark(bs, 'a=ra', 2).buildset).toBe(bs);
    expect(mark(bs, '', 2)).toEqual({ buildset: bs, actions: [] });
  });

  it('refuses the whole batch when one job is not ready, or named twice with two ids', () => {
    const bs = fanout();
    expect(() => mark(bs, 'a=ra c=rc')).toThrow(/c cannot be dispatched \(WAITING\)/);
    expect(() => mark(bs, 'a=ra a=other')).toThrow(/a cannot be dispatched \(QUEUED\)/);
    expect(mark(bs, 'a=ra a=ra').actions).toHaveLength(1);
  });
});
