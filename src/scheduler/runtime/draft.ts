/**
 * One pass's working copy of a pipeline: the queue, the buildset records,
 * which of them changed, and the actions the core asked for. The pass
 * mutates this in memory only; the store writes it in one transaction.
 */
import type { Buildset, PipelineState } from '../../model/index.js';
import type { BuildsetAction, QueueChange, Transition } from '../index.js';

export class PassDraft {
  readonly changed = new Set<string>();
  readonly actions: BuildsetAction[] = [];
  /** Requests whose completion was applied: deleted once the new state is stored. */
  readonly finishedRequests: string[] = [];
  /** Semaphores taken in this pass, to give back if the write fails. */
  readonly taken: {
    readonly buildsetId: string;
    readonly holder: string;
    readonly semaphores: readonly string[];
  }[] = [];
  #queueChanged = false;

  constructor(
    public state: PipelineState,
    readonly records: Map<string, Buildset>,
  ) {}

  get dirty(): boolean {
    return this.#queueChanged || this.changed.size > 0;
  }

  /** Takes a transition of one buildset; an unchanged record is not marked. */
  take(before: Buildset, t: Transition): void {
    this.actions.push(...t.actions);
    if (t.buildset === before) return;
    this.records.set(t.buildset.id, t.buildset);
    this.changed.add(t.buildset.id);
  }

  /** Takes a queue operation of the core. */
  takeQueue(change: QueueChange): void {
    this.setState(change.state);
    for (const bs of change.changed) {
      this.records.set(bs.id, bs);
      this.changed.add(bs.id);
    }
    this.actions.push(...change.actions);
  }

  setState(state: PipelineState): void {
    if (state === this.state) return;
    this.state = state;
    this.#queueChanged = true;
  }

  /** Adds a record created in this pass. */
  add(bs: Buildset): void {
    this.records.set(bs.id, bs);
    this.changed.add(bs.id);
  }
}
