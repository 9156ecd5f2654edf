/**
 * Versioned documents: one value per znode, read with its version and
 * written by compare-and-set. Values over the node size limit are sharded
 * transparently (see ./shard.ts). Writes can be prepared and committed in one
 * multi-op transaction with other operations.
 */
import type { Stat, TxOp, Watcher, ZkClient } from './client.js';
import { type Codec, decodeAt } from './codec.js';
import {
  ZkBadVersionError,
  ZkConnectionLossError,
  ZkNodeExistsError,
  ZkNoNodeError,
  ZkSessionLostError,
} from './errors.js';
import { ZkUpdateConflictError } from './recipe-errors.js';
import {
  dropGeneration,
  parseHeader,
  prepareValue,
  readValue,
  type ShardHeader,
  type ShardOptions,
  unlessMissing,
} from './shard.js';

export interface Versioned<T> {
  readonly value: T;
  /** The znode's data version, to pass back to `write` or `delete`. */
  readonly version: number;
}

/** A value as read, with what a later write needs so that it costs no second read. */
export interface Stored<T> extends Versioned<T> {
  /** The generation the node points at (null: inline); dropped when it is replaced. */
  readonly header: ShardHeader | null;
}

export interface DocumentOptions extends ShardOptions {
  /** Where shards of large values go; default `<parent>/.shards`. */
  readonly blobRoot?: string;
  /** Bound on read-modify-write rounds lost to other writers; default 10. */
  readonly maxAttempts?: number;
}

/** Ops for one transaction, plus what to do once it committed or failed. */
export interface PreparedOps {
  readonly ops: readonly TxOp[];
  /** For a create or write: the header the node holds once committed (null: inline). */
  readonly header?: ShardHeader | null;
  committed(): Promise<void>;
  aborted(): Promise<void>;
}

export const ANY_VERSION = -1;
const DEFAULT_ATTEMPTS = 10;

interface Current {
  readonly version: number;
  readonly header: ShardHeader | null;
}

export class ZkDocument<T> {
  readonly blobRoot: string;
  private readonly maxAttempts: number;

  constructor(
    readonly client: ZkClient,
    readonly path: string,
    readonly codec: Codec<T>,
    private readonly options: DocumentOptions = {},
  ) {
    this.blobRoot = options.blobRoot ?? `${path.slice(0, path.lastIndexOf('/'))}/.shards`;
    this.maxAttempts = options.maxAttempts ?? DEFAULT_ATTEMPTS;
  }

  /** The value and its version, or null if the document does not exist. */
  async read(watcher?: Watcher): Promise<Versioned<T> | null> {
    const stored = await this.readStored(watcher);
    return stored && { value: stored.value, version: stored.version };
  }

  /** `read` plus the generation: pass it to `prepareWrite` and the write reads nothing. */
  async readStored(watcher?: Watcher): Promise<Stored<T> | null> {
    const stored = await readValue(this.client, this.path, watcher);
    if (!stored) return null;
    return {
      value: decodeAt(this.codec, this.path, stored.data),
      version: stored.stat.version,
      header: stored.header,
    };
  }

  /** Decodes what a data watch delivered; null when the value is sharded (then `read`). */
  fromSnapshot(snapshot: { readonly data: Buffer; readonly stat: Stat }): Stored<T> | null {
    if (parseHeader(snapshot.data, this.path) !== null) return null;
    const value = decodeAt(this.codec, this.path, snapshot.data);
    return { value, version: snapshot.stat.version, header: null };
  }

  /** Creates the document; ZkNodeExistsError if it exists. Missing parents are created. */
  async create(value: T): Promise<Versioned<T>> {
    await this.client.mkdirp(this.parent());
    return commitOne(this.client, await this.prepareCreate(value), value, 0);
  }

  /** Creates the document unless it exists; either way returns what is stored now. */
  async createIfAbsent(value: T): Promise<Versioned<T> & { created: boolean }> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const existing = await this.read();
      if (existing) return { ...existing, created: false };
      try {
        return { ...(await this.create(value)), created: true };
      } catch (e) {
        if (!(e instanceof ZkNodeExistsError)) throw e;
      }
    }
    throw new ZkUpdateConflictError(this.path, this.maxAttempts);
  }

  /**
   * Compare-and-set: ZkBadVersionError if the document changed since
   * `version` was read. ANY_VERSION writes whatever is there.
   */
  async write(value: T, version: number): Promise<Versioned<T>> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const current = await this.current(version);
      if (!current) throw new ZkNoNodeError(this.path);
      try {
        const prepared = await this.prepareAgainst(value, current);
        return await commitOne(this.client, prepared, value, current.version + 1);
      } catch (e) {
        if (!(e instanceof ZkBadVersionError) || version !== ANY_VERSION) throw e;
      }
    }
    throw new ZkUpdateConflictError(this.path, this.maxAttempts);
  }

  /**
   * Read-modify-write, retried when another writer got in between. `fn`
   * gets null when the document does not exist (it is then created); it may
   * run several times, so it must not have side effects.
   */
  async update(fn: (current: T | null) => T): Promise<Versioned<T>> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const stored = await readValue(this.client, this.path);
      const next = fn(stored ? decodeAt(this.codec, this.path, stored.data) : null);
      try {
        if (!stored) return await this.create(next);
        const at = { version: stored.stat.version, header: stored.header };
        const prepared = await this.prepareAgainst(next, at);
        return await commitOne(this.client, prepared, next, stored.stat.version + 1);
      } catch (e) {
        // Lost to another writer (or a delete, or a create): read again.
        const lost =
          e instanceof ZkBadVersionError ||
          e instanceof ZkNodeExistsError ||
          e instanceof ZkNoNodeError;
        if (!lost) throw e;
      }
    }
    throw new ZkUpdateConflictError(this.path, this.maxAttempts);
  }

  /** Deletes by compare-and-set; ANY_VERSION deletes unconditionally and accepts a missing document. */
  async delete(version: number = ANY_VERSION): Promise<void> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const current = await this.current(version);
      if (!current) return;
      try {
        await this.client.delete(this.path, current.version);
        await dropGeneration(this.client, current.header).catch(() => undefined);
        return;
      } catch (e) {
        if (!(e instanceof ZkBadVersionError) || version !== ANY_VERSION) throw e;
      }
    }
    throw new ZkUpdateConflictError(this.path, this.maxAttempts);
  }

  /** A create for `commit`. The parent must exist. */
  async prepareCreate(value: T): Promise<PreparedOps> {
    const v = await prepareValue(
      this.client,
      this.codec.encode(value),
      this.blobRoot,
      this.path,
      this.options,
    );
    return {
      ops: [{ op: 'create', path: this.path, data: v.nodeData }],
      header: v.header,
      committed: async () => {},
      aborted: () => v.discard(),
    };
  }

  /**
   * A compare-and-set write for `commit`. With ANY_VERSION the write is
   * still checked against the version read here, so that the generation it
   * replaces is known; the transaction then fails if someone wrote meanwhile.
   * Given what `read` returned, it reads nothing.
   */
  async prepareWrite(value: T, at: number | Stored<T>): Promise<PreparedOps> {
    if (typeof at !== 'number') return this.prepareAgainst(value, at);
    const current = await this.current(at);
    if (!current) throw new ZkNoNodeError(this.path);
    return this.prepareAgainst(value, current);
  }

  /** A compare-and-set delete for `commit`. */
  async prepareDelete(version: number): Promise<PreparedOps> {
    const current = await this.current(version);
    if (!current) throw new ZkNoNodeError(this.path);
    return {
      ops: [{ op: 'delete', path: this.path, version: current.version }],
      committed: () => dropGeneration(this.client, current.header),
      aborted: async () => {},
    };
  }

  private async prepareAgainst(value: T, current: Current): Promise<PreparedOps> {
    const v = await prepareValue(
      this.client,
      this.codec.encode(value),
      this.blobRoot,
      this.path,
      this.options,
    );
    return {
      ops: [{ op: 'set', path: this.path, data: v.nodeData, version: current.version }],
      header: v.header,
      committed: () => dropGeneration(this.client, current.header),
      aborted: () => v.discard(),
    };
  }

  /** The node's stat and header (shards not read); fails early on a version mismatch. */
  private async current(version: number): Promise<Current | null> {
    const node = await unlessMissing(this.client.get(this.path), null);
    if (!node) {
      if (version === ANY_VERSION) return null;
      throw new ZkBadVersionError(this.path);
    }
    if (version !== ANY_VERSION && node.stat.version !== version)
      throw new ZkBadVersionError(this.path);
    return { version: node.stat.version, header: parseHeader(node.data, this.path) };
  }

  private parent(): string {
    return this.path.slice(0, this.path.lastIndexOf('/')) || '/';
  }
}

/** What ops weigh in a transaction's request: paths, data and a little framing each. */
export function opBytes(items: readonly (TxOp | PreparedOps)[]): number {
  return items
    .flatMap((i) => ('ops' in i ? i.ops : [i]))
    .reduce((n, op) => n + op.path.length + ('data' in op ? (op.data?.length ?? 0) : 0) + 16, 0);
}

/**
 * Runs one multi-op transaction over plain ops and prepared document ops:
 * all or nothing. Returns the created paths of create ops, in order. Shards
 * that a failed transaction would have pointed at are removed; cleanup
 * failures after a commit only leave orphans for `sweepOrphanShards`. When
 * the outcome is unknown (the connection or session was lost before the
 * reply) they are kept: the transaction may have committed and point at
 * them; if it did not, they are orphans of the same kind.
 */
export async function commit(
  client: ZkClient,
  items: readonly (TxOp | PreparedOps)[],
): Promise<string[]> {
  const prepared = items.filter((i): i is PreparedOps => 'ops' in i);
  const ops = items.flatMap((i) => ('ops' in i ? i.ops : [i]));
  let created: string[];
  try {
    created = await client.transaction(ops);
  } catch (e) {
    const unknown = e instanceof ZkConnectionLossError || e instanceof ZkSessionLostError;
    if (!unknown) await Promise.all(prepared.map((p) => p.aborted().catch(() => undefined)));
    throw e;
  }
  await Promise.all(prepared.map((p) => p.committed().catch(() => undefined)));
  return created;
}

async function commitOne<T>(
  client: ZkClient,
  prepared: PreparedOps,
  value: T,
  nextVersion: number,
): Promise<Versioned<T>> {
  await commit(client, [prepared]);
  return { value, version: nextVersion };
}
