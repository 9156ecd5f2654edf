import { pino, type Logger } from 'pino';
import { Client, type ClientChannel, type SFTPWrapper } from 'ssh2';
import { IllegalStateError, toError } from '../errors.js';
import {
  SshChannelOpenError,
  SshConnectError,
  SshHostKeyMismatchError,
  SshNotConnectedError,
} from './errors.js';
import { fingerprintOf, type HostKeyPin } from './host-key.js';
import {
  RESERVED_CHANNELS,
  resolveOptions,
  type BastionConnectionOptions,
  type ResolvedOptions,
} from './options.js';
import { Slots } from './slots.js';

export type ConnectionState =
  'idle' | 'connecting' | 'ready' | 'reconnecting' | 'closing' | 'closed';

/** How a remote command ended: an exit code, or the signal that killed it. */
export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

/** An exec channel and its exit status, recorded from the moment it opened. */
export interface RemoteChannel {
  readonly channel: ClientChannel;
  /** Undefined until the bastion reports it; never reported if the connection broke. */
  readonly exitStatus: () => ExitStatus | undefined;
}

/** `job` channels share the pool; `control` (kills) has a slot of its own so it is never starved. */
export type Lane = 'job' | 'control';

const NEXT: Record<ConnectionState, readonly ConnectionState[]> = {
  idle: ['connecting', 'closing'],
  connecting: ['ready', 'idle', 'closing'],
  ready: ['reconnecting', 'closing'],
  reconnecting: ['ready', 'closing'],
  closing: ['closed'],
  closed: [],
};

const CHANNEL_OPEN_ATTEMPTS = 4;
/** How long a closed channel's slot stays taken; see exec(). */
const SESSION_FREE_MS = 10;

interface Waiter {
  resolve(client: Client): void;
  reject(err: Error): void;
}

/**
 * One multiplexed SSH connection to the bastion. Channels are rationed: the
 * bastion's MaxSessions minus one slot for control commands and one for the
 * SFTP session. A lost connection is re-established with backoff while
 * callers wait (up to `waitForReadyMs`) for a channel.
 */
export class BastionConnection {
  readonly options: ResolvedOptions;
  readonly #log: Logger;
  readonly #pins: readonly HostKeyPin[];
  readonly #jobs: Slots;
  readonly #control = new Slots(1);
  #state: ConnectionState = 'idle';
  #client: Client | undefined;
  #sftp: Promise<SFTPWrapper> | undefined;
  #waiters = new Set<Waiter>();
  #lastError: Error | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;
  #refusals = 0;

  constructor(options: BastionConnectionOptions, logger?: Logger) {
    this.options = resolveOptions(options);
    this.#pins = this.options.hostKeys;
    this.#jobs = new Slots(this.options.maxSessions - RESERVED_CHANNELS);
    this.#log = (logger ?? pino({ level: 'silent' })).child({
      component: 'bastion',
      bastion: this.options.host,
    });
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Job channels in use and waiting, and how often the bastion refused a channel; for metrics and tests. */
  get channels(): { inUse: number; waiting: number; capacity: number; refusals: number } {
    return {
      inUse: this.#jobs.inUse,
      waiting: this.#jobs.waiting,
      capacity: this.#jobs.size,
      refusals: this.#refusals,
    };
  }

  /** Connects once; a refused host key or failed login rejects with a typed error and leaves the state idle. */
  async start(): Promise<void> {
    this.#to('connecting', 'start');
    try {
      const client = await this.#connectOnce();
      if (this.#state !== 'connecting') {
        client.end();
        throw new IllegalStateError('bastion connection', this.#state, 'finish connecting');
      }
      this.#adopt(client);
    } catch (e) {
      if (this.#state === 'connecting') this.#to('idle', 'fail');
      throw toError(e);
    }
  }

  /**
   * Idempotent: every call returns the same promise. Commands still open end
   * with SshConnectionLostError and their watchdogs end their remote groups:
   * drain first (the executor's job), then close.
   */
  close(): Promise<void> {
    this.#closed ??= this.#doClose();
    return this.#closed;
  }

  /** Opens an exec channel in the given lane; the slot is released when the channel closes. */
  async exec(command: string, lane: Lane, signal?: AbortSignal): Promise<RemoteChannel> {
    const release = await (lane === 'control' ? this.#control : this.#jobs).acquire(signal);
    try {
      const opened = await this.#withRetries(signal, (client) => execOn(client, command));
      // sshd frees a session only in the loop pass after our CLOSE: an OPEN in the same read would be refused.
      opened.channel.once('close', () => setTimeout(release, SESSION_FREE_MS).unref());
      return opened;
    } catch (e) {
      release();
      throw toError(e);
    }
  }

  /**
   * The connection's SFTP session, opened on first use and kept (it holds one
   * session slot). Opened without the caller's signal: other callers share it.
   */
  sftp(): Promise<SFTPWrapper> {
    if (!this.#sftp) {
      const opening = this.#withRetries(undefined, sftpOn);
      this.#sftp = opening;
      const forget = (): void => {
        if (this.#sftp === opening) this.#sftp = undefined;
      };
      opening.then((s) => s.once('close', forget), forget);
    }
    return this.#sftp;
  }

  async #withRetries<T>(
    signal: AbortSignal | undefined,
    open: (client: Client) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#whenReady(signal);
      try {
        return await open(client);
      } catch (e) {
        // Another client of the bastion may hold sessions, or a closing one is not freed yet: retry briefly.
        this.#refusals += 1;
        if (attempt >= CHANNEL_OPEN_ATTEMPTS)
          throw new SshChannelOpenError(this.options.host, toError(e));
        this.#log.debug({ err: toError(e), attempt }, 'channel open failed, retrying');
        await delay(50 * 2 ** attempt, signal);
      }
    }
  }

  #whenReady(signal?: AbortSignal): Promise<Client> {
    if (signal?.aborted) return Promise.reject(toError(signal.reason));
    if (this.#state === 'ready' && this.#client) return Promise.resolve(this.#client);
    if (this.#state !== 'connecting' && this.#state !== 'reconnecting') {
      return Promise.reject(
        new IllegalStateError('bastion connection', this.#state, 'open a channel'),
      );
    }
    const waitMs = this.options.waitForReadyMs;
    return new Promise<Client>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
      };
      const waiter: Waiter = {
        resolve: (c) => (done(), resolve(c)),
        reject: (e) => (done(), reject(e)),
      };
      const onAbort = (): void => waiter.reject(toError(signal?.reason));
      const timer = setTimeout(
        () => waiter.reject(new SshNotConnectedError(this.options.host, waitMs, this.#lastError)),
        waitMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  #adopt(client: Client): void {
    this.#client = client;
    this.#to('ready', 'connect');
    this.#log.info({ state: 'ready' }, 'connected to bastion');
    client.on('error', (err) => {
      this.#lastError = err;
      this.#log.warn({ err }, 'bastion connection error');
    });
    client.once('close', () => this.#onClose(client));
    for (const w of [...this.#waiters]) w.resolve(client);
  }

  #onClose(client: Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#sftp = undefined;
    if (this.#state !== 'ready') return;
    this.#to('reconnecting', 'lose the connection');
    this.#log.warn(
      { err: this.#lastError, state: 'reconnecting' },
      'bastion connection lost, reconnecting',
    );
    this.#scheduleReconnect(this.options.reconnectInitialMs);
  }

  #scheduleReconnect(delayMs: number): void {
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connectOnce().then(
        (client) => (this.#state === 'reconnecting' ? this.#adopt(client) : client.end()),
        (e: unknown) => {
          this.#lastError = toError(e);
          if (this.#state !== 'reconnecting') return;
          // A changed host key needs an operator; anything else may heal by itself.
          const level = this.#lastError instanceof SshHostKeyMismatchError ? 'error' : 'warn';
          this.#log[level]({ err: this.#lastError, delayMs }, 'reconnect failed');
          // Exponential backoff with jitter, so a fleet of executors does not reconnect in step.
          const next = Math.min(delayMs * 2, this.options.reconnectMaxMs);
          this.#scheduleReconnect(next / 2 + Math.random() * (next / 2));
        },
      );
    }, delayMs);
  }

  #connectOnce(): Promise<Client> {
    const o = this.options;
    return new Promise<Client>((resolve, reject) => {
      const client = new Client();
      let got: string | undefined;
      const fail = (err: Error): void => {
        client.removeAllListeners('ready');
        client.on('error', () => undefined); // late errors of an abandoned attempt go nowhere
        client.destroy();
        const expected = this.#pins.map((p) => p.fingerprint);
        if (got !== undefined && !expected.includes(got))
          reject(new SshHostKeyMismatchError(o.host, expected, got));
        else reject(new SshConnectError(o.host, o.port, err));
      };
      client.once('error', fail);
      client.once('close', () => fail(new Error('connection closed during the handshake')));
      client.once('ready', () => {
        // Nagle's algorithm plus the bastion's delayed ACK holds small packets ~40 ms: each channel open would wait on it.
        client.setNoDelay(true);
        client.removeListener('error', fail);
        client.on('error', () => undefined); // until #adopt attaches the logging listener
        client.removeAllListeners('close');
        resolve(client);
      });
      client.connect({
        host: o.host,
        port: o.port,
        username: o.username,
        privateKey: o.privateKey,
        ...(o.passphrase === undefined ? {} : { passphrase: o.passphrase }),
        readyTimeout: o.readyTimeoutMs,
        keepaliveInterval: o.keepaliveIntervalMs,
        keepaliveCountMax: o.keepaliveCountMax,
        ...(o.hostKeyAlgorithms.length > 0
          ? { algorithms: { serverHostKey: [...o.hostKeyAlgorithms] } }
          : {}),
        // Without a verifier ssh2 accepts any host key: this is the pin.
        hostVerifier: (key: Buffer) => {
          got = fingerprintOf(key);
          return this.#pins.some((p) => p.fingerprint === got);
        },
      });
    });
  }

  async #doClose(): Promise<void> {
    this.#to('closing', 'close');
    clearTimeout(this.#retryTimer);
    for (const w of [...this.#waiters])
      w.reject(new IllegalStateError('bastion connection', 'closing', 'open a channel'));
    const client = this.#client;
    this.#client = undefined;
    if (client) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => client.destroy(), 2_000);
        client.once('close', () => {
          clearTimeout(force);
          resolve();
        });
        client.end();
      });
    }
    this.#to('closed', 'finish closing');
    this.#log.info({ state: 'closed' }, 'bastion connection closed');
  }

  #to(next: ConnectionState, action: string): void {
    if (!NEXT[this.#state].includes(next))
      throw new IllegalStateError('bastion connection', this.#state, action);
    this.#state = next;
  }
}

function execOn(client: Client, command: string): Promise<RemoteChannel> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) return reject(toError(err));
      // ssh2 emits 'exit' once, possibly in the same read as the open reply and
      // so before any caller listens: record it here, synchronously.
      let status: ExitStatus | undefined;
      channel.once('exit', (code: number | null, sig?: string) => {
        status = { code: code ?? null, signal: sig ?? null };
      });
      resolve({ channel, exitStatus: () => status });
    });
  });
}

function sftpOn(client: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    client.sftp((err, sftp) => (err ? reject(toError(err)) : resolve(sftp)));
  });
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(toError(signal?.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
