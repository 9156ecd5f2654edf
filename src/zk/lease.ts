/**
 * Lease: one ephemeral node that is taken and given back inside the caller's
 * own transactions, so that taking it commits atomically with the write it
 * guards and giving it back with the write that ends it. There is no queue:
 * whoever creates the node holds it, a second create fails (node exists).
 *
 * Like a mutex holder, a lease holder loses it with its session or when the
 * node is deleted: `signal` is then aborted with a ZkLockLostError and
 * `onLost` is called. `returnOp()` deletes the node at version 0, so a
 * transaction carrying it fails (ZkNoNodeError on `path`) once the lease is
 * gone: the write it guards can never follow a lost lease.
 */
import { IllegalStateError } from '../errors.js';
import type { TxOp, ZkClient } from './client.js';
import {
  ZkConnectionLossError,
  ZkLockLostError,
  ZkNoNodeError,
  ZkSessionLostError,
} from './errors.js';

export type LeaseState = 'idle' | 'held' | 'returning' | 'returned';

export interface LeaseOptions {
  /** Stored in the node (who holds it, for operators). */
  readonly data?: Buffer;
  /** Called once when a held lease is lost. Never throws into the lease. */
  readonly onLost?: (error: ZkLockLostError) => void;
}

export class ZkLease {
  #state: LeaseState = 'idle';
  #session: string | undefined;
  #lost: AbortController | undefined;
  #unlisten: (() => void) | undefined;
  /** The node was deleted while a return was in flight: lost, should that return fail. */
  #goneWhileReturning = false;

  constructor(
    private readonly client: ZkClient,
    readonly path: string,
    private readonly options: LeaseOptions = {},
  ) {}

  get state(): LeaseState {
    return this.#state;
  }
  /** Aborted (reason: ZkLockLostError) once the held lease is lost; undefined unless held. */
  get signal(): AbortSignal | undefined {
    return this.#state === 'held' || this.#state === 'returning' ? this.#lost?.signal : undefined;
  }

  /** Held, not lost, same session and connected right now (no round trip). */
  isHeld(): boolean {
    return (
      this.#state === 'held' &&
      this.client.state === 'connected' &&
      this.client.sessionId === this.#session &&
      this.#lost?.signal.aborted === false
    );
  }

  /** The create for the transaction that takes the lease; call `taken` once it committed. */
  takeOp(): TxOp {
    return { op: 'create', path: this.path, data: this.options.data, mode: 'ephemeral' };
  }

  /**
   * Records that the transaction carrying `takeOp()` committed under
   * `session` (the session id read just before sending it). Starts watching
   * for the loss of the session and of the node (one request).
   */
  taken(session: string | undefined): void {
    if (this.#state !== 'idle') throw new IllegalStateError('ZkLease', this.#state, 'be taken');
    this.#state = 'held';
    this.#session = session;
    this.#lost = new AbortController();
    this.#unlisten = this.client.addListener({
      onState: (s) => {
        if (s === 'lost' || s === 'closed') this.#markLost(`ZooKeeper session ${s}`);
      },
      onNewSession: (id) => {
        if (id !== session) this.#markLost('a new ZooKeeper session replaced ours');
      },
    });
    // Committed under a session that is already gone: so is the node.
    if (this.client.sessionId !== session) this.#markLost('the session changed while taking it');
    this.client
      .exists(this.path, (e) => {
        if (e.type === 'deleted') this.#nodeGone();
      })
      .then(
        (stat) => stat === null && this.#nodeGone(),
        (e: unknown) => {
          if (e instanceof ZkSessionLostError) this.#markLost('ZooKeeper session lost');
        },
      );
  }

  /**
   * The delete for the transaction that gives the lease back: it fails the
   * transaction when the lease is gone. Call `returned(committed)` after.
   */
  returnOp(): TxOp {
    if (this.#state === 'held') this.#state = 'returning';
    return { op: 'delete', path: this.path, version: 0 };
  }

  /** After the transaction carrying `returnOp()`: committed or not. */
  returned(committed: boolean): void {
    if (this.#state !== 'returning') return;
    if (committed) return this.#reset('returned');
    this.#state = 'held';
    if (this.#goneWhileReturning) this.#markLost('lease node deleted');
    this.#goneWhileReturning = false;
  }

  /** Gives the lease back on its own (deletes the node). Idempotent; a no-op unless held. */
  async release(): Promise<void> {
    if (this.#state !== 'held' && this.#state !== 'returning') return;
    const session = this.#session;
    this.#reset('returned');
    for (;;) {
      try {
        // Only our own node: after a lost session the path may be someone else's.
        const stat = await this.client.exists(this.path);
        if (stat === null || stat.ephemeralOwner !== session) return;
        await this.client.delete(this.path, stat.version);
        return;
      } catch (e) {
        if (e instanceof ZkNoNodeError || e instanceof ZkSessionLostError) return;
        if (!(e instanceof ZkConnectionLossError)) throw e;
        await this.client.waitConnected({ timeoutMs: this.client.sessionTimeoutMs * 2 });
      }
    }
  }

  #nodeGone(): void {
    if (this.#state === 'returning') this.#goneWhileReturning = true;
    else this.#markLost('lease node deleted');
  }

  #markLost(reason: string): void {
    const holding = this.#state === 'held' || this.#state === 'returning';
    if (!holding || !this.#lost || this.#lost.signal.aborted) return;
    const error = new ZkLockLostError(this.path, reason);
    this.#lost.abort(error);
    try {
      this.options.onLost?.(error);
    } catch {
      // a listener's failure must not break the lease
    }
  }

  #reset(state: LeaseState): void {
    this.#unlisten?.();
    this.#unlisten = undefined;
    this.#state = state;
  }
}
