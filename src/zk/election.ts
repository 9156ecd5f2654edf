/**
 * Leader election over the mutex's node layout: the candidate holding the
 * lock is the leader. Its node's sequence number is the fencing token: it
 * grows with every candidacy, so a newer leader always has a larger token
 * than any leader before it, and a resource that remembers the largest token
 * it has seen can refuse a deposed leader's late writes.
 *
 * A leader that loses its session (or its node) is told, stops being leader,
 * and campaigns again on the next session until `stop()`.
 */
import { IllegalStateError, toError } from '../errors.js';
import type { ZkClient } from './client.js';
import { ZkLockLostError, ZkTimeoutError } from './errors.js';
import { contenders, ZkMutex } from './lock.js';
import type { ZkLogger } from './zk-session.js';

export type ElectionState = 'idle' | 'campaigning' | 'leader' | 'stopped';

export interface ElectionOptions {
  /** Stored in the candidate's node: who it is, for `leaderOf` and operators. */
  readonly data?: Buffer;
  /** Became leader. `signal` aborts when this leadership ends. Must not throw. */
  readonly onElected?: (token: number, signal: AbortSignal) => void;
  /** Leadership lost (session or node gone); campaigning again. Must not throw. */
  readonly onDefeated?: (error: ZkLockLostError) => void;
  readonly logger?: ZkLogger;
}

export interface LeaderInfo {
  readonly node: string;
  readonly token: number;
  readonly data: Buffer;
}

/** Pause before campaigning again after an unexpected error (not a session loss). */
const RETRY_PAUSE_MS = 1000;

export class LeaderElection {
  private _state: ElectionState = 'idle';
  private mutex: ZkMutex | undefined;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly client: ZkClient,
    /** The election directory, e.g. paths.election('timers'). */
    readonly path: string,
    private readonly options: ElectionOptions = {},
  ) {}

  get state(): ElectionState {
    return this._state;
  }

  /** Sequence number of the leader's node while we lead; undefined otherwise. */
  get fencingToken(): number | undefined {
    return this._state === 'leader' ? this.mutex?.sequence : undefined;
  }

  /** Aborted when the current leadership ends; undefined unless leader. */
  get signal(): AbortSignal | undefined {
    return this._state === 'leader' ? this.mutex?.signal : undefined;
  }

  /** Leader, connected, same session (no round trip). */
  isLeader(): boolean {
    return this._state === 'leader' && (this.mutex?.isHeld() ?? false);
  }

  /** `isLeader()` plus a read proving our node is still there. */
  async isStillLeader(): Promise<boolean> {
    return this._state === 'leader' && ((await this.mutex?.isStillValid()) ?? false);
  }

  start(): void {
    if (this._state !== 'idle') throw new IllegalStateError('LeaderElection', this._state, 'start');
    this._state = 'campaigning';
    this.running = this.campaign().catch((e: unknown) => {
      this.options.logger?.error({ err: toError(e), election: this.path }, 'election loop failed');
    });
  }

  /** Resolves with the fencing token once we lead. */
  waitLeader(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (err?: Error) => {
        this.waiters.delete(check);
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        const token = this.fencingToken;
        if (err) reject(err);
        else if (token === undefined)
          reject(new IllegalStateError('LeaderElection', this._state, 'wait for leadership'));
        else resolve(token);
      };
      const check = () => {
        if (this._state === 'leader') finish();
        else if (this._state === 'stopped')
          finish(new IllegalStateError('LeaderElection', 'stopped', 'wait for leadership'));
      };
      const onAbort = () => finish(toError(options.signal?.reason ?? new Error('aborted')));
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        const ms = options.timeoutMs;
        timer = setTimeout(() => finish(new ZkTimeoutError(`leadership of ${this.path}`, ms)), ms);
      }
      this.waiters.add(check);
      check();
    });
  }

  /** Resigns and stops campaigning. Idempotent: the same promise every time. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping.abort(new IllegalStateError('LeaderElection', 'stopped', 'campaign'));
      await this.running;
      await this.mutex?.release();
      this.setState('stopped');
    })();
    return this.stopped;
  }

  /** The current leader, read from ZooKeeper (any client may ask). */
  static async leaderOf(client: ZkClient, path: string): Promise<LeaderInfo | undefined> {
    for (;;) {
      const first = contenders(await client.children(path).catch(() => []))[0];
      if (!first) return undefined;
      const node = `${path}/${first.name}`;
      try {
        const { data } = await client.get(node);
        return { node, token: first.sequence, data };
      } catch {
        // it went away between the two reads: look again
      }
    }
  }

  private async campaign(): Promise<void> {
    const stop = this.stopping.signal;
    while (!stop.aborted) {
      const mutex = new ZkMutex(this.client, this.path, {
        ...(this.options.data ? { data: this.options.data } : {}),
      });
      this.mutex = mutex;
      try {
        await this.client.waitConnected({ signal: stop });
        await mutex.acquire({ signal: stop });
      } catch (e) {
        if (stop.aborted) return;
        this.options.logger?.warn(
          { err: toError(e), election: this.path },
          'campaign failed; retrying',
        );
        await pause(RETRY_PAUSE_MS, stop);
        continue;
      }
      const lost = await this.lead(mutex, stop);
      if (!lost) return;
      this.setState('campaigning');
      try {
        this.options.onDefeated?.(lost);
      } catch {
        // listeners must not break the election
      }
      await mutex.release().catch(() => undefined);
    }
  }

  /** Leads until the lock is lost (returns why) or we are stopped (returns undefined). */
  private async lead(mutex: ZkMutex, stop: AbortSignal): Promise<ZkLockLostError | undefined> {
    const held = mutex.signal;
    const token = mutex.sequence;
    if (!held || token === undefined) return new ZkLockLostError(this.path, 'lock not held');
    this.setState('leader');
    this.options.logger?.info({ election: this.path, token }, 'elected leader');
    try {
      this.options.onElected?.(token, held);
    } catch {
      // listeners must not break the election
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        held.removeEventListener('abort', done);
        stop.removeEventListener('abort', done);
        resolve();
      };
      if (held.aborted || stop.aborted) return done();
      held.addEventListener('abort', done);
      stop.addEventListener('abort', done);
    });
    if (stop.aborted && !held.aborted) return undefined;
    const reason: unknown = held.reason;
    return reason instanceof ZkLockLostError ? reason : new ZkLockLostError(this.path, 'lost');
  }

  private setState(next: ElectionState): void {
    this._state = next;
    for (const w of [...this.waiters]) w();
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
