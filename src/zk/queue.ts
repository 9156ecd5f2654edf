/**
 * A sequential event queue. Producers append persistent sequential nodes;
 * consumers read them in order and delete ("ack") each one only after they
 * have written the state it caused. Delivery is at least once: a consumer
 * that dies before acking leaves the event for the next one, so handlers
 * must be idempotent. With a lock held around read-process-ack, several
 * consumers process each event exactly once.
 *
 * Layout (see docs/zookeeper-recipes.md):
 *   <base>/entries/<protection prefix>e-<10-digit sequence>   payload or shard header
 *   <base>/blobs/<gen>/<shard>                                 shards of large payloads
 */
import type { ZkClient } from './client.js';
import { type Codec, decodeAt } from './codec.js';
import type { PreparedOps } from './document.js';
import { toError } from '../errors.js';
import { ZkNoNodeError } from './errors.js';
import {
  dropGeneration,
  parseHeader,
  prepareValue,
  readValue,
  type ShardHeader,
  type ShardOptions,
  unlessMissing,
} from './shard.js';
import { type StopWatch, watchChildren, type WatchOptions } from './watch.js';

export interface QueueEntry<T> {
  /** Node name under `<base>/entries`; pass it to `ack`. */
  readonly id: string;
  readonly seq: number;
  readonly value: T;
  /** The generation a large payload's shards are in (null: inline); `prepareAck` drops it. */
  readonly header?: ShardHeader | null;
}

export type QueueOptions = ShardOptions;

const PREFIX = 'e-';
const SEQ = /(\d{10})$/;

/** The sequence number in an entry's name, or undefined for a name that is not an entry. */
export function entrySeq(id: string): number | undefined {
  const m = SEQ.exec(id);
  return m && id.includes(PREFIX) ? Number(m[1]) : undefined;
}

/** Entry names in queue order; names that are not entries are left out. */
export function orderEntries(ids: readonly string[]): string[] {
  return ids
    .map((id) => ({ id, seq: entrySeq(id) }))
    .filter((e): e is { id: string; seq: number } => e.seq !== undefined)
    .sort((a, b) => a.seq - b.seq)
    .map((e) => e.id);
}

export class ZkEventQueue<T> {
  readonly entriesPath: string;
  readonly blobRoot: string;

  constructor(
    readonly client: ZkClient,
    readonly basePath: string,
    readonly codec: Codec<T>,
    private readonly options: QueueOptions = {},
  ) {
    this.entriesPath = `${basePath}/entries`;
    this.blobRoot = `${basePath}/blobs`;
  }

  /**
   * Appends an event; returns its id. The create is protected: if the
   * connection drops mid-request, the client finds our node instead of
   * making a second one, so a retried put never duplicates.
   */
  async put(value: T): Promise<string> {
    const v = await prepareValue(
      this.client,
      this.codec.encode(value),
      this.blobRoot,
      this.entriesPath,
      this.options,
    );
    try {
      return lastSegment(await this.createEntry(v.nodeData));
    } catch (e) {
      await v.discard().catch(() => undefined);
      throw e;
    }
  }

  /**
   * An append for `commit` (with, say, the state write that caused it). Not
   * protected: a transaction that must not be repeated should also carry a
   * compare-and-set, which makes its retry fail instead of duplicating.
   * `entriesPath` must exist (see `init`).
   */
  async preparePut(value: T): Promise<PreparedOps> {
    const v = await prepareValue(
      this.client,
      this.codec.encode(value),
      this.blobRoot,
      this.entriesPath,
      this.options,
    );
    const path = `${this.entriesPath}/${PREFIX}`;
    return {
      ops: [{ op: 'create', path, data: v.nodeData, mode: 'persistent_sequential' }],
      committed: async () => {},
      aborted: () => v.discard(),
    };
  }

  /** Creates the queue's nodes; put does so lazily, transactions need them first. */
  async init(): Promise<void> {
    await this.client.mkdirp(this.entriesPath);
  }

  /** Ids of the pending events, oldest first. */
  async ids(): Promise<string[]> {
    return orderEntries(await unlessMissing(this.client.children(this.entriesPath), []));
  }

  /** Pending events, oldest first (at most `limit`). Events acked while we read are left out. */
  async read(limit = Infinity): Promise<QueueEntry<T>[]> {
    const ids = (await this.ids()).slice(0, limit);
    const entries = await Promise.all(ids.map((id) => this.readOne(id)));
    return entries.filter((e): e is QueueEntry<T> => e !== null);
  }

  /**
   * The entries of `ids` (from `ids()`), in that order, each read on its own:
   * one that cannot be read or decoded is an error in its place and does not
   * hide the others; those acked meanwhile are left out.
   */
  async readEach(
    ids: readonly string[],
  ): Promise<(QueueEntry<T> | { id: string; error: Error })[]> {
    const entries = await Promise.all(
      ids.map((id) => this.readOne(id).catch((e: unknown) => ({ id, error: toError(e) }))),
    );
    return entries.filter((e) => e !== null);
  }

  /** Deletes an event once its effects are stored. Acking twice, or an unknown id, is harmless. */
  async ack(id: string): Promise<void> {
    const path = `${this.entriesPath}/${id}`;
    const node = await unlessMissing(this.client.get(path), null);
    if (!node) return;
    try {
      await this.client.delete(path);
    } catch (e) {
      if (e instanceof ZkNoNodeError) return; // another consumer acked it first
      throw e;
    }
    await dropGeneration(this.client, parseHeader(node.data, path));
  }

  /**
   * Acks for `commit`, in one transaction with the state the events caused.
   * The transaction fails (ZkNoNodeError) if another consumer acked one first.
   */
  prepareAck(entries: readonly QueueEntry<T>[]): PreparedOps {
    return {
      ops: entries.map((e) => ({ op: 'delete', path: `${this.entriesPath}/${e.id}` }) as const),
      committed: async () => {
        await Promise.all(entries.map((e) => dropGeneration(this.client, e.header ?? null)));
      },
      aborted: async () => {},
    };
  }

  /**
   * Calls `cb` with the pending ids, oldest first, now and whenever they
   * change; re-armed after every event and every new session.
   */
  watch(cb: (ids: string[]) => void | Promise<void>, options?: WatchOptions): StopWatch {
    return watchChildren(
      this.client,
      this.entriesPath,
      (names) => cb(orderEntries(names ?? [])),
      options,
    );
  }

  private async readOne(id: string): Promise<QueueEntry<T> | null> {
    const path = `${this.entriesPath}/${id}`;
    const stored = await readValue(this.client, path);
    if (!stored) return null;
    const value = decodeAt(this.codec, path, stored.data);
    return { id, seq: entrySeq(id) ?? -1, value, header: stored.header };
  }

  private async createEntry(data: Buffer): Promise<string> {
    const path = `${this.entriesPath}/${PREFIX}`;
    const opts = { mode: 'persistent_sequential', protected: true } as const;
    try {
      return await this.client.create(path, data, opts);
    } catch (e) {
      if (!(e instanceof ZkNoNodeError)) throw e;
      await this.client.mkdirp(this.entriesPath);
      return this.client.create(path, data, opts);
    }
  }
}

function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
