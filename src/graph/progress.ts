/**
 * Walking a buildset forward: which jobs may start now, and which waiting
 * jobs can never run because an ancestor ended badly. A job absent from the
 * state map counts as WAITING.
 */
import type { FrozenGraph } from './freeze.js';
import { isBlocking, skipReason } from './state.js';
import type { BlockingState } from './state.js';
import { structureOf } from './structure.js';
import type { JobState } from './types.js';

/**
 * WAITING jobs whose every remaining dependency is SUCCESS, in input order.
 * A graph with freeze errors runs nothing, so it has no ready jobs.
 */
export function readyJobs(graph: FrozenGraph, states: ReadonlyMap<string, JobState>): string[] {
  if (graph.errors.length > 0) return [];
  const stateOf = (job: string): JobState => states.get(job) ?? 'WAITING';
  return graph.jobs
    .filter((job) => stateOf(job.name) === 'WAITING')
    .filter((job) => job.dependencies.every((dep) => stateOf(dep) === 'SUCCESS'))
    .map((job) => job.name);
}

export interface SkipDecision {
  readonly job: string;
  /** The nearest ancestor whose own final state caused the skip. */
  readonly cause: string;
  readonly causeState: BlockingState;
  /** `skipped: infra-prod-base failed` */
  readonly reason: string;
}

/**
 * The WAITING jobs that must become SKIPPED: every descendant of a job in a
 * blocking state (failed, timed out, skipped, retry limit, canceled, error),
 * reached through jobs that are themselves skipped now. Each names the nearest
 * such ancestor; ties go to the ancestor listed first in the graph. The
 * result is in breadth-first order from those ancestors (nearest first).
 */
export function jobsToSkip(
  graph: FrozenGraph,
  states: ReadonlyMap<string, JobState>,
): SkipDecision[] {
  const { dependents } = structureOf(graph);
  const stateOf = (job: string): JobState => states.get(job) ?? 'WAITING';
  const causeOf = new Map<string, { cause: string; causeState: BlockingState }>();
  const queue: string[] = [];
  for (const job of graph.jobs) {
    const state = stateOf(job.name);
    if (!isBlocking(state)) continue;
    causeOf.set(job.name, { cause: job.name, causeState: state });
    queue.push(job.name);
  }
  const seeds = queue.length;
  // Breadth-first from all blocked jobs at once: the first visit of a job
  // comes through its nearest blocked ancestor.
  for (let head = 0; head < queue.length; head++) {
    const parent = queue[head] as string;
    const cause = causeOf.get(parent);
    if (cause === undefined) continue;
    for (const child of dependents.get(parent) ?? []) {
      if (causeOf.has(child) || stateOf(child) !== 'WAITING') continue;
      causeOf.set(child, cause);
      queue.push(child);
    }
  }
  return queue.slice(seeds).map((job) => {
    const { cause, causeState } = causeOf.get(job) ?? { cause: job, causeState: 'SKIPPED' };
    return { job, cause, causeState, reason: skipReason(cause, causeState) };
  });
}
