/**
 * The trigger sources a scheduler runs itself: a GitPoller on the deployed
 * repository and a TimerTrigger for the layout's timers, both writing to the
 * global trigger queue under the scheduler's registry id. Every scheduler may
 * run both: slot claims and ref reports are exactly once across schedulers.
 *
 * initializing → running → stopping → stopped
 */
import type { Logger } from 'pino';
import type { Layout } from '../../config/index.js';
import { IllegalStateError } from '../../errors.js';
import type { ZkClient } from '../../zk/client.js';
import type { ZkPaths } from '../../zk/paths.js';
import { GitPoller, resolveLocalHead, TimerTrigger } from '../triggers/index.js';
import { SchedulerConfigError } from '../runtime-errors.js';
import type { SchedulerRepositoryOptions, SchedulerTriggerOptions } from './options.js';

export type SchedulerTriggersState = 'initializing' | 'running' | 'stopping' | 'stopped';

export interface SchedulerTriggersDeps {
  readonly zk: ZkClient;
  readonly paths: ZkPaths;
  readonly layout: Pick<Layout, 'pipelines'>;
  readonly logger: Logger;
  /** The scheduler's registry id, recorded in slot nodes and ref documents. */
  readonly schedulerId: string;
  readonly now?: () => number;
}

export class SchedulerTriggers {
  readonly poller: GitPoller | undefined;
  readonly timer: TimerTrigger | undefined;
  readonly #log: Logger;
  #state: SchedulerTriggersState = 'initializing';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: SchedulerTriggerOptions, deps: SchedulerTriggersDeps) {
    const { zk, paths, logger, schedulerId } = deps;
    const common = { zk, paths, logger, ...(deps.now ? { now: deps.now } : {}) };
    this.#log = logger.child({ component: 'scheduler-triggers' });
    const repo = options.repository;
    const poller = repo && new GitPoller({ ...repo, schedulerId }, common);
    this.poller = poller;
    if (options.timers) {
      if (!repo || !poller)
        throw new SchedulerConfigError('triggers', 'a repository when timers is true');
      this.timer = new TimerTrigger(
        deps.layout,
        {
          branch: repo.branch,
          schedulerId,
          resolveHead: (ref, signal) => freshHead(poller, repo, ref, signal),
        },
        common,
      );
    }
  }

  get state(): SchedulerTriggersState {
    return this.#state;
  }

  /** Starts the poller (which creates its clone), then the timers. */
  start(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped')
      throw new IllegalStateError('scheduler triggers', this.#state, 'start');
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    try {
      await this.poller?.start();
    } catch (e) {
      // A stop while the clone was being made aborted it: not a failure.
      if (this.#state !== 'initializing') return;
      throw e;
    }
    if (this.#state !== 'initializing') return; // stopped while the clone was made
    await this.timer?.start();
    this.#state = 'running';
    this.#log.info(
      { poller: this.poller !== undefined, timers: this.timer !== undefined },
      'scheduler triggers running',
    );
  }

  /** Stops both; no event is put once this resolves. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping';
    // The timer first: a firing in progress is abandoned before its poll is aborted,
    // so it cannot fall back to the clone and put an event while we stop.
    await this.timer?.stop();
    await this.poller?.stop();
    await this.#starting?.catch(() => undefined);
    this.#state = 'stopped';
  }
}

/**
 * A timer deploys what is on the branch now, not what the last timed poll
 * saw: poll first (which also reports a push it finds), then read the clone.
 * A failed fetch is logged by the poller; the clone's head still serves.
 */
async function freshHead(
  poller: GitPoller,
  repo: SchedulerRepositoryOptions,
  ref: string,
  signal: AbortSignal,
): Promise<string> {
  if (poller.state === 'running') await poller.pollNow().catch(() => undefined);
  signal.throwIfAborted();
  return resolveLocalHead(repo.localPath, ref, signal);
}
