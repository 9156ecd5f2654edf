/**
 * Derived lookups over a frozen graph (by name, reverse edges, topological
 * order), built once per graph object and cached, so each query stays O(V+E).
 */
import { findCycle } from './cycle.js';
import { GraphCycleError } from './errors.js';
import type { FrozenGraph, FrozenJob } from './freeze.js';

export interface GraphStructure {
  readonly byName: ReadonlyMap<string, FrozenJob>;
  /** For each job, the jobs that depend on it, in input order. */
  readonly dependents: ReadonlyMap<string, readonly string[]>;
  /** Every job after all of its dependencies; undefined when the graph has a cycle. */
  readonly order: readonly string[] | undefined;
}

// A FrozenGraph is immutable, so its derived structure can live as long as it does.
const cache = new WeakMap<FrozenGraph, GraphStructure>();

export function structureOf(graph: FrozenGraph): GraphStructure {
  const hit = cache.get(graph);
  if (hit !== undefined) return hit;
  const byName = new Map<string, FrozenJob>();
  const dependents = new Map<string, string[]>();
  for (const job of graph.jobs) {
    byName.set(job.name, job);
    dependents.set(job.name, []);
  }
  for (const job of graph.jobs) {
    for (const dep of job.dependencies) dependents.get(dep)?.push(job.name);
  }
  const built = { byName, dependents, order: topologicalOrder(graph.jobs, byName, dependents) };
  cache.set(graph, built);
  return built;
}

/** The topological order, or a GraphCycleError naming one cycle. */
export function orderOrThrow(graph: FrozenGraph): readonly string[] {
  const { order } = structureOf(graph);
  if (order !== undefined) return order;
  const edges = new Map(graph.jobs.map((j) => [j.name, j.dependencies] as const));
  throw new GraphCycleError(findCycle(edges) ?? []);
}

/** Kahn's algorithm; sources and dependents are taken in input order, so it is deterministic. */
function topologicalOrder(
  jobs: readonly FrozenJob[],
  byName: ReadonlyMap<string, FrozenJob>,
  dependents: ReadonlyMap<string, readonly string[]>,
): readonly string[] | undefined {
  const missing = new Map<string, number>();
  const queue: string[] = [];
  for (const job of jobs) {
    const count = job.dependencies.filter((d) => byName.has(d)).length;
    missing.set(job.name, count);
    if (count === 0) queue.push(job.name);
  }
  for (let head = 0; head < queue.length; head++) {
    for (const child of dependents.get(queue[head] as string) ?? []) {
      const left = (missing.get(child) ?? 0) - 1;
      missing.set(child, left);
      if (left === 0) queue.push(child);
    }
  }
  return queue.length === jobs.length ? queue : undefined;
}
