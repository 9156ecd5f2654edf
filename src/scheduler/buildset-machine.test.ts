import { describe, expect, it } from '@jest/globals';
import type { Buildset } from '../model/buildset.js';
import { applyInput, applyInputs, type BuildsetInput } from './buildset-machine.js';
import { markAllDispatched } from './dispatch.js';
import type { Transition } from './actions.js';
import { WrongBuildsetError } from './errors.js';
import {
  buildset,
  completion,
  dispatchAll,
  job,
  outcome,
  running,
  stateOf,
} from './test-fixtures.js';

/** Applies an input and checks that applying it again changes nothing. */
function apply(bs: Buildset, input: BuildsetInput, now = 5000) {
  const t = applyInput(bs, input, now);
  const again = applyInput(t.buildset, input, now + 1);
  expect(again.buildset).toBe(t.buildset);
  expect(again.actions).toEqual([]);
  return t;
}

const types = (actions: readonly { type: string }[]) => actions.map((a) => a.type);

describe('start and the checkout step', () => {
  it('start requests the checkout at attempt 1 with the given id', () => {
    const bs = buildset([job('base')]);
    const t = apply(bs, { type: 'start', requestId: 'co' }, 2000);
    expect(t.buildset.state).toBe('checkout');
    expect(t.buildset.startedAt).toBe(2000);
    expect(t.buildset.checkout).toMatchObject({ state: 'QUEUED', attempt: 1, requestId: 'co' });
    expect(t.actions).toEqual([
      {
        type: 'request-checkout',
        request: expect.objectContaining({
          id: 'co',
          kind: 'checkout',
          job: 'checkout',
          attempt: 1,
          buildsetId: 'bs1',
          pipeline: 'deploy',
          commit: bs.commit,
          ref: bs.ref,
          createdAt: 2000,
          state: 'requested',
        }) as unknown,
      },
    ]);
    expect(bs.state).toBe('queued'); // the input record is untouched
  });

  it('a second start with another id changes nothing', () => {
    const bs = apply(buildset([job('base')]), { type: 'start', requestId: 'co' }).buildset;
    expect(applyInput(bs, { type: 'start', requestId: 'other' }, 9).buildset).toBe(bs);
  });

  it('a successful checkout makes the buildset running', () => {
    const bs = apply(buildset([job('base')]), { type: 'start', requestId: 'co' }).buildset;
    const t = apply(bs, completion(bs, 'checkout', 'SUCCESS'));
    expect(t.buildset.state).toBe('running');
    expect(t.buildset.checkout.state).toBe('SUCCESS');
    expect(t.actions).toEqual([]);
  });

  it('build-started moves a queued step to RUNNING with its start time', () => {
    const bs = apply(buildset([job('base')]), { type: 'start', requestId: 'co' }).buildset;
    const t = apply(bs, { type: 'build-started', requestId: 'co', at: 2500 });
    expect(t.buildset.checkout).toMatchObject({ state: 'RUNNING', startedAt: 2500 });
  });

  it('retries a retryable checkout failure up to 3 attempts, then fails the buildset', () => {
    let bs = apply(buildset([job('a'), job('b', ['a'])]), {
      type: 'start',
      requestId: 'co',
    }).buildset;
    const lostSsh = outcome('ERROR', { retryable: true, reason: 'ssh connection lost' });
    for (const attempt of [2, 3]) {
      const t = apply(bs, completion(bs, 'checkout', lostSsh));
      expect(t.buildset.checkout).toMatchObject({
        state: 'QUEUED',
        attempt,
        requestId: `co.${attempt}`,
      });
      expect(t.actions).toEqual([
        {
          type: 'request-checkout',
          request: expect.objectContaining({ id: `co.${attempt}`, attempt }) as unknown,
        },
      ]);
      bs = t.buildset;
    }
    const t = apply(bs, completion(bs, 'checkout', lostSsh), 7000);
    expect(t.buildset.state).toBe('done');
    expect(t.buildset.result).toBe('ERROR');
    expect(t.buildset.message).toBe(
      'checkout failed: ssh connection lost (no attempts left after 3)',
    );
    expect(t.buildset.checkout.state).toBe('RETRY_LIMIT');
    expect(t.buildset.jobs.map((j) => [j.state, j.reason])).toEqual([
      ['SKIPPED', `skipped: ${t.buildset.message}`],
      ['SKIPPED', `skipped: ${t.buildset.message}`],
    ]);
    expect(types(t.actions)).toEqual(['release-semaphores', 'release-semaphores']);
  });

  it('fails the buildset at once on a checkout failure that is not retryable', () => {
    const bs = apply(buildset([job('a')]), { type: 'start', requestId: 'co' }).buildset;
    const failed = outcome('FAILURE', { reason: 'unknown revision' });
    const t = apply(bs, completion(bs, 'checkout', failed));
    expect(t.buildset.result).toBe('ERROR');
    expect(t.buildset.message).toBe('checkout failed: unknown revision');
    expect(t.buildset.checkout).toMatchObject({ state: 'FAILURE', attempt: 1 });
  });

  it('treats a lost checkout as retryable', () => {
    const bs = apply(buildset([job('a')]), { type: 'start', requestId: 'co' }).buildset;
    const t = apply(bs, { type: 'lost', requestId: 'co' });
    expect(t.buildset.checkout).toMatchObject({ state: 'QUEUED', attempt: 2, requestId: 'co.2' });
    expect(t.buildset.checkout.lastOutcome).toMatchObject({ result: 'LOST', attempt: 1 });
  });
});

describe('job results', () => {
  const oneJob = () => dispatchAll(running(buildset([job('a', [], { attempts: 2 })])));

  it.each([
    ['SUCCESS', 'SUCCESS', 'SUCCESS'],
    ['FAILURE', 'FAILURE', 'FAILURE'],
    ['TIMED_OUT', 'TIMED_OUT', 'FAILURE'],
    ['CANCELED', 'CANCELED', 'FAILURE'],
    ['ERROR', 'ERROR', 'FAILURE'],
  ] as const)('%s makes the job %s and the buildset %s', (result, jobState, bsResult) => {
    const bs = oneJob();
    const t = apply(bs, completion(bs, 'a', result), 9000);
    expect(stateOf(t.buildset, 'a')).toBe(jobState);
    expect(t.buildset.jobs[0]).toMatchObject({ endedAt: 9000, startedAt: 1100 });
    expect(t.buildset.jobs[0]?.lastOutcome).toMatchObject({ result, attempt: 1 });
    expect(t.buildset).toMatchObject({ state: 'done', result: bsResult, endedAt: 9000 });
    if (bsResult === 'FAILURE') expect(t.buildset.message).toBe(`failed: a (${jobState})`);
    expect(types(t.actions)).toEqual(['release-semaphores']);
  });

  it.each([
    ['ABORTED', false],
    ['LOST', false],
    ['ERROR', true],
  ] as const)(
    'retries %s (retryable flag %s) until the job has no attempts left',
    (result, flag) => {
      let bs = oneJob();
      const o = outcome(result, { retryable: flag, reason: 'executor stopped' });
      const t1 = apply(bs, completion(bs, 'a', o));
      expect(t1.buildset.jobs[0]).toMatchObject({
        state: 'QUEUED',
        attempt: 2,
        requestId: 'req-a.2',
        reason: 'attempt 2 of 2 after: executor stopped',
        startedAt: null,
      });
      expect(t1.actions).toEqual([
        {
          type: 'request-build',
          request: expect.objectContaining({
            id: 'req-a.2',
            attempt: 2,
            job: 'a',
            kind: 'job',
          }) as unknown,
        },
      ]);
      bs = t1.buildset;
      const t2 = apply(bs, completion(bs, 'a', o));
      expect(t2.buildset.jobs[0]).toMatchObject({
        state: 'RETRY_LIMIT',
        attempt: 2,
        reason: 'executor stopped (no attempts left after 2)',
      });
      expect(t2.buildset.result).toBe('FAILURE');
    },
  );

  it('keeps semaphores across a retry and releases them once the job is final', () => {
    let bs = dispatchAll(running(buildset([job('a', [], { semaphores: ['db', 'dns'] })])));
    expect(bs.jobs[0]?.heldSemaphores).toEqual(['db', 'dns']);
    const t1 = apply(bs, { type: 'lost', requestId: 'req-a' });
    expect(t1.buildset.jobs[0]?.heldSemaphores).toEqual(['db', 'dns']);
    expect(types(t1.actions)).toEqual(['request-build']);
    bs = t1.buildset;
    const t2 = apply(bs, completion(bs, 'a', 'SUCCESS'));
    expect(t2.actions).toEqual([
      { type: 'release-semaphores', job: 'a', holder: 'req-a', semaphores: ['db', 'dns'] },
    ]);
    expect(t2.buildset.jobs[0]?.heldSemaphores).toEqual([]);
  });

  it('a lost build uses the time it started, and says why', () => {
    let bs = oneJob();
    bs = apply(bs, { type: 'build-started', requestId: 'req-a', at: 3300 }).buildset;
    const t = apply(bs, { type: 'lost', requestId: 'req-a' }, 4000);
    expect(t.buildset.jobs[0]?.lastOutcome).toMatchObject({
      result: 'LOST',
      retryable: true,
      startedAt: 3300,
      endedAt: 4000,
    });
  });

  it('skips every dependent of a failed job, naming the nearest cause', () => {
    const jobs = [job('base'), job('web', ['base']), job('lb', ['web']), job('dns')];
    let bs = dispatchAll(running(buildset(jobs)));
    const t = apply(bs, completion(bs, 'base', 'FAILURE'));
    bs = t.buildset;
    expect(bs.jobs.map((j) => [j.name, j.state, j.reason])).toEqual([
      ['base', 'FAILURE', 'failure happened'],
      ['web', 'SKIPPED', 'skipped: base failed'],
      ['lb', 'SKIPPED', 'skipped: base failed'],
      ['dns', 'QUEUED', null],
    ]);
    expect(types(t.actions)).toEqual([
      'release-semaphores',
      'release-semaphores',
      'release-semaphores',
    ]);
    expect(bs.state).toBe('running');
    const end = apply(bs, completion(bs, 'dns', 'SUCCESS'));
    expect(end.buildset.result).toBe('FAILURE');
    expect(end.buildset.message).toBe('failed: base (FAILURE); 2 skipped');
  });

  it('ends SUCCESS only when every job succeeded', () => {
    let bs = dispatchAll(running(buildset([job('a'), job('b', ['a'])])));
    bs = apply(bs, completion(bs, 'a', 'SUCCESS')).buildset;
    expect(bs.state).toBe('running');
    bs = dispatchAll(bs);
    bs = apply(bs, completion(bs, 'b', 'SUCCESS')).buildset;
    expect(bs).toMatchObject({ state: 'done', result: 'SUCCESS', message: null });
  });
});

describe('stale and foreign inputs', () => {
  it('ignore a completion for an older attempt', () => {
    let bs = dispatchAll(running(buildset([job('a')])));
    const first = completion(bs, 'a', outcome('ABORTED'));
    bs = apply(bs, first).buildset;
    const stale = { ...first, outcome: outcome('SUCCESS') };
    expect(applyInput(bs, stale, 1).buildset).toBe(bs);
  });

  it('ignore unknown request ids, a job that was never requested, and finished steps', () => {
    const bs0 = dispatchAll(running(buildset([job('a'), job('b', ['a'])])));
    const unknown = { ...completion(bs0, 'a', 'SUCCESS'), requestId: 'nope' };
    expect(applyInput(bs0, unknown, 1).buildset).toBe(bs0);
    expect(applyInput(bs0, { type: 'lost', requestId: 'req-b' }, 1).buildset).toBe(bs0);
    expect(applyInput(bs0, { type: 'build-started', requestId: 'co', at: 1 }, 1).buildset).toBe(
      bs0,
    );
    const done = applyInput(bs0, completion(bs0, 'a', 'FAILURE'), 1).buildset;
    expect(applyInput(done, { type: 'lost', requestId: 'req-a' }, 2).buildset).toBe(done);
  });

  it('ignore a completion whose attempt does not match its request', () => {
    const bs = dispatchAll(running(buildset([job('a')])));
    const odd = { ...completion(bs, 'a', 'SUCCESS'), attempt: 2 };
    expect(applyInput(bs, odd, 1).buildset).toBe(bs);
  });

  it('refuse a completion for another buildset', () => {
    const bs = dispatchAll(running(buildset([job('a')])));
    const other = { ...completion(bs, 'a', 'SUCCESS'), buildsetId: 'bs2' };
    expect(() => applyInput(bs, other, 1)).toThrow(WrongBuildsetError);
  });
});

describe('cancel', () => {
  const cancel = { type: 'cancel', reason: 'dequeued by alice' } as const;

  it('ends a queued buildset: every job and the checkout CANCELED, no builds to stop', () => {
    const t = apply(buildset([job('a'), job('b', ['a'])]), cancel, 4000);
    expect(t.buildset).toMatchObject({
      state: 'done',
      result: 'CANCELED',
      message: 'dequeued by alice',
    });
    expect(t.buildset.checkout.state).toBe('CANCELED');
    expect(t.buildset.jobs.map((j) => [j.state, j.reason, j.endedAt])).toEqual([
      ['CANCELED', 'dequeued by alice', 4000],
      ['CANCELED', 'dequeued by alice', 4000],
    ]);
    expect(types(t.actions)).toEqual(['release-semaphores', 'release-semaphores']);
  });

  it('stops the checkout request of a buildset that is checking out', () => {
    const bs = apply(buildset([job('a')]), { type: 'start', requestId: 'co' }).buildset;
    const t = apply(bs, cancel);
    expect(t.actions[0]).toEqual({ type: 'cancel-build', job: 'checkout', requestId: 'co' });
    expect(t.buildset.result).toBe('CANCELED');
  });

  it('stops queued and running builds, cancels waiting jobs, keeps finished ones', () => {
    const jobs = [job('a'), job('b', [], { semaphores: ['db'] }), job('c'), job('d', ['c'])];
    let bs = dispatchAll(running(buildset(jobs)));
    bs = apply(bs, { type: 'build-started', requestId: 'req-b', at: 3100 }).buildset;
    bs = apply(bs, completion(bs, 'a', 'SUCCESS')).buildset;
    const t = apply(bs, cancel);
    expect(t.buildset.jobs.map((j) => [j.name, j.state])).toEqual([
      ['a', 'SUCCESS'],
      ['b', 'CANCELED'],
      ['c', 'CANCELED'],
      ['d', 'CANCELED'],
    ]);
    expect(t.actions).toEqual([
      { type: 'cancel-build', job: 'b', requestId: 'req-b' },
      { type: 'release-semaphores', job: 'b', holder: 'req-b', semaphores: ['db'] },
      { type: 'cancel-build', job: 'c', requestId: 'req-c' },
      { type: 'release-semaphores', job: 'c', holder: 'req-c', semaphores: [] },
      { type: 'release-semaphores', job: 'd', holder: null, semaphores: [] },
    ]);
    // The executors' CANCELED reports arrive afterwards and change nothing.
    const late = completion(bs, 'b', 'CANCELED');
    expect(applyInput(t.buildset, late, 1).buildset).toBe(t.buildset);
  });

  it('changes nothing on a finished buildset', () => {
    let bs = dispatchAll(running(buildset([job('a')])));
    bs = apply(bs, completion(bs, 'a', 'SUCCESS')).buildset;
    expect(applyInput(bs, cancel, 1).buildset).toBe(bs);
  });
});

describe('applyInputs', () => {
  it('applies several new inputs as one call each would, with one copy', () => {
    const dispatched = markAllDispatched(
      running(buildset([job('a'), job('b'), job('c', ['a'])])),
      [
        { job: 'a', requestId: 'ra' },
        { job: 'b', requestId: 'rb' },
      ],
      1000,
    ).buildset;
    const inputs: BuildsetInput[] = [
      { type: 'build-started', requestId: 'ra', at: 1100 },
      { type: 'build-started', requestId: 'rb', at: 1200 },
      completion(dispatched, 'a', 'SUCCESS'),
      completion(dispatched, 'b', 'FAILURE'),
      { type: 'build-started', requestId: 'ra', at: 1300 },
    ];
    let one: Transition = { buildset: dispatched, actions: [] };
    const actions: unknown[] = [];
    for (const input of inputs) {
      one = applyInput(one.buildset, input, 2000);
      actions.push(...one.actions);
    }
    const batch = applyInputs(dispatched, inputs, 2000);
    expect(batch.buildset).toEqual(one.buildset);
    expect(batch.actions).toEqual(actions);
    expect(batch.buildset.jobs.map((j) => j.state)).toEqual(['SUCCESS', 'FAILURE', 'WAITING']);
    expect(dispatched.jobs.map((j) => j.state)).toEqual(['QUEUED', 'QUEUED', 'WAITING']);
  });

  it('leaves its input as it was and shares the graph, which nothing changes, with the result', () => {
    const dispatched = dispatchAll(running(buildset([job('a'), job('b', ['a'])])));
    const before = structuredClone(dispatched);
    const t = applyInputs(dispatched, [completion(dispatched, 'a', 'FAILURE')], 2000);
    expect(t.buildset.jobs.map((j) => j.state)).toEqual(['FAILURE', 'SKIPPED']);
    expect(dispatched).toEqual(before);
    expect(t.buildset.graph).toBe(dispatched.graph);
    const ready = running(buildset([job('c')]));
    const readyBefore = structuredClone(ready);
    const marked = markAllDispatched(ready, [{ job: 'c', requestId: 'rc' }], 1);
    expect(marked.buildset.jobs[0]?.state).toBe('QUEUED');
    expect(ready).toEqual(readyBefore);
    expect(marked.buildset.graph).toBe(ready.graph);
  });

  it('returns the buildset itself when no input changes it, and refuses a foreign result', () => {
    const bs = running(buildset([job('a')]));
    const stale = { type: 'build-started', requestId: 'nobody', at: 1 } as const;
    expect(applyInputs(bs, [stale, stale], 2)).toEqual({ buildset: bs, actions: [] });
    expect(applyInputs(bs, [stale, stale], 2).buildset).toBe(bs);
    const foreign = { ...completion(bs, 'checkout', 'SUCCESS'), buildsetId: 'other' };
    expect(() => applyInputs(bs, [stale, foreign], 2)).toThrow(WrongBuildsetError);
  });
});
