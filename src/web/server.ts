/**
 * The web process's lifecycle: listen, register in the component registry,
 * and on drain answer readiness with 503, deregister and close once the
 * requests in flight are answered. stop() also cuts open connections.
 *
 * initializing → running → draining → stopped
 *                       └─→ stopping → stopped
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { IllegalStateError, toError } from '../errors.js';
import { ComponentRegistration, type ZkClient, type ZkPaths } from '../zk/index.js';
import { buildWebApp, type WebApp, type WebDeps } from './app.js';
import { WebListenError } from './errors.js';

export type WebServerState = 'initializing' | 'running' | 'draining' | 'stopping' | 'stopped';

export interface WebServerOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Reported in the component record and by `/api/info`. */
  readonly version: string;
}

/** The app's dependencies but those the server itself provides (lifecycle, version). */
export interface WebServerDeps extends Omit<WebDeps, 'shuttingDown' | 'closing' | 'version'> {
  readonly zk: ZkClient;
  readonly paths: ZkPaths;
  readonly logger: Logger;
}

export class WebServer {
  readonly app: WebApp;
  readonly #options: WebServerOptions;
  readonly #deps: WebServerDeps;
  readonly #log: Logger;
  #state: WebServerState = 'initializing';
  #registration: ComponentRegistration | undefined;
  #url: string | undefined;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  readonly #streams = new AbortController();

  constructor(options: WebServerOptions, deps: WebServerDeps) {
    this.#options = Object.freeze({ ...options });
    this.#deps = deps;
    this.#log = deps.logger.child({ component: 'web' });
    this.app = buildWebApp({
      ...deps,
      version: options.version,
      shuttingDown: () => this.#state !== 'running',
      closing: this.#streams.signal,
    });
  }

  get state(): WebServerState {
    return this.#state;
  }
  /** Aborted once the server drains or stops; streaming routes end their streams on it. */
  get closing(): AbortSignal {
    return this.#streams.signal;
  }
  /** `http://host:port` once listening. */
  get url(): string | undefined {
    return this.#url;
  }

  start(): Promise<void> {
    if (this.#starting || this.#state !== 'initializing')
      throw new IllegalStateError('web', this.#state, 'start');
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const { host, port, version } = this.#options;
    try {
      await this.app.listen({ host, port }).catch((e: unknown) => {
        const err = toError(e) as NodeJS.ErrnoException;
        throw new WebListenError(`${host}:${port}`, err.code ?? err.message);
      });
      const addr = this.app.server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      this.#url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
      this.#registration = await ComponentRegistration.register(
        this.#deps.zk,
        this.#deps.paths.components('web'),
        { kind: 'web', hostname: hostname(), pid: process.pid, version, state: 'running' },
        { onError: (err) => this.#log.warn({ err }, 'web re-registration failed') },
      );
      await this.#registration.update('running', { url: this.#url });
    } catch (e) {
      await this.#teardown(true);
      this.#state = 'stopped';
      throw toError(e);
    }
    if (this.#closing) return; // stop() was called while starting
    this.#state = 'running';
    this.#log.info({ url: this.#url, id: this.#registration.id }, 'web listening');
  }

  /** Readiness turns 503, requests in flight are answered, then the server closes. */
  drain(): Promise<void> {
    if (this.#closing) return this.#closing;
    if (this.#state !== 'running') throw new IllegalStateError('web', this.#state, 'drain');
    this.#state = 'draining';
    this.#log.info({ state: 'draining' }, 'web draining');
    // Streams (live logs) never end by themselves: end them so the drain can finish.
    this.#streams.abort(new Error('web draining'));
    this.#closing = this.#teardown(false).then(() => this.#stopped());
    return this.#closing;
  }

  /** Closes at once, cutting connections still open. Idempotent; escalates a drain. */
  stop(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped')
      return this.#closing ?? Promise.resolve();
    const wasDraining = this.#state === 'draining';
    this.#state = 'stopping';
    this.#log.info({ state: 'stopping' }, 'web stopping');
    this.#streams.abort(new Error('web stopping'));
    this.app.server.closeAllConnections();
    if (!wasDraining) {
      const starting = this.#starting ?? Promise.resolve();
      this.#closing = starting
        .catch(() => undefined)
        .then(() => this.#teardown(true))
        .then(() => this.#stopped());
    }
    return this.#closing ?? Promise.resolve();
  }

  async #teardown(force: boolean): Promise<void> {
    // Deregister first: nobody should find a web that no longer answers.
    await this.#registration
      ?.unregister()
      .catch((e: unknown) => this.#log.warn({ err: toError(e) }, 'web deregistration failed'));
    if (force) this.app.server.closeAllConnections();
    await this.app.close();
  }

  #stopped(): void {
    this.#state = 'stopped';
    this.#log.info({ state: 'stopped' }, 'web stopped');
  }
}
