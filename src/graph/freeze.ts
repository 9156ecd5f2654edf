/**
 * Freezing: given every job of a pipeline and what the buildset was started
 * for, decide which jobs run and which dependency edges remain. The result is
 * plain, deeply frozen data (JSON-friendly apart from `errors`).
 */
import { findCycle } from './cycle.js';
import { DuplicateJobError, GraphCycleError, HardDependencyError } from './errors.js';
import type { FreezeError } from './errors.js';
import { FileMatchCache, selectJob } from './select.js';
import type { SelectionRecord } from './select.js';
import type { GraphJob, Selection } from './types.js';

export interface FrozenJob {
  readonly name: string;
  /**
   * Jobs that must succeed before this one starts: every hard dependency and
   * every soft dependency that was selected too. Declared order, no repeats.
   */
  readonly dependencies: readonly string[];
  /** Soft dependencies dropped because that job does not run in this buildset. */
  readonly droppedSoftDependencies: readonly string[];
}

export interface FrozenGraph {
  /** The selected jobs, in input order. */
  readonly jobs: readonly FrozenJob[];
  /** One record per input job, in input order, saying why it was or was not selected. */
  readonly selection: readonly SelectionRecord[];
  /** Buildset-level errors; when not empty the buildset must run no job. */
  readonly errors: readonly FreezeError[];
}

export function freezeGraph(jobs: readonly GraphJob[], selection: Selection): FrozenGraph {
  const defined = indexByName(jobs);
  const cache = selection.kind === 'files' ? new FileMatchCache(selection.files) : undefined;
  const records = jobs.map((job) => selectJob(job, selection, cache));
  const selected = new Set(records.filter((r) => r.selected).map((r) => r.job));
  const errors: FreezeError[] = [];
  const frozen: FrozenJob[] = [];
  for (const job of jobs) {
    if (!selected.has(job.name)) continue;
    frozen.push(freezeJob(job, selected, defined, errors));
  }
  const cycle = cycleAmong(frozen);
  if (cycle !== undefined) errors.push(new GraphCycleError(cycle));
  return deepFreeze({ jobs: frozen, selection: records, errors });
}

function indexByName(jobs: readonly GraphJob[]): ReadonlySet<string> {
  const names = new Set<string>();
  for (const job of jobs) {
    if (names.has(job.name)) throw new DuplicateJobError(job.name);
    names.add(job.name);
  }
  return names;
}

function freezeJob(
  job: GraphJob,
  selected: ReadonlySet<string>,
  defined: ReadonlySet<string>,
  errors: FreezeError[],
): FrozenJob {
  // A job may name the same dependency twice (variants merged by the loader);
  // if any mention is hard, the dependency is hard.
  const hard = new Set(job.dependencies.filter((d) => !d.soft).map((d) => d.name));
  const kept: string[] = [];
  const dropped: string[] = [];
  const seen = new Set<string>();
  for (const { name } of job.dependencies) {
    if (seen.has(name)) continue;
    seen.add(name);
    if (selected.has(name)) kept.push(name);
    else if (!hard.has(name)) dropped.push(name);
    else {
      const status = defined.has(name) ? 'not-selected' : 'not-defined';
      errors.push(new HardDependencyError(job.name, name, status));
    }
  }
  return { name: job.name, dependencies: kept, droppedSoftDependencies: dropped };
}

function cycleAmong(jobs: readonly FrozenJob[]): readonly string[] | undefined {
  const edges = new Map<string, readonly string[]>();
  for (const job of jobs) edges.set(job.name, job.dependencies);
  return findCycle(edges);
}

function deepFreeze(graph: FrozenGraph): FrozenGraph {
  for (const job of graph.jobs) {
    Object.freeze(job.dependencies);
    Object.freeze(job.droppedSoftDependencies);
    Object.freeze(job);
  }
  for (const record of graph.selection) {
    Object.freeze(record.reason);
    Object.freeze(record);
  }
  Object.freeze(graph.jobs);
  Object.freeze(graph.selection);
  Object.freeze(graph.errors);
  return Object.freeze(graph);
}
