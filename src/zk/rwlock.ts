/**
 * Read/write lock: readers share it, a writer has it alone (pipeline
 * processing reads, reconfiguration writes). Each contender creates an
 * ephemeral sequential node `read-` or `write-` (protected, so a retried
 * create never leaves a twin behind) and waits, by an existence watch on
 * exactly one node, until nothing ahead of it conflicts:
 *   a reader waits for the last writer ahead of it;
 *   a writer waits for whoever is immediately ahead of it.
 * Arrival order is kept, so a stream of readers cannot starve a writer.
 *
 * Layout: <base>/<protection prefix>read-<seq> | <base>/<protection prefix>write-<seq>
 */
import type { ZkClient } from './client.js';
import { toError } from '../errors.js';
import { ZkNoNodeError, ZkSessionLostError, ZkTimeoutError } from './errors.js';

export type RwMode = 'read' | 'write';

export interface RwContender {
  readonly name: string;
  readonly mode: RwMode;
  readonly seq: number;
}

export interface RwAcquireOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

const NAME = /(read|write)-(\d{10})$/;

export function parseContender(name: string): RwContender | undefined {
  const m = NAME.exec(name);
  return m ? { name, mode: m[1] as RwMode, seq: Number(m[2]) } : undefined;
}

/** Nothing (we hold the lock), our node is gone, or the name of the node to wait for. */
export type Blocker =
  | { readonly kind: 'free' }
  | { readonly kind: 'gone' }
  | { readonly kind: 'wait'; readonly name: string };

/**
 * Whom `mine` must wait for among the contenders `names`. Pure.
 */
export function blockerOf(names: readonly string[], mine: string): Blocker {
  const all = names
    .map(parseContender)
    .filter((c): c is RwContender => c !== undefined)
    .sort((a, b) => a.seq - b.seq);
  const i = all.findIndex((c) => c.name === mine);
  const me = all[i];
  if (!me) return { kind: 'gone' };
  const ahead = all.slice(0, i);
  const blocker =
    me.mode === 'write' ? ahead.at(-1) : ahead.filter((c) => c.mode === 'write').at(-1);
  return blocker ? { kind: 'wait', name: blocker.name } : { kind: 'free' };
}

export class ZkReadWriteLock {
  constructor(
    readonly client: ZkClient,
    readonly basePath: string,
  ) {}

  /** The lock if it is free for `mode` right now, else null (leaving nothing behind). */
  async tryAcquire(mode: RwMode): Promise<RwLease | null> {
    const path = await this.enter(mode);
    const name = leaf(path);
    try {
      const blocker = blockerOf(await this.client.children(this.basePath), name);
      if (blocker.kind === 'gone') throw new ZkSessionLostError(path);
      if (blocker.kind === 'free')
        return new RwLease(this.client, path, mode, this.client.sessionId);
    } catch (e) {
      await this.leave(path);
      throw e;
    }
    await this.leave(path);
    return null;
  }

  /**
   * Waits for the lock. Rejects with ZkTimeoutError after `timeoutMs`, with
   * the signal's reason on abort, with ZkSessionLostError if our node went
   * with the session; in every case our node is removed.
   */
  async acquire(mode: RwMode, options: RwAcquireOptions = {}): Promise<RwLease> {
    options.signal?.throwIfAborted();
    const path = await this.enter(mode);
    try {
      await this.waitTurn(path, mode, options);
      return new RwLease(this.client, path, mode, this.client.sessionId);
    } catch (e) {
      await this.leave(path);
      throw toError(e);
    }
  }

  /** Current contenders (holders and waiters) in arrival order. */
  async contenders(): Promise<RwContender[]> {
    const names = await this.client.children(this.basePath).catch((e: unknown) => {
      if (e instanceof ZkNoNodeError) return [];
      throw e;
    });
    return names
      .map(parseContender)
      .filter((c): c is RwContender => c !== undefined)
      .sort((a, b) => a.seq - b.seq);
  }

  private async enter(mode: RwMode): Promise<string> {
    const opts = { mode: 'ephemeral_sequential', protected: true } as const;
    try {
      return await this.client.create(`${this.basePath}/${mode}-`, undefined, opts);
    } catch (e) {
      if (!(e instanceof ZkNoNodeError)) throw e;
      await this.client.mkdirp(this.basePath);
      return this.client.create(`${this.basePath}/${mode}-`, undefined, opts);
    }
  }

  private async leave(path: string): Promise<void> {
    if (this.client.state === 'closed') return;
    await this.client.delete(path).catch(() => undefined);
  }

  private async waitTurn(path: string, mode: RwMode, options: RwAcquireOptions): Promise<void> {
    const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
    for (;;) {
      const blocker = blockerOf(await this.client.children(this.basePath), leaf(path));
      if (blocker.kind === 'free') return;
      if (blocker.kind === 'gone') throw new ZkSessionLostError(path);
      const timeout = (): Error =>
        new ZkTimeoutError(`a ${mode} lock on ${this.basePath}`, options.timeoutMs ?? 0);
      await this.waitGone(`${this.basePath}/${blocker.name}`, deadline, timeout, options.signal);
    }
  }

  /**
   * Resolves when `other` is deleted (or already was) or the session ends or
   * is replaced (our node may be gone: look again); rejects on timeout or abort.
   */
  private waitGone(
    other: string,
    deadline: number | undefined,
    timeout: () => Error,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const cleanups: (() => void)[] = [];
      let settled = false;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        cleanups.forEach((c) => c());
        if (err) reject(err);
        else resolve();
      };
      if (deadline !== undefined) {
        const t = setTimeout(() => finish(timeout()), Math.max(0, deadline - Date.now()));
        cleanups.push(() => clearTimeout(t));
      }
      if (signal) {
        const onAbort = (): void => finish(toError(signal.reason));
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        cleanups.push(() => signal.removeEventListener('abort', onAbort));
      }
      cleanups.push(
        this.client.addListener({
          onState: (s) => s === 'lost' && finish(),
          onNewSession: () => finish(),
        }),
      );
      this.client
        .exists(other, () => finish())
        .then(
          (stat) => stat === null && finish(),
          (e: unknown) => finish(toError(e)),
        );
    });
  }
}

export type RwLeaseState = 'held' | 'released';

export class RwLease {
  private current: RwLeaseState = 'held';
  private releasing: Promise<void> | undefined;

  constructor(
    readonly client: ZkClient,
    readonly path: string,
    readonly mode: RwMode,
    readonly sessionId: string | undefined,
  ) {}

  get state(): RwLeaseState {
    return this.current;
  }

  /**
   * Re-check before any side effect that assumes the lock: still ours, the
   * session it was taken under is still the current one, and the node exists.
   */
  async isStillValid(): Promise<boolean> {
    if (this.current !== 'held' || this.client.state !== 'connected') return false;
    if (this.client.sessionId !== this.sessionId) return false;
    const stat = await this.client.exists(this.path).catch(() => null);
    return stat !== null && stat.ephemeralOwner === this.sessionId;
  }

  /** Deletes our node. Idempotent: a second call returns the same promise. */
  release(): Promise<void> {
    this.releasing ??= (async () => {
      this.current = 'released';
      if (this.client.state === 'closed') return;
      await this.client.delete(this.path).catch((e: unknown) => {
        if (!(e instanceof ZkNoNodeError) && !(e instanceof ZkSessionLostError)) throw e;
      });
    })();
    return this.releasing;
  }
}

function leaf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
