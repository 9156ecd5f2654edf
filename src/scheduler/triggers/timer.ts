/**
 * TimerTrigger: fires the `timer` triggers of a layout. Every scheduler may
 * run one; for each (pipeline, slot) exactly one of them puts the event,
 * because claiming a slot is one create-if-absent transaction (slot-claim.ts).
 *
 * initializing → running → stopping → stopped
 */
import type { Logger } from 'pino';
import type { Layout } from '../../config/index.js';
import { IllegalStateError, toError } from '../../errors.js';
import { type TimerEvent, type TriggerEvent, triggerEventCodec } from '../../model/events.js';
import type { ZkClient } from '../../zk/client.js';
import type { ZkPaths } from '../../zk/paths.js';
import { ZkEventQueue } from '../../zk/queue.js';
import { TriggerOptionError } from './errors.js';
import { branchRef } from './names.js';
import { type ClaimOutcome, claimSlot } from './slot-claim.js';
import {
  type Firing,
  nextDueFiring,
  slotsToPrune,
  type TimerSpec,
  timerSpecs,
} from './timer-plan.js';
import { pruneSlots } from './slot-prune.js';
import { untilAborted } from './abort.js';

export type TimerTriggerState = 'initializing' | 'running' | 'stopping' | 'stopped';

export interface TimerTriggerOptions {
  /** The branch whose head a timer buildset deploys (`repository.branch`). */
  readonly branch: string;
  /** Head commit of a full ref, e.g. over the scheduler's local clone. Must honour `signal`. */
  readonly resolveHead: (ref: string, signal: AbortSignal) => Promise<string>;
  /** Recorded in each slot node it claims (the scheduler's registry id, say). */
  readonly schedulerId: string;
  /** A slot due longer ago than this is missed, not fired late. Default 60 000 ms. */
  readonly lateToleranceMs?: number;
  /** Slot nodes kept per pipeline, newest first. Default 5. */
  readonly keepSlots?: number;
  /** Slot nodes younger than this are never pruned. Default 600 000 ms. */
  readonly retainSlotsMs?: number;
}

export interface TimerTriggerDeps {
  readonly zk: ZkClient;
  readonly paths: ZkPaths;
  readonly logger: Logger;
  /** Epoch ms; Date.now by default. */
  readonly now?: () => number;
}

/** What one scheduler saw of one firing: it put the event, another had, or it failed. */
export interface TimerFiring extends Firing {
  readonly outcome: ClaimOutcome | 'failed';
  readonly event?: TimerEvent;
  readonly error?: Error;
}

interface Armed {
  readonly spec: TimerSpec;
  firing: Firing;
  timer: NodeJS.Timeout | undefined;
}

// setTimeout cannot wait longer than 2^31-1 ms; longer waits are re-armed.
const MAX_DELAY_MS = 2 ** 31 - 1;
const SHA = /^[0-9a-f]{40}$/;

export class TimerTrigger {
  readonly ref: string;
  readonly #opts: Required<Omit<TimerTriggerOptions, 'branch'>>;
  readonly #zk: ZkClient;
  readonly #paths: ZkPaths;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #queue: ZkEventQueue<TriggerEvent>;
  readonly #abort = new AbortController();
  readonly #armed = new Map<string, Armed>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #listeners = new Set<(f: TimerFiring) => void>();
  #specs: TimerSpec[];
  #state: TimerTriggerState = 'initializing';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(
    layout: Pick<Layout, 'pipelines'>,
    options: TimerTriggerOptions,
    deps: TimerTriggerDeps,
  ) {
    this.ref = branchRef(options.branch);
    this.#opts = {
      resolveHead: options.resolveHead,
      schedulerId: options.schedulerId,
      lateToleranceMs: nonNegative('lateToleranceMs', options.lateToleranceMs ?? 60_000),
      keepSlots: nonNegative('keepSlots', options.keepSlots ?? 5),
      retainSlotsMs: nonNegative('retainSlotsMs', options.retainSlotsMs ?? 600_000),
    };
    if (options.schedulerId === '') throw new TriggerOptionError('schedulerId', 'empty');
    this.#zk = deps.zk;
    this.#paths = deps.paths;
    this.#log = deps.logger.child({ component: 'timer-trigger' });
    this.#now = deps.now ?? Date.now;
    this.#queue = new ZkEventQueue(deps.zk, deps.paths.triggerEvents(), triggerEventCodec);
    this.#specs = timerSpecs(layout);
  }

  get state(): TimerTriggerState {
    return this.#state;
  }

  /** The next firing of every timer, soonest first. */
  upcoming(): Firing[] {
    return [...this.#armed.values()].map((a) => a.firing).sort((a, b) => a.dueMs - b.dueMs);
  }

  /** Called after each firing this scheduler attempted. Returns an unsubscribe. */
  onFiring(listener: (f: TimerFiring) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Arms every timer from now on; slots before now are not fired (no catch-up). */
  start(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped')
      throw new IllegalStateError('timer trigger', this.#state, 'start');
    if (this.#starting) return this.#starting;
    this.#state = 'running';
    for (const spec of this.#specs) this.#arm(spec, this.#now());
    this.#log.info({ timers: this.#specs.length, ref: this.ref }, 'timer trigger running');
    this.#starting = Promise.resolve();
    return this.#starting;
  }

  /**
   * Replaces the timers with those of a new layout. A timer that is kept
   * keeps its armed firing; removed ones are disarmed, new ones armed from now.
   */
  setLayout(layout: Pick<Layout, 'pipelines'>): void {
    if (this.#state === 'stopping' || this.#state === 'stopped')
      throw new IllegalStateError('timer trigger', this.#state, 'set the layout');
    const specs = timerSpecs(layout);
    const keys = new Set(specs.map((s) => s.key));
    for (const [key, armed] of this.#armed) {
      if (keys.has(key)) continue;
      clearTimeout(armed.timer);
      this.#armed.delete(key);
    }
    this.#specs = specs;
    if (this.#state !== 'running') return;
    for (const spec of specs) if (!this.#armed.has(spec.key)) this.#arm(spec, this.#now());
  }

  /** Disarms every timer, aborts firings in progress and waits for them. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping';
    for (const armed of this.#armed.values()) clearTimeout(armed.timer);
    this.#armed.clear();
    this.#abort.abort(new Error('timer trigger stopped'));
    await Promise.allSettled([...this.#inFlight]);
    this.#state = 'stopped';
    this.#log.info('timer trigger stopped');
  }

  #arm(spec: TimerSpec, afterSlotMs: number): void {
    const firing = nextDueFiring(spec, afterSlotMs, this.#now(), this.#opts.lateToleranceMs);
    const armed: Armed = { spec, firing, timer: undefined };
    this.#armed.set(spec.key, armed);
    this.#wait(armed);
  }

  #wait(armed: Armed): void {
    const delay = armed.firing.dueMs - this.#now();
    if (delay > 0) {
      // Re-checked on wake-up: a timer may fire a little early, or be capped.
      armed.timer = setTimeout(() => this.#wait(armed), Math.min(delay, MAX_DELAY_MS));
      return;
    }
    armed.timer = undefined;
    const run = this.#fire(armed.firing).finally(() => {
      this.#inFlight.delete(run);
      if (this.#state === 'running' && this.#armed.get(armed.spec.key) === armed)
        this.#arm(armed.spec, armed.firing.slotMs);
    });
    this.#inFlight.add(run);
  }

  async #fire(firing: Firing): Promise<void> {
    const log = this.#log.child({ pipeline: firing.pipeline, slot: firing.slot });
    const signal = this.#abort.signal;
    let result: TimerFiring;
    try {
      const commit = await untilAborted(this.#opts.resolveHead(this.ref, signal), signal);
      if (!SHA.test(commit))
        throw new TriggerOptionError(
          'resolveHead',
          `returned ${JSON.stringify(commit)}, not a full sha`,
        );
      signal.throwIfAborted();
      const event: TimerEvent = {
        type: 'timer',
        id: `timer-${firing.pipeline}-${firing.slot}`,
        pipeline: firing.pipeline,
        slot: firing.slot,
        ref: this.ref,
        commit,
        firedAt: this.#now(),
      };
      const outcome = await claimSlot(this.#zk, this.#paths, this.#queue, {
        event,
        slotMs: firing.slotMs,
        dueMs: firing.dueMs,
        claimedBy: this.#opts.schedulerId,
        claimedAt: event.firedAt,
      });
      result = outcome === 'claimed' ? { ...firing, outcome, event } : { ...firing, outcome };
      if (outcome === 'claimed') {
        log.info({ commit, eventId: event.id }, 'timer slot claimed, event put');
        await this.#prune(firing.pipeline, log);
      } else log.debug('timer slot already claimed by another scheduler');
    } catch (e) {
      const error = toError(e);
      if (signal.aborted) log.debug({ err: error }, 'timer firing abandoned: stopping');
      else log.error({ err: error }, 'timer firing failed; another scheduler may claim the slot');
      result = { ...firing, outcome: 'failed', error };
    }
    this.#emit(result);
  }

  async #prune(pipeline: string, log: Logger): Promise<void> {
    const jitter = Math.max(
      0,
      ...this.#specs
        .filter((s) => s.pipeline === pipeline)
        .map((s) => s.schedule.jitterSeconds * 1000),
    );
    // Never prune a slot a late scheduler could still try to claim.
    const retainMs = Math.max(this.#opts.retainSlotsMs, this.#opts.lateToleranceMs + jitter + 1000);
    const dir = this.#paths.timerSlots(pipeline);
    try {
      await pruneSlots(this.#zk, dir, (names) =>
        slotsToPrune(names, this.#now(), this.#opts.keepSlots, retainMs),
      );
    } catch (e) {
      log.warn(
        { err: toError(e) },
        'pruning old timer slots failed; will retry after the next claim',
      );
    }
  }

  #emit(firing: TimerFiring): void {
    for (const listener of this.#listeners) {
      try {
        listener(firing);
      } catch (e) {
        this.#log.warn({ err: toError(e) }, 'timer firing listener threw');
      }
    }
  }
}

function nonNegative(option: string, value: number): number {
  if (!Number.isFinite(value) || value < 0)
    throw new TriggerOptionError(option, `expected a non-negative number, got ${value}`);
  return value;
}
