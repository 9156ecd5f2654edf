/**
 * The scheduler's side of the history: after a pass, the buildsets that
 * finished are written to the store before their ZooKeeper records may be
 * pruned. A store that fails never fails the pass: the ids are kept (their
 * records are not pruned), a warning is logged once per outage, and the
 * next pass of that pipeline tries again after a growing pause.
 */
import type { Logger } from 'pino';
import { toError } from '../errors.js';
import type { Buildset } from '../model/index.js';
import { historyEntryOf } from './from-buildset.js';
import type { HistoryStore } from './types.js';

/** What one pipeline pass hands over. */
export interface FinishedBuildsets {
  readonly pipeline: string;
  /** Ids that left the queue in this pass. */
  readonly finished: readonly string[];
  /** True after a takeover or a restart: look for finished records a crash left unwritten. */
  readonly catchUp: boolean;
  /** Ids of every finished record still in ZooKeeper. */
  listDone(): Promise<string[]>;
  read(id: string): Promise<Buildset | null>;
}

/** What the scheduler needs: resolves with the ids whose records must be kept. Never throws. */
export interface FinishedBuildsetSink {
  record(batch: FinishedBuildsets): Promise<readonly string[]>;
}

export interface RecorderOptions {
  readonly now?: () => number;
  /** Pause after the first failure; doubled on each further one up to `maxBackoffMs`. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** A write that takes longer counts as failed (its transaction still ends on its own). */
  readonly writeTimeoutMs?: number;
}

export class HistoryRecorder implements FinishedBuildsetSink {
  readonly #store: HistoryStore;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #writeTimeoutMs: number;
  /** Per pipeline, ids that failed to be written. */
  readonly #pending = new Map<string, Set<string>>();
  #retryAt = 0;
  #delay = 0;
  #written = 0;
  #failures = 0;

  constructor(store: HistoryStore, logger: Logger, options: RecorderOptions = {}) {
    this.#store = store;
    this.#log = logger.child({ component: 'history' });
    this.#now = options.now ?? Date.now;
    this.#backoffMs = options.backoffMs ?? 1_000;
    this.#maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.#writeTimeoutMs = options.writeTimeoutMs ?? 10_000;
  }

  /** Buildsets written so far, and writes that failed (for metrics and tests). */
  get stats(): { written: number; failures: number; pending: number; down: boolean } {
    let pending = 0;
    for (const ids of this.#pending.values()) pending += ids.size;
    return { written: this.#written, failures: this.#failures, pending, down: this.#delay > 0 };
  }

  async record(batch: FinishedBuildsets): Promise<readonly string[]> {
    const pending = this.#pendingOf(batch.pipeline);
    for (const id of batch.finished) pending.add(id);
    if (this.#now() < this.#retryAt) return [...pending];
    try {
      if (batch.catchUp) {
        const done = await batch.listDone();
        for (const id of await this.#bounded(this.#store.missing(done))) pending.add(id);
      }
      for (const id of [...pending]) {
        const bs = await batch.read(id);
        // A record that is gone (pruned by hand) or not finished has nothing to write.
        if (bs !== null && bs.state === 'done') {
          await this.#bounded(this.#store.put(historyEntryOf(bs)));
          this.#written += 1;
        }
        pending.delete(id);
      }
      this.#recovered();
    } catch (e) {
      this.#failed(e, batch.pipeline, pending.size);
    }
    return [...pending];
  }

  #pendingOf(pipeline: string): Set<string> {
    let ids = this.#pending.get(pipeline);
    if (ids === undefined) {
      ids = new Set();
      this.#pending.set(pipeline, ids);
    }
    return ids;
  }

  #recovered(): void {
    if (this.#delay === 0) return;
    this.#delay = 0;
    this.#retryAt = 0;
    this.#log.info('history database reachable again; finished buildsets are recorded');
  }

  #failed(e: unknown, pipeline: string, unwritten: number): void {
    this.#failures += 1;
    const first = this.#delay === 0;
    this.#delay = first ? this.#backoffMs : Math.min(this.#delay * 2, this.#maxBackoffMs);
    this.#retryAt = this.#now() + this.#delay;
    const fields = { err: toError(e), pipeline, unwritten, retryInMs: this.#delay };
    // Warn once per outage; deployments go on and the records stay in ZooKeeper meanwhile.
    if (first)
      this.#log.warn(fields, 'cannot write the history; finished buildsets kept in ZooKeeper');
    else this.#log.debug(fields, 'history still unavailable');
  }

  async #bounded<T>(op: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`history write took over ${this.#writeTimeoutMs} ms`)),
        this.#writeTimeoutMs,
      );
    });
    try {
      return await Promise.race([op, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
