/**
 * A pipeline's queue of buildsets and its manager's rules:
 * - serial: one buildset past `queued` at a time, in queue order;
 * - supercedent: per ref, one buildset past `queued` at a time, and a newer
 *   buildset replaces the older ones still queued for that ref (they end
 *   CANCELED "superseded by <id>" and stay listed, done, until removeDone);
 *   one already started is never replaced;
 * - independent: every buildset may start at once.
 * Every function is pure; replayed operations change nothing.
 */
import type { PipelineManager } from '../config/index.js';
import type { Buildset, PipelineState } from '../model/buildset.js';
import type { BuildsetAction } from './actions.js';
import { applyInput } from './buildset-machine.js';
import { MissingBuildsetError, WrongBuildsetError } from './errors.js';

export type BuildsetLookup = ReadonlyMap<string, Buildset>;

/** The new queue, the buildset records that changed (to write), and their actions. */
export interface QueueChange {
  readonly state: PipelineState;
  readonly changed: readonly Buildset[];
  readonly actions: readonly BuildsetAction[];
}

export function emptyPipelineState(pipeline: string): PipelineState {
  return { pipeline, queue: [] };
}

function recordOf(state: PipelineState, buildsets: BuildsetLookup, id: string): Buildset {
  const bs = buildsets.get(id);
  if (bs === undefined) throw new MissingBuildsetError(state.pipeline, id);
  return bs;
}

/** Appends a new buildset; under supercedent, cancels the older queued ones for its ref. */
export function enqueue(
  state: PipelineState,
  manager: PipelineManager,
  buildset: Buildset,
  buildsets: BuildsetLookup,
  now: number,
): QueueChange {
  if (buildset.pipeline !== state.pipeline)
    throw new WrongBuildsetError(state.pipeline, buildset.pipeline);
  if (state.queue.includes(buildset.id)) return { state, changed: [], actions: [] };
  const changed: Buildset[] = [];
  const actions: BuildsetAction[] = [];
  if (manager === 'supercedent') {
    for (const id of state.queue) {
      const older = recordOf(state, buildsets, id);
      if (older.state !== 'queued' || older.ref !== buildset.ref) continue;
      const t = applyInput(older, { type: 'cancel', reason: `superseded by ${buildset.id}` }, now);
      changed.push(t.buildset);
      actions.push(...t.actions);
    }
  }
  // Superseded buildsets stay in the queue, done, until removeDone moves them to history.
  return { state: { ...state, queue: [...state.queue, buildset.id] }, changed, actions };
}

/** The queued buildsets the manager lets start now, in queue order. */
export function startable(
  state: PipelineState,
  manager: PipelineManager,
  buildsets: BuildsetLookup,
): string[] {
  const records = state.queue.map((id) => recordOf(state, buildsets, id));
  const active = (bs: Buildset) => bs.state === 'checkout' || bs.state === 'running';
  if (manager === 'independent')
    return records.filter((b) => b.state === 'queued').map((b) => b.id);
  // serial: one lane for the pipeline; supercedent: one lane per ref.
  const laneOf = (bs: Buildset) => (manager === 'serial' ? '' : bs.ref);
  const busy = new Set(records.filter(active).map(laneOf));
  const picked: string[] = [];
  for (const bs of records) {
    if (bs.state !== 'queued' || busy.has(laneOf(bs))) continue;
    busy.add(laneOf(bs));
    picked.push(bs.id);
  }
  return picked;
}

/** Moves a queued buildset to the front; anything else (unknown, started, done) is left as is. */
export function promote(
  state: PipelineState,
  id: string,
  buildsets: BuildsetLookup,
): PipelineState {
  if (!state.queue.includes(id) || recordOf(state, buildsets, id).state !== 'queued') return state;
  if (state.queue[0] === id) return state;
  return { ...state, queue: [id, ...state.queue.filter((q) => q !== id)] };
}

/**
 * Cancels a buildset in any state but done. It stays in the queue, done,
 * until removeDone; an unknown or finished id changes nothing (replays).
 */
export function dequeue(
  state: PipelineState,
  id: string,
  reason: string,
  buildsets: BuildsetLookup,
  now: number,
): QueueChange {
  if (!state.queue.includes(id)) return { state, changed: [], actions: [] };
  const bs = recordOf(state, buildsets, id);
  const t = applyInput(bs, { type: 'cancel', reason }, now);
  if (t.buildset === bs) return { state, changed: [], actions: [] };
  return { state, changed: [t.buildset], actions: t.actions };
}

/**
 * Drops done buildsets from the queue; the caller moves `removed` to history.
 * `settled` narrows it to those whose final actions are known to be performed
 * (the shell passes "was already done when loaded"), so that a crash right
 * after the final write still finds them queued and reconciles them.
 */
export function removeDone(
  state: PipelineState,
  buildsets: BuildsetLookup,
  settled: (id: string) => boolean = () => true,
): { readonly state: PipelineState; readonly removed: readonly string[] } {
  const removed = state.queue.filter(
    (id) => recordOf(state, buildsets, id).state === 'done' && settled(id),
  );
  if (removed.length === 0) return { state, removed };
  return { state: { ...state, queue: state.queue.filter((id) => !removed.includes(id)) }, removed };
}
