/**
 * The stored buildset seen through the job graph's eyes, so the graph's
 * pure functions (ready set, skip propagation, critical path) apply to it.
 */
import type { FrozenGraph, JobState } from '../graph/index.js';
import type { Buildset } from '../model/buildset.js';

// A stored graph never changes after creation, so one view per jobs array is enough.
const views = new WeakMap<object, FrozenGraph>();

/** Selection records and freeze errors are left out: the walk needs only the edges. */
export function graphOf(bs: Buildset): FrozenGraph {
  const hit = views.get(bs.graph.jobs);
  if (hit !== undefined) return hit;
  const graph: FrozenGraph = {
    jobs: bs.graph.jobs.map(({ name, dependencies, droppedSoftDependencies }) => ({
      name,
      dependencies,
      droppedSoftDependencies,
    })),
    selection: [],
    errors: [],
  };
  views.set(bs.graph.jobs, graph);
  return graph;
}

/**
 * A copy of the buildset to change: everything is cloned except the graph,
 * which never changes after creation and is most of a buildset's bytes (a
 * pass that applies one result to a 200-job buildset spent most of its
 * clone on it). Sharing it also keeps graphOf's view for the copy.
 */
export function draftOf(bs: Buildset): Buildset {
  const { graph, ...progress } = bs;
  return { ...structuredClone(progress), graph };
}

export function statesOf(bs: Buildset): Map<string, JobState> {
  return new Map(bs.jobs.map((j) => [j.name, j.state]));
}
