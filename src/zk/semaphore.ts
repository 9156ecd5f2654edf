/**
 * Counting semaphores. Each semaphore is ONE znode whose data is the JSON
 * list of its holders; every change is a compare-and-set on that node, so
 * `max` can never be exceeded. A holder names an ephemeral node of its owner
 * (its build lock, its component registration...): once that node is gone
 * the holder is stale and anyone may remove it. Several semaphores are taken
 * all or nothing in one multi-op transaction over their versions.
 *
 * Layout: <path>   JSON [{ "id": holder id, "owner": ephemeral node path }]
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { TxOp, ZkClient } from './client.js';
import { decodeAt, jsonCodec } from './codec.js';
import { toError } from '../errors.js';
import { ZkBadVersionError, ZkNodeExistsError, ZkNoNodeError, ZkTimeoutError } from './errors.js';
import { ZkRecipeArgumentError, ZkUpdateConflictError } from './recipe-errors.js';
import { unlessMissing } from './shard.js';

export interface SemaphoreHolder {
  readonly id: string;
  /** Path of an ephemeral node; the holder is stale once it is gone. */
  readonly owner: string;
}

export interface SemaphoreSpec {
  readonly path: string;
  readonly max: number;
}

export interface SemaphoreOptions {
  /** Bound on rounds lost to concurrent writers; default 50. */
  readonly maxAttempts?: number;
}

const DEFAULT_ATTEMPTS = 50;
const codec = jsonCodec<SemaphoreHolder[]>(parseHolders);

export function parseHolders(value: unknown): SemaphoreHolder[] {
  const ok =
    Array.isArray(value) &&
    value.every(
      (h: unknown) =>
        typeof h === 'object' &&
        h !== null &&
        typeof (h as Record<string, unknown>).id === 'string' &&
        typeof (h as Record<string, unknown>).owner === 'string',
    );
  if (!ok) throw new TypeError('expected a list of { id, owner }');
  return (value as SemaphoreHolder[]).map(({ id, owner }) => ({ id, owner }));
}

export class ZkSemaphore {
  constructor(
    readonly client: ZkClient,
    readonly path: string,
    readonly max: number,
    private readonly options: SemaphoreOptions = {},
  ) {
    checkMax(path, max);
  }

  /** Takes a slot unless all `max` are held; true if `holderId` holds it now (also if it already did). */
  tryAcquire(holderId: string, owner: string): Promise<boolean> {
    return tryAcquireAll(
      this.client,
      [{ path: this.path, max: this.max }],
      { id: holderId, owner },
      this.options,
    );
  }

  /** Gives the slot back; false if `holderId` did not hold it. */
  async release(holderId: string): Promise<boolean> {
    return (await releaseAll(this.client, [this.path], holderId, this.options)) > 0;
  }

  /** The current holders, stale ones included. */
  async holders(): Promise<SemaphoreHolder[]> {
    return (await readSemaphore(this.client, this.path, false))?.holders ?? [];
  }

  /** Removes holders whose owner node is gone; returns them. */
  async cleanup(): Promise<SemaphoreHolder[]> {
    for (let attempt = 1; attempt <= (this.options.maxAttempts ?? DEFAULT_ATTEMPTS); attempt++) {
      const s = await readSemaphore(this.client, this.path, false);
      if (!s) return [];
      const stale = await staleOwners(this.client, s.holders);
      const removed = s.holders.filter((h) => stale.has(h.owner));
      if (removed.length === 0) return [];
      const keep = s.holders.filter((h) => !stale.has(h.owner));
      try {
        await this.client.set(this.path, codec.encode(keep), s.version);
        return removed;
      } catch (e) {
        if (!(e instanceof ZkBadVersionError)) throw e;
      }
      await backoff(attempt);
    }
    throw new ZkUpdateConflictError(this.path, this.options.maxAttempts ?? DEFAULT_ATTEMPTS);
  }
}

/**
 * Takes every semaphore in `specs` for `holder`, or none: false when any is
 * full (after dropping its stale holders). The owner node must exist.
 */
export async function tryAcquireAll(
  client: ZkClient,
  specs: readonly SemaphoreSpec[],
  holder: SemaphoreHolder,
  options: SemaphoreOptions = {},
): Promise<boolean> {
  specs.forEach((s) => checkMax(s.path, s.max));
  if (new Set(specs.map((s) => s.path)).size !== specs.length) {
    throw new ZkRecipeArgumentError('semaphores', 'the same semaphore is named twice');
  }
  const attempts = options.maxAttempts ?? DEFAULT_ATTEMPTS;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const states = await Promise.all(specs.map((s) => readSemaphore(client, s.path, true)));
    const stale = await staleOwners(client, [...states.flatMap((s) => s?.holders ?? []), holder]);
    if (stale.has(holder.owner)) throw new ZkNoNodeError(holder.owner);
    const ops: TxOp[] = [];
    for (const [i, spec] of specs.entries()) {
      const state = states[i];
      const next = state ? admit(state.holders, stale, holder, spec.max) : null;
      if (!state || !next) return false;
      ops.push({ op: 'set', path: spec.path, data: codec.encode(next), version: state.version });
    }
    try {
      await client.transaction(ops);
      return true;
    } catch (e) {
      if (!(e instanceof ZkBadVersionError) && !(e instanceof ZkNoNodeError)) throw e;
    }
    await backoff(attempt);
  }
  throw new ZkUpdateConflictError(specs.map((s) => s.path).join(', '), attempts);
}

/** Releases `holderId` from every semaphore in `paths` in one transaction; returns how many it held. */
export async function releaseAll(
  client: ZkClient,
  paths: readonly string[],
  holderId: string,
  options: SemaphoreOptions = {},
): Promise<number> {
  const attempts = options.maxAttempts ?? DEFAULT_ATTEMPTS;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const states = await Promise.all(
      paths.map(async (path) => ({ path, s: await readSemaphore(client, path, false) })),
    );
    const ops: TxOp[] = states.flatMap(({ path, s }) =>
      s && s.holders.some((h) => h.id === holderId)
        ? [
            {
              op: 'set',
              path,
              data: codec.encode(s.holders.filter((h) => h.id !== holderId)),
              version: s.version,
            },
          ]
        : [],
    );
    if (ops.length === 0) return 0;
    try {
      await client.transaction(ops);
      return ops.length;
    } catch (e) {
      if (!(e instanceof ZkBadVersionError) && !(e instanceof ZkNoNodeError)) throw e;
    }
    await backoff(attempt);
  }
  throw new ZkUpdateConflictError(paths.join(', '), attempts);
}

export interface SemaphoreWaitOptions extends SemaphoreOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Takes every semaphore in `specs`, waiting while any is full: woken by a
 * change to a semaphore node or by the end of a holder's owner, never by
 * polling. Rejects with ZkTimeoutError or the signal's reason.
 */
export async function acquireAll(
  client: ZkClient,
  specs: readonly SemaphoreSpec[],
  holder: SemaphoreHolder,
  options: SemaphoreWaitOptions = {},
): Promise<void> {
  const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    if (await tryAcquireAll(client, specs, holder, options)) return;
    await waitForRoom(client, specs, holder, deadline, options);
  }
}

/** Resolves once a retry may succeed (something changed, or room was seen while arming the watches). */
function waitForRoom(
  client: ZkClient,
  specs: readonly SemaphoreSpec[],
  holder: SemaphoreHolder,
  deadline: number | undefined,
  options: SemaphoreWaitOptions,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const cleanups: (() => void)[] = [];
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      cleanups.forEach((c) => c());
      if (err) reject(err);
      else resolve();
    };
    if (deadline !== undefined) {
      const what = `room in semaphores ${specs.map((s) => s.path).join(', ')}`;
      const t = setTimeout(
        () => finish(new ZkTimeoutError(what, options.timeoutMs ?? 0)),
        Math.max(0, deadline - Date.now()),
      );
      cleanups.push(() => clearTimeout(t));
    }
    const signal = options.signal;
    if (signal) {
      const onAbort = (): void => finish(toError(signal.reason));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    // Watches are armed by the same reads that decide whether to wait, so no change slips between them.
    const wake = (): void => finish();
    const arm = async (): Promise<boolean> => {
      let blocked = false;
      for (const spec of specs) {
        const node = await unlessMissing(client.get(spec.path, wake), null);
        if (!node) return false;
        const holders = decodeAt(codec, spec.path, node.data);
        const gone = await Promise.all(
          holders.map(async (h) => ((await client.exists(h.owner, wake)) ? null : h.owner)),
        );
        const stale = new Set(gone.filter((o): o is string => o !== null));
        if (!admit(holders, stale, holder, spec.max)) blocked = true;
      }
      return blocked;
    };
    arm().then(
      (blocked) => blocked || finish(),
      (e: unknown) => finish(toError(e)),
    );
  });
}

/**
 * The holder list after admitting `holder`, without stale holders; null
 * when the semaphore is full. Pure.
 */
export function admit(
  holders: readonly SemaphoreHolder[],
  stale: ReadonlySet<string>,
  holder: SemaphoreHolder,
  max: number,
): SemaphoreHolder[] | null {
  const live = holders.filter((h) => !stale.has(h.owner));
  if (live.some((h) => h.id === holder.id)) return live;
  if (live.length >= max) return null;
  return [...live, { id: holder.id, owner: holder.owner }];
}

async function readSemaphore(
  client: ZkClient,
  path: string,
  create: boolean,
): Promise<{ holders: SemaphoreHolder[]; version: number } | null> {
  for (;;) {
    const node = await unlessMissing(client.get(path), null);
    if (node) return { holders: decodeAt(codec, path, node.data), version: node.stat.version };
    if (!create) return null;
    await client.mkdirp(path.slice(0, path.lastIndexOf('/')) || '/');
    await client.create(path, codec.encode([])).catch((e: unknown) => {
      if (!(e instanceof ZkNodeExistsError)) throw e;
    });
  }
}

/** The owner paths among `holders` whose node no longer exists. */
async function staleOwners(
  client: ZkClient,
  holders: readonly SemaphoreHolder[],
): Promise<Set<string>> {
  const owners = [...new Set(holders.map((h) => h.owner))];
  const gone = await Promise.all(
    owners.map(async (o) => ((await client.exists(o)) === null ? o : null)),
  );
  return new Set(gone.filter((o): o is string => o !== null));
}

function checkMax(path: string, max: number): void {
  if (!Number.isInteger(max) || max < 1)
    throw new ZkRecipeArgumentError('max', `${path}: ${max} is not a positive integer`);
}

/** Random pause that grows with the attempt, so racing writers spread out. */
async function backoff(attempt: number): Promise<void> {
  await delay(Math.random() * Math.min(5 * attempt, 50));
}
