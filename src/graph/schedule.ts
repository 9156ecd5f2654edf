/**
 * Shape of a frozen graph over time: the levels jobs can run in, and the
 * longest chain of durations, which bounds how soon a buildset can finish.
 */
import { InvalidDurationError } from './errors.js';
import type { FrozenGraph } from './freeze.js';
import { orderOrThrow, structureOf } from './structure.js';

/**
 * Level 0 holds jobs without dependencies; every other job sits one level
 * below its deepest dependency. Input order within a level. Throws
 * GraphCycleError on a cyclic graph.
 */
export function topologicalLevels(graph: FrozenGraph): string[][] {
  const order = orderOrThrow(graph);
  const { byName } = structureOf(graph);
  const levelOf = new Map<string, number>();
  for (const name of order) {
    const deps = byName.get(name)?.dependencies ?? [];
    const level = deps.reduce((max, dep) => Math.max(max, (levelOf.get(dep) ?? -1) + 1), 0);
    levelOf.set(name, level);
  }
  const levels: string[][] = [];
  for (const job of graph.jobs) {
    const level = levelOf.get(job.name) ?? 0;
    while (levels.length <= level) levels.push([]);
    levels[level]?.push(job.name);
  }
  return levels;
}

export interface CriticalPath {
  /** From a job without dependencies to the job that finishes last. */
  readonly path: string[];
  /** Sum of the durations along the path: the shortest possible buildset run. */
  readonly makespanMs: number;
}

/**
 * The chain of dependent jobs with the largest total duration. Ties go to the
 * dependency declared first and the job listed first. Throws GraphCycleError
 * on a cyclic graph, InvalidDurationError on a negative or non-finite duration.
 */
export function criticalPath(
  graph: FrozenGraph,
  durationMs: (job: string) => number,
): CriticalPath {
  const order = orderOrThrow(graph);
  const { byName } = structureOf(graph);
  const finish = new Map<string, number>();
  const via = new Map<string, string>();
  for (const name of order) {
    const own = durationMs(name);
    if (!Number.isFinite(own) || own < 0) throw new InvalidDurationError(name, own);
    let start = 0;
    let from: string | undefined;
    for (const dep of byName.get(name)?.dependencies ?? []) {
      const depFinish = finish.get(dep) ?? 0;
      if (from === undefined || depFinish > start) {
        from = dep;
        start = depFinish;
      }
    }
    if (from !== undefined) via.set(name, from);
    finish.set(name, start + own);
  }
  let last: string | undefined;
  for (const job of graph.jobs) {
    if (last === undefined || (finish.get(job.name) ?? 0) > (finish.get(last) ?? 0))
      last = job.name;
  }
  if (last === undefined) return { path: [], makespanMs: 0 };
  const path: string[] = [];
  for (let at: string | undefined = last; at !== undefined; at = via.get(at)) path.push(at);
  return { path: path.reverse(), makespanMs: finish.get(last) ?? 0 };
}

/**
 * Turns per-job durations in seconds (for example from the build history)
 * into the function criticalPath takes; jobs not listed get `defaultSeconds`.
 */
export function durationsFromSeconds(
  seconds: Readonly<Record<string, number>>,
  defaultSeconds: number,
): (job: string) => number {
  return (job) => 1000 * (Object.hasOwn(seconds, job) ? (seconds[job] as number) : defaultSeconds);
}
