/**
 * Properties of the buildset machine over random DAGs and random event
 * sequences. A small simulated shell plays executors and semaphores: it
 * dispatches ready jobs whose semaphores are free (max 1 each), delivers
 * completions, starts, lost builds and cancels in random order, and replays
 * old events. Every action the core returns is checked against the rules.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isBlocking, isTerminal } from '../graph/index.js';
import type { BuildOutcome, BuildRequest } from '../model/build.js';
import { buildsetCodec, type Buildset } from '../model/buildset.js';
import type { BuildsetAction, Transition } from './actions.js';
import { applyInput, applyInputs, type BuildsetInput } from './buildset-machine.js';
import { dispatchable, markAllDispatched, markDispatched, reconcile } from './dispatch.js';
import { pipelineStatus } from './status.js';
import { buildset, job, outcome } from './test-fixtures.js';

const SEMAPHORES = ['s1', 's2'];
/** The pipeline's own semaphore, held by the buildset from start to end. */
const PIPELINE_SEMAPHORE = 'p';
/** The key `releases` counts the buildset's own releases under. */
const BUILDSET = '(buildset)';
const OUTCOMES: readonly BuildOutcome[] = [
  outcome('SUCCESS'),
  outcome('SUCCESS'),
  outcome('SUCCESS'),
  outcome('SUCCESS'),
  outcome('FAILURE'),
  outcome('TIMED_OUT'),
  outcome('ERROR'),
  outcome('ERROR', { retryable: true }),
  outcome('ABORTED'),
  outcome('LOST'),
  outcome('CANCELED'),
];

interface Spec {
  readonly deps: number[];
  readonly attempts: number;
  readonly semaphores: string[];
}

const arbSpecs = fc.array(
  fc.record({
    deps: fc.array(fc.nat(), { maxLength: 3 }),
    attempts: fc.integer({ min: 1, max: 3 }),
    semaphores: fc.subarray(SEMAPHORES),
  }),
  { minLength: 1, maxLength: 7 },
);

const arbBuildset = fc.record({ specs: arbSpecs, pipelineSemaphore: fc.boolean() });

const arbSteps = fc.array(fc.record({ op: fc.nat(99), pick: fc.nat(), res: fc.nat() }), {
  maxLength: 80,
});

type Step = { op: number; pick: number; res: number };

function toBuildset(specs: readonly Spec[], pipelineSemaphore = false): Buildset {
  const jobs = specs.map((s, i) => {
    // Only earlier jobs, so the graph is acyclic; every other one soft.
    const deps = [...new Set(s.deps.filter(() => i > 0).map((d) => d % i))];
    return job(
      `j${i}`,
      deps.map((d, k) => (k % 2 === 1 ? `~j${d}` : `j${d}`)),
      { attempts: s.attempts, semaphores: s.semaphores },
    );
  });
  return buildset(jobs, { semaphores: pipelineSemaphore ? [PIPELINE_SEMAPHORE] : [] });
}

/** The simulated shell, with the bookkeeping the properties need. */
class Sim {
  now = 10_000;
  ids = 0;
  readonly outstanding = new Map<string, { job: string; attempt: number }>();
  readonly delivered: BuildsetInput[] = [];
  readonly holders = new Map<string, string>();
  readonly requested = new Set<string>();
  readonly releases = new Map<string, number>();
  readonly issued = new Map<string, BuildRequest>();

  constructor(public bs: Buildset) {}

  apply(input: BuildsetInput): void {
    this.now += 10;
    // The shell takes the pipeline's semaphores before it applies a start.
    if (input.type === 'start' && this.bs.state === 'queued')
      for (const s of this.bs.semaphores) {
        expect(this.holders.has(s)).toBe(false);
        this.holders.set(s, this.bs.id);
      }
    const t = applyInput(this.bs, input, this.now);
    // Idempotence: the same input again changes nothing.
    const again = applyInput(t.buildset, input, this.now + 5);
    expect(again.buildset).toBe(t.buildset);
    expect(again.actions).toEqual([]);
    this.expectBatchLikeOneByOne(input);
    this.delivered.push(input);
    this.take(t);
  }

  /** applyInputs over [input, an earlier input] is the two applied one after the other. */
  private expectBatchLikeOneByOne(input: BuildsetInput): void {
    const earlier = this.delivered[this.delivered.length - 1];
    const inputs = earlier === undefined ? [input] : [input, earlier];
    const first = applyInput(this.bs, input, this.now);
    const second =
      earlier === undefined
        ? { buildset: first.buildset, actions: [] }
        : applyInput(first.buildset, earlier, this.now);
    const batch = applyInputs(this.bs, inputs, this.now);
    expect(batch.buildset).toEqual(second.buildset);
    expect(batch.actions).toEqual([...first.actions, ...second.actions]);
    if (second.buildset === this.bs) expect(batch.buildset).toBe(this.bs);
  }

  replay(k: number): void {
    const input = this.delivered[k % this.delivered.length];
    if (input === undefined) return;
    const t = applyInput(this.bs, input, this.now);
    expect(t.buildset).toBe(this.bs);
    expect(t.actions).toEqual([]);
  }

  dispatch(k: number): void {
    const free = dispatchable(this.bs).filter((c) =>
      c.semaphores.every((s) => !this.holders.has(s)),
    );
    this.expectAllLikeOneByOne();
    const chosen = free[k % Math.max(1, free.length)];
    if (chosen === undefined) return;
    const id = `r${this.ids++}`;
    for (const s of chosen.semaphores) this.holders.set(s, id);
    const t = markDispatched(this.bs, chosen.job, id, this.now);
    expect(markDispatched(t.buildset, chosen.job, id, this.now).buildset).toBe(t.buildset);
    this.take(t);
  }

  /** Marking every ready job at once is marking them one after the other (not taken). */
  private expectAllLikeOneByOne(): void {
    const all = dispatchable(this.bs).map((c, i) => ({ job: c.job, requestId: `all${i}` }));
    let one: Transition = { buildset: this.bs, actions: [] };
    const actions: BuildsetAction[] = [];
    for (const { job, requestId } of all) {
      one = markDispatched(one.buildset, job, requestId, this.now);
      actions.push(...one.actions);
    }
    const batch = markAllDispatched(this.bs, all, this.now);
    expect(batch.buildset).toEqual(one.buildset);
    expect(batch.actions).toEqual(actions);
  }

  pickRequest(k: number): [string, { job: string; attempt: number }] | undefined {
    const live = [...this.outstanding];
    return live[k % Math.max(1, live.length)];
  }

  complete(k: number, res: number): void {
    const picked = this.pickRequest(k);
    if (picked === undefined) return;
    const [requestId, { job: name, attempt }] = picked;
    this.outstanding.delete(requestId);
    const o = OUTCOMES[res % OUTCOMES.length] ?? outcome('SUCCESS');
    const event = {
      type: 'build-completed',
      requestId,
      buildsetId: this.bs.id,
      job: name,
      attempt,
    };
    this.apply({ ...event, outcome: o } as BuildsetInput);
  }

  private take(t: Transition): void {
    this.bs = t.buildset;
    for (const a of t.actions) this.check(a);
    this.checkDerived();
  }

  /**
   * Every record is valid to store; reconcile repeats exactly the requests
   * issued, and releases the buildset's own semaphores exactly when it is
   * done and held them; the status adds up.
   */
  private checkDerived(): void {
    expect(buildsetCodec.decode(buildsetCodec.encode(this.bs))).toEqual(this.bs);
    const again = reconcile(this.bs);
    for (const a of again) {
      if (a.type === 'request-build' || a.type === 'request-checkout')
        expect(a.request).toEqual(this.issued.get(a.request.id));
    }
    const ownRelease = again.some((a) => a.type === 'release-semaphores' && a.job === null);
    const heldOwn = this.bs.semaphores.length > 0 && this.bs.startedAt !== null;
    expect(ownRelease).toBe(this.bs.state === 'done' && heldOwn);
    const status = pipelineStatus({
      state: { pipeline: this.bs.pipeline, queue: [this.bs.id] },
      manager: 'serial',
      buildsets: new Map([[this.bs.id, this.bs]]),
      now: this.now,
      expectedMs: (name) => name.length * 1000,
      expectedCheckoutMs: 500,
    }).buildsets[0]!;
    const p = status.progress;
    expect(p.waiting + p.queued + p.running + p.finished).toBe(p.total);
    expect(p.succeeded + p.failed + p.skipped).toBe(p.finished);
    expect(status.remainingMs).toBeGreaterThanOrEqual(0);
    if (this.bs.state === 'done') expect(status.remainingMs).toBe(0);
  }

  private check(a: BuildsetAction): void {
    if (a.type === 'request-checkout' || a.type === 'request-build')
      this.issued.set(a.request.id, a.request);
    if (a.type === 'request-checkout') {
      this.outstanding.set(a.request.id, { job: 'checkout', attempt: a.request.attempt });
    } else if (a.type === 'request-build') {
      const r = a.request;
      const key = `${r.job}#${r.attempt}`;
      expect(this.requested.has(key)).toBe(false);
      this.requested.add(key);
      const frozen = this.bs.graph.jobs.find((j) => j.name === r.job)!;
      expect(r.attempt).toBeLessThanOrEqual(frozen.attempts);
      for (const dep of frozen.dependencies)
        expect(this.bs.jobs.find((j) => j.name === dep)?.state).toBe('SUCCESS');
      expect(this.outstanding.has(r.id)).toBe(false);
      this.outstanding.set(r.id, { job: r.job, attempt: r.attempt });
    } else if (a.type === 'release-semaphores') {
      const key = a.job ?? BUILDSET;
      this.releases.set(key, (this.releases.get(key) ?? 0) + 1);
      for (const s of a.semaphores) {
        expect(this.holders.get(s)).toBe(a.holder);
        this.holders.delete(s);
      }
    }
  }

  /** Runs everything to the end: dispatch what can run, complete what was requested. */
  drain(seed: number | null): void {
    if (this.bs.state === 'queued') this.apply({ type: 'start', requestId: `co${this.ids++}` });
    for (let round = 0; round < 200 && this.bs.state !== 'done'; round++) {
      for (let i = 0; i < this.bs.jobs.length; i++) this.dispatch(0);
      // Late rounds succeed, so retries cannot keep it going forever.
      this.complete(0, seed !== null && round < 20 ? seed + round : 0);
    }
  }
}

function checkEnd(sim: Sim): void {
  const bs = sim.bs;
  expect(bs.state).toBe('done');
  const started = bs.startedAt !== null;
  expect(sim.releases.get(BUILDSET) ?? 0).toBe(started && bs.semaphores.length > 0 ? 1 : 0);
  expect(isTerminal(bs.checkout.state)).toBe(true);
  expect(sim.holders.size).toBe(0);
  for (const j of bs.jobs) {
    expect(isTerminal(j.state)).toBe(true);
    expect(j.heldSemaphores).toEqual([]);
    expect(sim.releases.get(j.name)).toBe(1);
    const frozen = bs.graph.jobs.find((f) => f.name === j.name)!;
    expect(j.attempt).toBeLessThanOrEqual(frozen.attempts);
  }
  if (bs.result === 'SUCCESS' || bs.result === 'FAILURE') {
    const stateOf = (n: string) => bs.jobs.find((j) => j.name === n)!.state;
    for (const f of bs.graph.jobs) {
      const blocked = f.dependencies.some((d) => isBlocking(stateOf(d)));
      expect([f.name, stateOf(f.name) === 'SKIPPED']).toEqual([f.name, blocked]);
    }
    expect(bs.result === 'SUCCESS').toBe(bs.jobs.every((j) => j.state === 'SUCCESS'));
  }
}

function run(
  { specs, pipelineSemaphore }: { specs: readonly Spec[]; pipelineSemaphore: boolean },
  steps: readonly Step[],
  seed: number,
): Sim {
  const sim = new Sim(toBuildset(specs, pipelineSemaphore));
  for (const { op, pick, res } of steps) {
    if (op < 25) sim.dispatch(pick);
    else if (op < 60) sim.complete(pick, res);
    else if (op < 68) {
      const r = sim.pickRequest(pick);
      if (r) sim.apply({ type: 'build-started', requestId: r[0], at: sim.now });
    } else if (op < 76) {
      const r = sim.pickRequest(pick);
      if (r) {
        sim.outstanding.delete(r[0]);
        sim.apply({ type: 'lost', requestId: r[0] });
      }
    } else if (op < 92) sim.replay(pick);
    else if (op < 94) sim.apply({ type: 'cancel', reason: 'dequeued' });
    else sim.apply({ type: 'start', requestId: `co${sim.ids++}` });
  }
  sim.drain(seed);
  return sim;
}

describe('buildset machine properties', () => {
  it('holds every rule over random graphs and event sequences', () => {
    fc.assert(
      fc.property(arbBuildset, arbSteps, fc.nat(), (input, steps, seed) => {
        checkEnd(run(input, steps, seed));
      }),
      { numRuns: 300 },
    );
  });

  it('ends SUCCESS, having run every job once, when every build succeeds', () => {
    fc.assert(
      fc.property(arbSpecs, (specs) => {
        const sim = new Sim(toBuildset(specs));
        sim.drain(null);
        expect(sim.bs.result).toBe('SUCCESS');
        expect(sim.requested.size).toBe(specs.length);
      }),
      { numRuns: 100 },
    );
  });

  it('reaches every kind of ending (the generator is not degenerate)', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(arbBuildset, arbSteps, fc.nat(), (input, steps, seed) => {
        seen.add(String(run(input, steps, seed).bs.result));
      }),
      { numRuns: 200, seed: 42 },
    );
    expect([...seen].sort()).toEqual(['CANCELED', 'ERROR', 'FAILURE', 'SUCCESS']);
  });
});
