/**
 * The scheduler component: registers itself, routes trigger events to
 * pipelines, completes lost builds, and runs passes over every pipeline that
 * has work, high precedence first. Every scheduler is active; they share
 * the work only through ZooKeeper (per-pipeline locks, compare-and-set).
 *
 * initializing → running → draining → stopped
 * drain(): stop its triggers (if it runs any), finish the round in progress,
 * deregister. stop(): the same, but the round in progress ends between
 * pipelines. Both return the same promise when repeated.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Layout } from '../../config/index.js';
import { IllegalStateError, toError } from '../../errors.js';
import type { ZkClient } from '../../zk/client.js';
import type { ZkPaths } from '../../zk/paths.js';
import { ComponentRegistration } from '../../zk/registry.js';
import { LostBuildDetector } from './lost-builds.js';
import {
  resolveSchedulerOptions,
  type ResolvedSchedulerOptions,
  type SchedulerOptions,
} from './options.js';
import { pipelineOrder } from './order.js';
import { PipelinePasses } from './pipeline-pass.js';
import { TriggerRouter } from './routing.js';
import { SchedulerTriggers } from './triggers.js';
import { watchForWork } from './wakeups.js';

export type SchedulerState = 'initializing' | 'running' | 'draining' | 'stopped';

export interface SchedulerDeps {
  readonly zk: ZkClient;
  readonly paths: ZkPaths;
  readonly layout: Layout;
  /** Recorded in every buildset this scheduler creates. */
  readonly layoutVersion: string;
  readonly logger: Logger;
  readonly now?: () => number;
}

export class Scheduler {
  readonly options: ResolvedSchedulerOptions;
  readonly #deps: SchedulerDeps;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #abort = new AbortController();
  #state: SchedulerState = 'initializing';
  #registration: ComponentRegistration | undefined;
  #router: TriggerRouter | undefined;
  #lost: LostBuildDetector | undefined;
  #passes: PipelinePasses[] = [];
  #triggers: SchedulerTriggers | undefined;
  #stopWatching: (() => void) | undefined;
  #round: Promise<void> | undefined;
  #again = false;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #rounds = 0;

  constructor(options: SchedulerOptions, deps: SchedulerDeps) {
    this.options = resolveSchedulerOptions(options);
    this.#deps = deps;
    this.#log = deps.logger.child({ component: 'scheduler' });
    this.#now = deps.now ?? Date.now;
  }

  get state(): SchedulerState {
    return this.#state;
  }
  /** The registry node name, once registered. */
  get id(): string | undefined {
    return this.#registration?.id;
  }
  /** The poller and timers it runs, once started with `options.triggers`. */
  get triggers(): SchedulerTriggers | undefined {
    return this.#triggers;
  }
  /** Rounds completed so far (for tests and metrics). */
  get rounds(): number {
    return this.#rounds;
  }

  start(): Promise<void> {
    if (this.#starting || this.#state !== 'initializing')
      throw new IllegalStateError('scheduler', this.#state, 'start');
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const { zk, paths, layout } = this.#deps;
    try {
      await Promise.all(paths.directories().map((d) => zk.mkdirp(d)));
      this.#registration = await ComponentRegistration.register(
        zk,
        paths.components('scheduler'),
        {
          kind: 'scheduler',
          hostname: hostname(),
          pid: process.pid,
          version: this.options.version,
          state: 'initializing',
          extra: { layoutVersion: this.#deps.layoutVersion },
        },
        { onError: (err) => this.#log.warn({ err }, 're-registration failed, will retry') },
      );
      const log = this.#log.child({ scheduler: this.#registration.id });
      this.#router = new TriggerRouter(zk, paths, layout, log);
      this.#lost = new LostBuildDetector(zk, paths, log, this.#now);
      const deps = {
        ...this.#deps,
        options: this.options,
        now: this.#now,
        log,
        holder: this.#registration.id,
      };
      this.#passes = pipelineOrder(layout).map((p) => new PipelinePasses(p, deps));
      await this.#router.init();
      await Promise.all(this.#passes.map((p) => p.init()));
      await this.#startTriggers(log, this.#registration.id);
    } catch (e) {
      await this.#triggers?.stop();
      await this.#registration?.unregister().catch(() => undefined);
      this.#state = 'stopped';
      throw toError(e);
    }
    if (this.#closing) return;
    this.#state = 'running';
    await this.#publish();
    this.#log.info(
      { id: this.id, pipelines: this.#passes.map((p) => p.pipeline.name) },
      'scheduler running',
    );
    this.#stopWatching = watchForWork(
      {
        zk,
        directories: [
          this.#router.globalQueue.entriesPath,
          ...this.#passes.flatMap((p) => [
            p.management.entriesPath,
            p.results.entriesPath,
            p.triggers.entriesPath,
          ]),
          paths.buildRequests(),
        ],
        intervalMs: this.options.safetyIntervalMs,
        log: this.#log,
      },
      () => this.#wake(),
    );
  }

  async #startTriggers(logger: Logger, schedulerId: string): Promise<void> {
    const options = this.options.triggers;
    if (!options) return;
    const { zk, paths, layout } = this.#deps;
    this.#triggers = new SchedulerTriggers(options, {
      zk,
      paths,
      layout,
      logger,
      schedulerId,
      now: this.#now,
    });
    await this.#triggers.start();
  }

  /** Graceful: no new rounds; the round in progress finishes; then deregister. */
  drain(): Promise<void> {
    if (this.#closing) return this.#closing;
    if (this.#state !== 'running' && this.#state !== 'initializing')
      throw new IllegalStateError('scheduler', this.#state, 'drain');
    this.#closing = this.#close();
    return this.#closing;
  }

  /** Like drain, but the round in progress stops at the next pipeline. Idempotent. */
  stop(): Promise<void> {
    this.#abort.abort(new Error('scheduler stopping'));
    if (this.#closing) return this.#closing;
    if (this.#state === 'stopped') return Promise.resolve();
    this.#closing = this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.#starting?.catch(() => undefined);
    // No new events from this scheduler once it begins to close.
    await this.#triggers?.stop();
    if (this.#state === 'stopped') return;
    this.#state = 'draining';
    this.#log.info({ state: 'draining' }, 'scheduler draining');
    this.#stopWatching?.();
    await this.#publish();
    while (this.#round) await this.#round;
    await this.#registration?.unregister().catch((err: unknown) => {
      this.#log.warn(
        { err: toError(err) },
        'deregistration failed; the node goes with the session',
      );
    });
    this.#state = 'stopped';
    this.#log.info({ state: 'stopped' }, 'scheduler stopped');
  }

  async #publish(): Promise<void> {
    await this.#registration?.update(this.#state).catch((err: unknown) => {
      this.#log.warn({ err: toError(err) }, 'cannot update the component record');
    });
  }

  /** Coalesces wake-ups: one round at a time, and one more if woken during it. Never throws. */
  #wake(): void {
    if (this.#state !== 'running') return;
    if (this.#round) {
      this.#again = true;
      return;
    }
    this.#round = (async () => {
      do {
        this.#again = false;
        await this.#runRound();
      } while (this.#again && this.#state === 'running');
    })().finally(() => (this.#round = undefined));
  }

  async #runRound(): Promise<void> {
    const signal = this.#abort.signal;
    try {
      await this.#router?.routeAll(this.options.eventsPerPass);
      await this.#lost?.sweep();
      for (const pass of this.#passes) {
        if (signal.aborted) return;
        await this.#runPass(pass, signal);
      }
    } catch (e) {
      this.#log.warn({ err: toError(e) }, 'scheduler round failed; the next one retries');
    } finally {
      this.#rounds += 1;
    }
  }

  async #runPass(pass: PipelinePasses, signal: AbortSignal): Promise<void> {
    try {
      if (!(await pass.hasWork())) return;
      const result = await pass.run(signal);
      // Busy: its holder sees the same events. Conflict or again: look again soon.
      if (result === 'conflict' || result === 'again') this.#again = true;
    } catch (e) {
      if (signal.aborted) return;
      this.#log.warn(
        { err: toError(e), pipeline: pass.pipeline.name },
        'pipeline pass failed; the next round retries',
      );
    }
  }
}
