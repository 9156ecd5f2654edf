/**
 * Property-based tests on random DAGs: each job only points to earlier jobs
 * (plus the odd dependency on a job that does not exist), with random
 * hard/soft dependencies, file matchers and changed files.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { freezeGraph } from './freeze.js';
import type { FrozenGraph } from './freeze.js';
import { jobsToSkip, readyJobs } from './progress.js';
import { criticalPath, topologicalLevels } from './schedule.js';
import { isBlocking, isTerminal } from './state.js';
import type { GraphJob, JobState, Selection } from './types.js';

const PATTERNS = ['a/', 'b/', 'a/x', '.*\\.md$', 'docs/', 'c'];
const FILES = ['a/x.yaml', 'a/y.yaml', 'b/z', 'docs/i.md', 'README.md', 'c/d'];
const OUTCOMES: readonly JobState[] = [
  'SUCCESS',
  'SUCCESS',
  'SUCCESS',
  'FAILURE',
  'TIMED_OUT',
  'RETRY_LIMIT',
  'CANCELED',
  'ERROR',
  'SKIPPED',
];
/** What a build that was started can end in (SKIPPED only comes from propagation). */
const RUN_OUTCOMES = OUTCOMES.filter((s) => s !== 'SKIPPED');
const RUNS = { numRuns: 300 };

interface Case {
  readonly jobs: readonly GraphJob[];
  readonly selection: Selection;
}

const arbJob = (i: number): fc.Arbitrary<GraphJob> =>
  fc
    .record({
      deps: fc.array(fc.tuple(fc.nat(), fc.boolean()), { maxLength: 4 }),
      ghost: fc.oneof(
        { weight: 9, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.boolean() },
      ),
      files: fc.subarray(PATTERNS, { maxLength: 2 }),
      irrelevantFiles: fc.subarray(PATTERNS, { maxLength: 2 }),
    })
    .map(({ deps, ghost, files, irrelevantFiles }) => ({
      name: `j${i}`,
      dependencies: [
        ...(i === 0 ? [] : deps.map(([k, soft]) => ({ name: `j${k % i}`, soft }))),
        ...(ghost === null ? [] : [{ name: 'ghost', soft: ghost }]),
      ],
      files,
      irrelevantFiles,
    }));

const arbCase = (maxJobs: number): fc.Arbitrary<Case> =>
  fc.integer({ min: 0, max: maxJobs }).chain((n) =>
    fc.record({
      jobs: fc.tuple(...Array.from({ length: n }, (_, i) => arbJob(i))),
      selection: fc.oneof(
        fc.constant<Selection>({ kind: 'all' }),
        fc.subarray(FILES).map((files): Selection => ({ kind: 'files', files })),
      ),
    }),
  );

/**
 * The same case with every broken hard dependency turned soft, so the graph
 * freezes without errors and the run-time properties have jobs to work on.
 */
function repaired({ jobs, selection }: Case): Case {
  const broken = new Set(
    freezeGraph(jobs, selection).errors.map((e) => ('job' in e ? `${e.job}>${e.dependency}` : '')),
  );
  const fixed = jobs.map((j) => ({
    ...j,
    dependencies: j.dependencies.map((d) =>
      broken.has(`${j.name}>${d.name}`) ? { ...d, soft: true } : d,
    ),
  }));
  return { jobs: fixed, selection };
}

const arbCleanCase = (maxJobs: number): fc.Arbitrary<Case> => arbCase(maxJobs).map(repaired);

/** Independent oracle for Zuul's selection rule. */
function oracleSelected(job: GraphJob, selection: Selection): boolean {
  if (selection.kind === 'all' || selection.files.length === 0) return true;
  const match = (p: string, f: string) => new RegExp(`^(?:${p})`).test(f);
  const files = selection.files;
  const anyFile = job.files.length === 0 || files.some((f) => job.files.some((p) => match(p, f)));
  const allIrrelevant =
    job.irrelevantFiles.length > 0 &&
    files.every((f) => job.irrelevantFiles.some((p) => match(p, f)));
  return anyFile && !allIrrelevant;
}

function depsOf(graph: FrozenGraph): Map<string, readonly string[]> {
  return new Map(graph.jobs.map((j) => [j.name, j.dependencies]));
}

/** Shortest distance from each blocked ancestor of `job` (walking dependencies upwards). */
function blockedAncestorDistance(
  graph: FrozenGraph,
  states: ReadonlyMap<string, JobState>,
  job: string,
): Map<string, number> {
  const deps = depsOf(graph);
  const dist = new Map<string, number>([[job, 0]]);
  const found = new Map<string, number>();
  const queue = [job];
  for (let h = 0; h < queue.length; h++) {
    const at = queue[h]!;
    for (const d of deps.get(at) ?? []) {
      if (dist.has(d)) continue;
      dist.set(d, dist.get(at)! + 1);
      const s = states.get(d) ?? 'WAITING';
      if (isBlocking(s)) found.set(d, dist.get(d)!);
      else queue.push(d);
    }
  }
  return found;
}

/**
 * Runs the graph to the end: start one ready job at a time, give it an
 * outcome from `picks`, apply the skips; checks the invariants at each step.
 */
function simulate(g: FrozenGraph, picks: readonly number[]): void {
  const states = new Map<string, JobState>();
  const deps = depsOf(g);
  for (let step = 0; ; step++) {
    const ready = readyJobs(g, states);
    if (ready.length === 0) break;
    for (const job of ready) {
      expect(states.get(job) ?? 'WAITING').toBe('WAITING');
      for (const d of deps.get(job)!) expect(states.get(d)).toBe('SUCCESS');
    }
    const pick = picks[step % picks.length]! + step;
    states.set(ready[pick % ready.length]!, RUN_OUTCOMES[pick % RUN_OUTCOMES.length]!);
    for (const skip of jobsToSkip(g, states)) {
      expect(states.get(skip.job) ?? 'WAITING').toBe('WAITING');
      states.set(skip.job, 'SKIPPED');
    }
  }
  for (const job of g.jobs) {
    const s = states.get(job.name) ?? 'WAITING';
    // Liveness: nothing is left waiting forever.
    expect(isTerminal(s)).toBe(true);
    // A job ran only if every dependency succeeded; it was skipped only if one did not.
    const depStates = job.dependencies.map((d) => states.get(d));
    if (s === 'SKIPPED') expect(depStates.some((d) => d !== 'SUCCESS')).toBe(true);
    else expect(depStates.every((d) => d === 'SUCCESS')).toBe(true);
  }
}

/** States a real run could produce: only jobs whose dependencies all succeeded have moved. */
function consistentStates(graph: FrozenGraph, picks: readonly number[]): Map<string, JobState> {
  const states = new Map<string, JobState>();
  const moves: readonly JobState[] = ['WAITING', 'QUEUED', 'RUNNING', 'RETRY', ...OUTCOMES];
  graph.jobs.forEach((job, i) => {
    if (!job.dependencies.every((d) => states.get(d) === 'SUCCESS')) return;
    const s = moves[(picks[i] ?? 0) % moves.length]!;
    if (s !== 'WAITING') states.set(job.name, s);
  });
  return states;
}

describe('graph properties', () => {
  it('freeze selects by Zuul rules and never keeps an edge to an unselected job', () => {
    fc.assert(
      fc.property(arbCase(20), ({ jobs, selection }) => {
        const g = freezeGraph(jobs, selection);
        const selected = new Set(g.jobs.map((j) => j.name));
        expect(g.selection.map((r) => r.job)).toEqual(jobs.map((j) => j.name));
        for (const [i, record] of g.selection.entries()) {
          const job = jobs[i]!;
          expect(record.selected).toBe(oracleSelected(job, selection));
          expect(record.selected).toBe(selected.has(job.name));
          if (record.reason.kind === 'file-matched') {
            expect(job.files).toContain(record.reason.pattern);
            expect(selection.kind === 'files' && selection.files).toContain(record.reason.file);
          }
        }
        const errorKeys = new Set(
          g.errors.map((e) => ('job' in e ? `${e.job}>${e.dependency}` : '')),
        );
        for (const frozen of g.jobs) {
          const source = jobs.find((j) => j.name === frozen.name)!;
          for (const dep of frozen.dependencies) expect(selected.has(dep)).toBe(true);
          for (const dep of frozen.droppedSoftDependencies) expect(selected.has(dep)).toBe(false);
          for (const { name, soft } of source.dependencies) {
            const hard = !soft || source.dependencies.some((d) => d.name === name && !d.soft);
            if (selected.has(name)) expect(frozen.dependencies).toContain(name);
            else if (hard) expect(errorKeys.has(`${frozen.name}>${name}`)).toBe(true);
            else expect(frozen.droppedSoftDependencies).toContain(name);
          }
        }
        // Only broken hard dependencies are errors: these graphs are acyclic.
        expect(g.errors.every((e) => e.code === 'DRAWBRIDGE_ERR_GRAPH_HARD_DEPENDENCY')).toBe(true);
      }),
      RUNS,
    );
  });

  it('a simulated run only starts jobs whose dependencies succeeded, and always finishes', () => {
    fc.assert(
      fc.property(
        arbCleanCase(20),
        fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
        (c, picks) => {
          const g = freezeGraph(c.jobs, c.selection);
          expect(g.errors).toEqual([]);
          simulate(g, picks);
        },
      ),
      RUNS,
    );
  });

  it('a graph with freeze errors starts nothing', () => {
    fc.assert(
      fc.property(arbCase(20), (c) => {
        const g = freezeGraph(c.jobs, c.selection);
        fc.pre(g.errors.length > 0);
        expect(readyJobs(g, new Map())).toEqual([]);
      }),
      RUNS,
    );
  });

  it('skip reaches exactly the waiting descendants of blocked jobs, naming the nearest', () => {
    fc.assert(
      fc.property(
        arbCleanCase(20),
        fc.array(fc.nat(), { minLength: 20, maxLength: 20 }),
        (c, picks) => {
          const g = freezeGraph(c.jobs, c.selection);
          const states = consistentStates(g, picks);
          const decisions = jobsToSkip(g, states);
          const expected = g.jobs
            .filter((j) => (states.get(j.name) ?? 'WAITING') === 'WAITING')
            .filter((j) => blockedAncestorDistance(g, states, j.name).size > 0)
            .map((j) => j.name);
          expect(decisions.map((d) => d.job).sort()).toEqual([...expected].sort());
          for (const d of decisions) {
            const found = blockedAncestorDistance(g, states, d.job);
            const nearest = Math.min(...found.values());
            expect(found.get(d.cause)).toBe(nearest);
            expect(states.get(d.cause)).toBe(d.causeState);
            expect(d.reason.startsWith(`skipped: ${d.cause} `)).toBe(true);
          }
        },
      ),
      RUNS,
    );
  });

  it('topological levels respect every edge and are as shallow as possible', () => {
    fc.assert(
      fc.property(arbCleanCase(25), (c) => {
        const g = freezeGraph(c.jobs, c.selection);
        const levels = topologicalLevels(g);
        const levelOf = new Map<string, number>();
        levels.forEach((names, l) => names.forEach((n) => levelOf.set(n, l)));
        expect(levelOf.size).toBe(g.jobs.length);
        expect(levels.flat()).toHaveLength(g.jobs.length);
        for (const job of g.jobs) {
          const l = levelOf.get(job.name)!;
          for (const d of job.dependencies) expect(levelOf.get(d)!).toBeLessThan(l);
          const deepest = Math.max(-1, ...job.dependencies.map((d) => levelOf.get(d)!));
          expect(l).toBe(deepest + 1);
        }
      }),
      RUNS,
    );
  });

  it('the critical path is a real chain whose makespan is the longest of all chains', () => {
    fc.assert(
      fc.property(
        arbCleanCase(12),
        fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 12, maxLength: 12 }),
        (c, durations) => {
          const g = freezeGraph(c.jobs, c.selection);
          const dur = (job: string) => durations[Number(job.slice(1)) % durations.length]!;
          const { path, makespanMs } = criticalPath(g, dur);
          const deps = depsOf(g);
          if (g.jobs.length === 0) {
            expect(path).toEqual([]);
            return;
          }
          expect(deps.get(path[0]!)).toEqual([]);
          for (let i = 1; i < path.length; i++) expect(deps.get(path[i]!)).toContain(path[i - 1]);
          expect(makespanMs).toBe(path.reduce((sum, j) => sum + dur(j), 0));
          const all = g.jobs.map((j) => dur(j.name));
          expect(makespanMs).toBeGreaterThanOrEqual(Math.max(...all));
          expect(makespanMs).toBeLessThanOrEqual(all.reduce((a, b) => a + b, 0));
          expect(makespanMs).toBe(longestChainBruteForce(deps, dur));
        },
      ),
      RUNS,
    );
  });
});

/** Enumerates every chain ending at every job (fine for a dozen jobs). */
function longestChainBruteForce(
  deps: ReadonlyMap<string, readonly string[]>,
  dur: (job: string) => number,
): number {
  const chains = (job: string): number[] => {
    const parents = deps.get(job) ?? [];
    if (parents.length === 0) return [dur(job)];
    return parents.flatMap((p) => chains(p).map((t) => t + dur(job)));
  };
  return Math.max(0, ...[...deps.keys()].flatMap(chains));
}
