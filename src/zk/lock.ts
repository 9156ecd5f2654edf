/**
 * Mutex lock. Each contender creates a protected ephemeral sequential node
 * `<dir>/_c_<uuid>-lock-<seq>`; the lowest sequence holds the lock, every
 * other contender watches only the node just ahead of it (no herd).
 *
 * Fast path: create + list (pipelined with the watch on our own node), then
 * delete on release: three round trips for an uncontended acquire/release.
 *
 * A holder loses the lock with its session (the client declares the session
 * lost once the session timeout has passed while disconnected) or when its
 * node is deleted; `signal` is then aborted with a ZkLockLostError and
 * `onLost` is called. Between a disconnect and that moment the lock is in
 * doubt: `isHeld()` and `isStillValid()` say false, so re-check them before
 * any side effect that assumes the lock.
 */
import { IllegalStateError, toError } from '../errors.js';
import type { ZkClient } from './client.js';
import {
  ZkConnectionLossError,
  ZkLockLostError,
  ZkNoNodeError,
  ZkSessionLostError,
  ZkTimeoutError,
} from './errors.js';

export type LockState = 'idle' | 'acquiring' | 'held' | 'releasing';

export interface LockOptions {
  /** Stored in the lock node (who holds it, for operators). */
  readonly data?: Buffer;
  /** Called once when a held lock is lost. Never throws into the lock. */
  readonly onLost?: (error: ZkLockLostError) => void;
  /** Node name before the sequence number; contenders with another prefix are ignored. */
  readonly prefix?: string;
}

export interface AcquireOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** A node in the lock directory, with its sequence number. */
export interface Contender {
  readonly name: string;
  readonly sequence: number;
}

/** Contenders sorted by sequence; names of other shapes are ignored. Pure. */
export function contenders(names: readonly string[], prefix = 'lock-'): Contender[] {
  const shape = new RegExp(`${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\d{10})$`);
  return names
    .flatMap((name) => {
      const m = shape.exec(name);
      return m ? [{ name, sequence: Number(m[1]) }] : [];
    })
    .sort((a, b) => a.sequence - b.sequence);
}

export class ZkMutex {
  private _state: LockState = 'idle';
  private _node: string | undefined;
  private _sequence: number | undefined;
  private heldSession: string | undefined;
  private lost: AbortController | undefined;
  private readonly prefix: string;

  constructor(
    private readonly client: ZkClient,
    /** The lock directory, e.g. paths.pipelineLock('deploy'). */
    readonly path: string,
    private readonly options: LockOptions = {},
  ) {
    this.prefix = options.prefix ?? 'lock-';
  }

  get state(): LockState {
    return this._state;
  }
  /** Our node while acquiring or holding. */
  get node(): string | undefined {
    return this._node;
  }
  /** Sequence number of our node: increases with every contender, so usable as a fencing token. */
  get sequence(): number | undefined {
    return this._sequence;
  }
  /** Aborted (reason: ZkLockLostError) when the lock held now is lost; undefined unless held. */
  get signal(): AbortSignal | undefined {
    return this._state === 'held' ? this.lost?.signal : undefined;
  }

  /** Held, same session, and connected right now (no round trip). */
  isHeld(): boolean {
    return (
      this._state === 'held' &&
      this.client.state === 'connected' &&
      this.client.sessionId === this.heldSession &&
      !this.lost?.signal.aborted
    );
  }

  /** `isHeld()` plus a read proving our node still exists under our session. */
  async isStillValid(): Promise<boolean> {
    const node = this._node;
    if (!this.isHeld() || !node) return false;
    try {
      const stat = await this.client.exists(node);
      return stat !== null && stat.ephemeralOwner === this.heldSession && this.isHeld();
    } catch {
      return false;
    }
  }

  /** Takes the lock if nobody holds it; never waits. */
  async tryAcquire(): Promise<boolean> {
    this.begin('try to acquire the lock');
    try {
      const mine = this.adopt(await this.enqueue());
      const ahead = await this.aheadOf(mine);
      if (ahead === undefined) return this.hold(mine);
      await this.abandonNode(mine);
      return false;
    } catch (e) {
      await this.fail(e);
      throw toError(e);
    }
  }

  /** Waits for the lock; rejects with ZkTimeoutError, the signal's reason, or ZkSessionLostError. */
  async acquire(options: AcquireOptions = {}): Promise<void> {
    this.begin('acquire the lock');
    const waiter = new Waiter(this.client, this.path, options);
    try {
      const mine = this.adopt(await this.enqueueOrGiveUp(waiter));
      for (;;) {
        waiter.check();
        const ahead = await waiter.race(this.aheadOf(mine), ignore);
        if (ahead === undefined) {
          this.hold(mine);
          return;
        }
        waiter.expectWake();
        const watched = this.client.exists(`${this.path}/${ahead.name}`, () => waiter.wake());
        const stat = await waiter.race(watched, ignore);
        if (stat !== null) await waiter.sleep();
      }
    } catch (e) {
      await this.fail(e);
      throw toError(e);
    } finally {
      waiter.dispose();
    }
  }

  /**
   * Creates our node, unless the wait is given up first. Creating may wait
   * for a connection, so a timeout or abort does not wait for it then; the
   * node is deleted should it appear later. While connected, the reply is
   * moments away: wait for it and delete the node before rejecting, so a
   * failed acquire leaves no node behind.
   */
  private async enqueueOrGiveUp(waiter: Waiter): Promise<string> {
    const creating = this.enqueue();
    try {
      return await waiter.race(creating, (late) => {
        this.deleteOwnNode(late).catch(() => undefined);
      });
    } catch (e) {
      if (this.client.state === 'connected') {
        const late = await creating.catch(() => undefined);
        if (late !== undefined) await this.deleteOwnNode(late).catch(() => undefined);
      }
      throw e;
    }
  }

  /** Gives the lock up (deletes our node). Idempotent; a no-op unless held. */
  async release(): Promise<void> {
    if (this._state !== 'held') return;
    const node = this._node;
    this._state = 'releasing';
    this.detach?.();
    try {
      if (node) await this.deleteOwnNode(node);
    } finally {
      this.reset();
    }
  }

  // ---- internals ------------------------------------------------------

  private detach: (() => void) | undefined;

  private begin(action: string): void {
    if (this._state !== 'idle') throw new IllegalStateError('ZkMutex', this._state, action);
    this._state = 'acquiring';
  }

  /** Creates our node; the directory is created on first use only. */
  private async enqueue(): Promise<string> {
    const create = () =>
      this.client.create(`${this.path}/${this.prefix}`, this.options.data, {
        mode: 'ephemeral_sequential',
        protected: true,
      });
    let node: string;
    try {
      node = await create();
    } catch (e) {
      if (!(e instanceof ZkNoNodeError)) throw e;
      await this.client.mkdirp(this.path);
      node = await create();
    }
    return node;
  }

  private adopt(node: string): string {
    this._node = node;
    this._sequence = contenders([node.slice(node.lastIndexOf('/') + 1)], this.prefix)[0]?.sequence;
    this.heldSession = this.client.sessionId;
    return node;
  }

  /** The contender just ahead of `mine`, or undefined when `mine` is first. */
  private async aheadOf(mine: string): Promise<Contender | undefined> {
    const name = mine.slice(mine.lastIndexOf('/') + 1);
    const all = contenders(await this.client.children(this.path), this.prefix);
    const i = all.findIndex((c) => c.name === name);
    if (i < 0) throw new ZkLockLostError(this.path, 'our lock node vanished while waiting');
    return all[i - 1];
  }

  private hold(node: string): true {
    this._state = 'held';
    this.lost = new AbortController();
    const session = this.heldSession;
    const unlisten = this.client.addListener({
      onState: (s) => {
        if (s === 'lost' || s === 'closed') this.markLost(node, `ZooKeeper session ${s}`);
      },
      onNewSession: (id) => {
        if (id !== session) this.markLost(node, 'a new ZooKeeper session replaced ours');
      },
    });
    this.detach = unlisten;
    // Someone deleting our node (an operator, a cleanup) also ends the lock.
    this.client
      .exists(node, (e) => {
        if (e.type === 'deleted') this.markLost(node, 'lock node deleted');
      })
      .then(
        (stat) => {
          if (stat === null) this.markLost(node, 'lock node deleted');
        },
        (e: unknown) => {
          if (e instanceof ZkSessionLostError) this.markLost(node, 'ZooKeeper session lost');
        },
      );
    return true;
  }

  private markLost(node: string, reason: string): void {
    if (this._state !== 'held' || this._node !== node || !this.lost || this.lost.signal.aborted)
      return;
    const error = new ZkLockLostError(this.path, reason);
    this.lost.abort(error);
    try {
      this.options.onLost?.(error);
    } catch {
      // a listener's failure must not break the lock
    }
  }

  /** After a failed acquisition: take our node back out of the queue. */
  private async fail(e: unknown): Promise<void> {
    const node = this._node;
    if (node && !(e instanceof ZkSessionLostError)) await this.abandonNode(node);
    this.reset();
  }

  private async abandonNode(node: string): Promise<void> {
    try {
      await this.deleteOwnNode(node);
    } catch {
      // best effort: the node is ephemeral and goes with the session anyway
    }
    this.reset();
  }

  /** Delete is idempotent here, so it may be retried after a connection loss. */
  private async deleteOwnNode(node: string): Promise<void> {
    for (;;) {
      try {
        await this.client.delete(node);
        return;
      } catch (e) {
        if (e instanceof ZkNoNodeError || e instanceof ZkSessionLostError) return;
        if (!(e instanceof ZkConnectionLossError)) throw e;
        await this.client.waitConnected({ timeoutMs: this.client.sessionTimeoutMs * 2 });
      }
    }
  }

  private reset(): void {
    this.detach?.();
    this.detach = undefined;
    this._state = 'idle';
    this._node = undefined;
    this._sequence = undefined;
    this.heldSession = undefined;
  }
}

function ignore(): void {}

/**
 * One acquisition's wait: woken by a watch, failed by the deadline, the
 * caller's signal, or the loss of the session our node lives in.
 */
class Waiter {
  private woken = false;
  private failure: Error | undefined;
  private readonly onFail = new Set<(e: Error) => void>();
  private onWake: (() => void) | undefined;
  private readonly timer: ReturnType<typeof setTimeout> | undefined;
  private readonly unlisten: () => void;
  private readonly onAbort: () => void;

  constructor(
    client: ZkClient,
    path: string,
    private readonly options: AcquireOptions,
  ) {
    const { timeoutMs, signal } = options;
    if (timeoutMs !== undefined) {
      this.timer = setTimeout(
        () => this.fail(new ZkTimeoutError(`lock ${path}`, timeoutMs)),
        timeoutMs,
      );
    }
    this.onAbort = () => this.fail(toError(signal?.reason ?? new Error('aborted')));
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (signal?.aborted) this.onAbort();
    this.unlisten = client.addListener({
      onState: (s) => {
        if (s === 'lost' || s === 'closed') this.fail(new ZkSessionLostError(path));
      },
    });
  }

  check(): void {
    if (this.failure) throw this.failure;
  }

  /** Call before setting the watch, so a wake-up that comes early is kept. */
  expectWake(): void {
    this.woken = false;
  }

  wake(): void {
    this.woken = true;
    this.onWake?.();
  }

  /** Until the watch fires (at once if it already has) or the wait fails. */
  sleep(): Promise<void> {
    return this.race(
      new Promise<void>((resolve) => {
        if (this.woken) return resolve();
        this.onWake = resolve;
      }),
      ignore,
    );
  }

  /** `work`'s outcome, unless the wait fails first; then `orphan` gets the late value. */
  race<T>(work: Promise<T>, orphan: (late: T) => void): Promise<T> {
    this.check();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const failed = (e: Error) => {
        if (settled) return;
        settled = true;
        reject(e);
      };
      this.onFail.add(failed);
      work.then(
        (v) => {
          this.onFail.delete(failed);
          if (settled) return orphan(v);
          settled = true;
          resolve(v);
        },
        (e: unknown) => {
          this.onFail.delete(failed);
          failed(toError(e));
        },
      );
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const f of [...this.onFail]) f(this.failure);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.unlisten();
    this.onWake = undefined;
  }
}
