/**
 * A daemon process: a few services (executor, scheduler, web) started in
 * order and shut down together. drain() stops intake and lets work finish;
 * if the grace period ends first, or stop() is called, it escalates to an
 * immediate stop. drain() and stop() return the same promise every time.
 *
 * initializing → starting → running → draining → stopped
 *                        └──────────→ stopping → stopped
 */
import type { Logger } from 'pino';
import { IllegalStateError, toError } from '../errors.js';

/** What the daemon needs of a component; Executor and WebServer fit as they are. */
export interface Service {
  start(): Promise<void>;
  drain(): Promise<void>;
  stop(): Promise<void>;
}

export interface NamedService {
  readonly name: string;
  readonly service: Service;
}

export type DaemonState =
  'initializing' | 'starting' | 'running' | 'draining' | 'stopping' | 'stopped';

export interface DaemonOptions {
  /** How long drain() waits for services before it escalates to stop(). */
  readonly graceMs: number;
  readonly logger: Logger;
}

export class Daemon {
  readonly #services: readonly NamedService[];
  readonly #options: DaemonOptions;
  readonly #log: Logger;
  /** Services whose start() was called; only these are shut down. */
  readonly #touched: NamedService[] = [];
  readonly #running = new Set<NamedService>();
  readonly #failures: Error[] = [];
  #state: DaemonState = 'initializing';
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #grace: NodeJS.Timeout | undefined;
  #markStopped: () => void = () => undefined;
  /** Settles once every service has shut down, however the shutdown began. */
  readonly stopped: Promise<void> = new Promise((resolve) => (this.#markStopped = resolve));

  constructor(services: readonly NamedService[], options: DaemonOptions) {
    this.#services = services;
    this.#options = options;
    this.#log = options.logger.child({ component: 'daemon' });
  }

  get state(): DaemonState {
    return this.#state;
  }
  /** The services, in start order (for control requests addressed to one of them). */
  get services(): readonly NamedService[] {
    return this.#services;
  }
  /** Errors services raised while shutting down (the process should exit non-zero). */
  get failures(): readonly Error[] {
    return this.#failures;
  }

  /** Starts every service in order; if one fails, the started ones are stopped and the error thrown. */
  start(): Promise<void> {
    if (this.#state !== 'initializing') throw new IllegalStateError('daemon', this.#state, 'start');
    this.#state = 'starting';
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    for (const s of this.#services) {
      if (this.#closing) return; // a signal arrived while starting: start no more
      this.#touched.push(s);
      try {
        await s.service.start();
        this.#running.add(s);
      } catch (e) {
        if (this.#closing) return;
        this.#log.error({ err: toError(e), service: s.name }, 'service failed to start');
        await this.stop();
        throw toError(e);
      }
    }
    if (this.#closing) return;
    this.#state = 'running';
    this.#log.info({ services: this.#services.map((s) => s.name) }, 'daemon running');
  }

  /** Graceful: services finish their work within the grace period. */
  drain(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#state = 'draining';
    this.#log.info({ graceMs: this.#options.graceMs }, 'daemon draining');
    this.#grace = setTimeout(() => {
      this.#log.warn({ graceMs: this.#options.graceMs }, 'grace period over: stopping now');
      void this.stop();
    }, this.#options.graceMs);
    this.#grace.unref();
    this.#closing = this.#shutdown((s) =>
      this.#running.has(s) ? s.service.drain() : s.service.stop(),
    );
    return this.#closing;
  }

  /** Immediate: work in progress is aborted. Escalates a drain. */
  stop(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped')
      return this.#closing ?? Promise.resolve();
    const draining = this.#closing !== undefined;
    this.#state = 'stopping';
    this.#log.info({}, 'daemon stopping');
    if (!draining) {
      this.#closing = this.#shutdown((s) => s.service.stop());
      return this.#closing;
    }
    // The drain's promises settle once each service's stop() has done its work.
    for (const s of this.#touched) void this.#settle(s, s.service.stop());
    return this.#closing ?? Promise.resolve();
  }

  async #shutdown(how: (s: NamedService) => Promise<void>): Promise<void> {
    // All at once: each service drains its own work; none waits for another.
    await Promise.all(this.#touched.map((s) => this.#settle(s, how(s))));
    clearTimeout(this.#grace);
    this.#state = 'stopped';
    this.#log.info({ failures: this.#failures.length }, 'daemon stopped');
    this.#markStopped();
  }

  async #settle(s: NamedService, p: Promise<void>): Promise<void> {
    try {
      await p;
    } catch (e) {
      const err = toError(e);
      if (!this.#failures.includes(err)) this.#failures.push(err);
      this.#log.error({ err, service: s.name }, 'service failed to shut down');
    }
  }
}
