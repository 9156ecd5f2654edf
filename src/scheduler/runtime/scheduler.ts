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
import type { FinishedBuildsetSink } from '../../history/recorder.js';
import { EventLatency } from '../../model/event-latency.js';
import { DurationEstimates, type DurationSource } from './durations.js';
import type { ZkClient } from '../../zk/client.js';
import type { ZkPaths } from '../../zk/paths.js';
import { ComponentRegistration } from '../../zk/registry.js';
import { LayoutFollower, type FollowLayoutOptions } from './layout-follow.js';
import { PipelineWork, type PipelineWorkDeps } from './layout-switch.js';
import { LostBuildDetector } from './lost-builds.js';
import {
  resolveSchedulerOptions,
  type ResolvedSchedulerOptions,
  type SchedulerOptions,
} from './options.js';
import type { PipelinePasses } from './pipeline-pass.js';
import { SchedulerTriggers } from './triggers.js';
import { watchForWork } from './wakeups.js';

export type SchedulerState = 'initializing' | 'running' | 'draining' | 'stopped';

export interface SchedulerDeps {
  readonly zk: ZkClient;
  readonly paths: ZkPaths;
  readonly layout: Layout;
  /** Recorded in every buildset this scheduler creates. */
  readonly layoutVersion: string;
  /** Follow the layout stored in ZooKeeper (reconfiguration); absent: run `layout` only. */
  readonly followLayout?: FollowLayoutOptions;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Finished buildsets are written here before their records are pruned (src/history). */
  readonly history?: FinishedBuildsetSink;
  /** Past build durations (the history's), for ETAs in the status summary. */
  readonly expectedMs?: DurationSource;
}

export class Scheduler {
  readonly options: ResolvedSchedulerOptions;
  readonly #deps: SchedulerDeps;
  readonly #log: Logger;
  readonly #durations: DurationEstimates;
  readonly #latency = new EventLatency();
  /** Observations already published in the component record. */
  #latencyPublished = 0;
  readonly #now: () => number;
  readonly #abort = new AbortController();
  #state: SchedulerState = 'initializing';
  #registration: ComponentRegistration | undefined;
  #work: PipelineWork | undefined;
  /** A layout to switch to at the start of the next round (setLayout). */
  #nextLayout: { layout: Layout; version: string } | undefined;
  #follower: LayoutFollower | undefined;
  #lost: LostBuildDetector | undefined;
  #lastSweep = -Infinity;
  /** An executor came or went (a dead one usually takes its leases along): sweep in the next round. */
  #sweepDue = false;
  #triggers: SchedulerTriggers | undefined;
  #stopWatching: (() => void) | undefined;
  #round: Promise<void> | undefined;
  /**
   * What the next round looks at: every pipeline, or only those whose queues
   * or lock changed. A result event used to cost every pipeline's lock and
   * queue listings, on every scheduler, twice (the event, then its ack).
   */
  #wanted: Set<string> | 'all' = 'all';
  /** Pipelines whose pass failed (all: the round failed): looked at again in the next round, whatever woke it. */
  #failed: Set<string> | 'all' = new Set();
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #rounds = 0;
  /** Pipelines whose busy lock this scheduler watches (one watch each). */
  /** Pipelines whose lock is watched, with the session the watch was set in. */
  readonly #lockWatches = new Map<string, string | undefined>();

  constructor(options: SchedulerOptions, deps: SchedulerDeps) {
    this.options = resolveSchedulerOptions(options);
    this.#deps = deps;
    this.#log = deps.logger.child({ component: 'scheduler' });
    this.#durations = new DurationEstimates(deps.expectedMs, deps.now ?? Date.now, this.#log);
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
  /** The version of the layout new buildsets are created with. */
  get layoutVersion(): string {
    return this.#work?.version ?? this.#deps.layoutVersion;
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
    const { zk, paths } = this.#deps;
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
      this.#lost = new LostBuildDetector(zk, paths, log, this.#now);
      const start = await this.#chooseLayout(log, this.#registration.id);
      this.#work = await PipelineWork.create(start.layout, start.version, this.#workDeps(log));
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
      { id: this.id, pipelines: this.#work.passes.map((p) => p.pipeline.name) },
      'scheduler running',
    );
    this.#watchWork();
    this.#follower?.start();
  }

  #watchWork(): void {
    // A round still running when stop began (a layout switch, a pruned pipeline) must not re-arm.
    if (this.#state !== 'running') return;
    this.#stopWatching?.();
    const executors = this.#deps.paths.components('executor');
    const owners = this.#work?.queueOwners() ?? new Map<string, string>();
    this.#stopWatching = watchForWork(
      {
        zk: this.#deps.zk,
        queues: [...owners.keys()],
        registries: [executors],
        intervalMs: this.options.safetyIntervalMs,
        log: this.#log,
      },
      (why) => {
        if (why === executors) this.#sweepDue = true;
        // A pipeline's own queue: that pipeline. The global queue, an executor, the tick: all.
        this.#wake(owners.get(why));
      },
    );
  }

  /**
   * Switches to `layout` at the start of the next round (never during one):
   * pipelines are added or retired, timers re-planned. Buildsets in flight
   * keep their frozen graph. The layout follower calls this on reconfiguration.
   */
  setLayout(layout: Layout, version: string): void {
    if (this.#state === 'stopped' || this.#closing)
      throw new IllegalStateError('scheduler', this.#state, 'set the layout');
    this.#nextLayout = { layout, version };
    this.#wake();
  }

  async #chooseLayout(log: Logger, selfId: string): Promise<{ layout: Layout; version: string }> {
    const own = { layout: this.#deps.layout, version: this.#deps.layoutVersion };
    const follow = this.#deps.followLayout;
    if (!follow) return own;
    this.#follower = new LayoutFollower({
      zk: this.#deps.zk,
      paths: this.#deps.paths,
      log,
      onLayout: (next) => {
        if (this.#state === 'running') this.setLayout(next.layout, next.version);
      },
    });
    return this.#follower.choose(own, follow, selfId);
  }

  #workDeps(log: Logger): PipelineWorkDeps {
    const holder = this.#registration?.id ?? '';
    return {
      zk: this.#deps.zk,
      paths: this.#deps.paths,
      options: this.options,
      now: this.#now,
      log,
      holder,
      history: this.#deps.history,
      durations: this.#durations,
      latency: this.#latency,
    };
  }

  /** Applies a pending setLayout; on ZooKeeper trouble it stays pending for the next round. */
  async #switchLayout(): Promise<void> {
    const next = this.#nextLayout;
    // A draining scheduler has stopped its timers and takes no new work: no switch.
    if (!next || !this.#work || this.#state !== 'running') return;
    const log = this.#log.child({ scheduler: this.id });
    const work = await this.#work.next(next.layout, next.version, this.#workDeps(log));
    if (this.#nextLayout === next) this.#nextLayout = undefined;
    const previous = this.#work.version;
    this.#work = work;
    this.#triggers?.timer?.setLayout(next.layout);
    this.#watchWork();
    await this.#publish();
    log.info(
      {
        layoutVersion: next.version,
        previous,
        pipelines: work.passes.map((p) => p.pipeline.name),
        retiring: work.retiring.map((p) => p.pipeline.name),
      },
      'layout switched',
    );
  }

  async #startTriggers(logger: Logger, schedulerId: string): Promise<void> {
    const options = this.options.triggers;
    if (!options) return;
    const { zk, paths } = this.#deps;
    this.#triggers = new SchedulerTriggers(options, {
      zk,
      paths,
      layout: this.#work?.layout ?? this.#deps.layout,
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
    this.#follower?.stop();
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
    const registration = this.#registration;
    this.#latencyPublished = this.#latency.count;
    const extra = registration && {
      ...registration.record.extra,
      layoutVersion: this.layoutVersion,
      eventLatency: this.#latency.snapshot(),
    };
    await registration?.update(this.#state, extra).catch((err: unknown) => {
      this.#log.warn({ err: toError(err) }, 'cannot update the component record');
    });
  }

  /**
   * Coalesces wake-ups: one round at a time, and one more if woken during it,
   * for `pipeline` or (undefined) for every pipeline. Never throws.
   */
  #wake(pipeline?: string): void {
    this.#wanted = union(this.#wanted, pipeline === undefined ? 'all' : new Set([pipeline]));
    this.#kick();
  }

  #kick(): void {
    const pending = (): boolean => this.#wanted === 'all' || this.#wanted.size > 0;
    if (this.#state !== 'running' || this.#round || !pending()) return;
    this.#round = (async () => {
      while (this.#state === 'running' && pending()) {
        // What failed is looked at again now, but does not start a round by itself.
        const wanted = union(this.#wanted, this.#failed);
        this.#wanted = new Set();
        this.#failed = new Set();
        await this.#runRound(wanted);
      }
      // A wake-up between the loop's last check and here would otherwise start nothing.
    })().finally(() => {
      this.#round = undefined;
      this.#kick();
    });
  }

  async #runRound(wanted: Set<string> | 'all'): Promise<void> {
    const signal = this.#abort.signal;
    try {
      await this.#switchLayout();
      const work = this.#work;
      // Routing writes to pipelines' trigger queues: their watches wake those pipelines.
      // More than a batch pending: the acks wake nobody (see wakeups.ts), so ask for another round.
      // A routing failure must not keep the pipelines' own events from their passes.
      if (wanted === 'all')
        await work?.router
          .routeAll(this.options.eventsPerPass, {
            onMore: () => (this.#wanted = 'all'),
            onFailed: () => (this.#failed = 'all'),
          })
          .catch((e: unknown) => {
            this.#failed = 'all';
            this.#log.warn({ err: toError(e) }, 'routing failed; the next round retries');
          });
      for (const pass of work?.all() ?? []) {
        if (signal.aborted) return;
        if (wanted === 'all' || wanted.has(pass.pipeline.name)) await this.#runPass(pass, signal);
      }
      // After the passes, so no result waits for it; when an executor came or went
      // (a dead one's leases usually vanish with its registration), and at most twice per
      // safety interval otherwise, so the safety tick's rounds still sweep.
      const due = performance.now() - this.#lastSweep >= this.options.safetyIntervalMs / 2;
      if (due || this.#sweepDue) {
        this.#sweepDue = false;
        this.#lastSweep = performance.now();
        await this.#lost?.sweep();
        // The latency histogram reaches web's /metrics through the component record.
        if (this.#latency.count !== this.#latencyPublished && this.#state === 'running')
          await this.#publish();
      }
      if (work && work.retiring.length > 0 && (await work.pruneRetired(this.#log)))
        this.#watchWork();
    } catch (e) {
      this.#failed = 'all';
      this.#log.warn({ err: toError(e) }, 'scheduler round failed; the next one retries');
    } finally {
      this.#rounds += 1;
    }
  }

  /**
   * Busy may mean a dead holder whose session has not expired yet: wake as soon
   * as its lock node goes, not at the next safety tick (failover time).
   */
  #wakeWhenFree(pipeline: string): void {
    const session = this.#deps.zk.sessionId;
    // A watch dies with the session it was set in, without firing: set it again.
    if (this.#lockWatches.has(pipeline) && this.#lockWatches.get(pipeline) === session) return;
    this.#lockWatches.set(pipeline, session);
    const forget = (): void => {
      if (this.#lockWatches.get(pipeline) === session) this.#lockWatches.delete(pipeline);
    };
    const fired = (): void => {
      forget();
      this.#wake(pipeline);
    };
    this.#deps.zk
      .children(this.#deps.paths.pipelineLock(pipeline), fired)
      .then((nodes) => nodes.length === 0 && fired())
      .catch(forget);
  }

  async #runPass(pass: PipelinePasses, signal: AbortSignal): Promise<void> {
    try {
      // Held: its holder sees the same events; wake when it lets go.
      if (await pass.lockHeld()) return this.#wakeWhenFree(pass.pipeline.name);
      if (!(await pass.hasWork())) return;
      const result = await pass.run(signal);
      // Busy: its holder sees the same events. Conflict or again: look again soon.
      if (result === 'conflict' || result === 'again') this.#wake(pass.pipeline.name);
      if (result === 'released') this.#wake();
      if (result === 'busy') this.#wakeWhenFree(pass.pipeline.name);
    } catch (e) {
      if (signal.aborted) return;
      if (this.#failed !== 'all') this.#failed.add(pass.pipeline.name);
      this.#log.warn(
        { err: toError(e), pipeline: pass.pipeline.name },
        'pipeline pass failed; the next round retries',
      );
    }
  }
}

/** Both sets of pipelines; 'all' absorbs anything. */
function union(a: Set<string> | 'all', b: Set<string> | 'all'): Set<string> | 'all' {
  return a === 'all' || b === 'all' ? 'all' : new Set([...a, ...b]);
}
