/**
 * Sharded values: bytes too large for one znode (ZooKeeper refuses any
 * request over jute.maxbuffer, 1 MiB by default) are stored as ordered shard
 * nodes under a fresh "generation" node, and the value's own node holds a
 * small header pointing at that generation. Writers fill a new generation
 * first and then swap the header; readers follow the header and verify length
 * and checksum, so a reader never sees a half-written value.
 *
 * Layout (see docs/zookeeper-recipes.md):
 *   <node>                     inline bytes, or MAGIC + JSON header { dir, count, length, sha256 }
 *   <blobRoot>/<gen>           data: the owner path (for the orphan sweep)
 *   <blobRoot>/<gen>/000000..  the shards, in order
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Stat, Watcher, ZkClient } from './client.js';
import { ZkNoNodeError } from './errors.js';
import { ZkShardCorruptError } from './recipe-errors.js';

/** Shard payload size: under 1 MiB with room for the request envelope. */
export const DEFAULT_SHARD_BYTES = 900 * 1024;
/** A header starts with a NUL byte, which no JSON or text value does. */
const MAGIC = Buffer.from('\u0000drawbridge-shards\u0000', 'utf8');
const READ_ATTEMPTS = 10;

export interface ShardHeader {
  /** Absolute path of the generation node holding the shards. */
  readonly dir: string;
  readonly count: number;
  readonly length: number;
  readonly sha256: string;
}

export interface ShardOptions {
  /** Bytes per shard and largest value stored inline. */
  readonly shardBytes?: number;
}

// ---- pure part -------------------------------------------------------------

/** Inline values that happen to start with the header's magic are sharded too, so reads are unambiguous. */
export function needsSharding(data: Buffer, shardBytes: number): boolean {
  return data.length > shardBytes || startsWithMagic(data);
}

function startsWithMagic(data: Buffer): boolean {
  return data.length >= MAGIC.length && data.subarray(0, MAGIC.length).equals(MAGIC);
}

export function splitIntoShards(data: Buffer, shardBytes: number): Buffer[] {
  if (!Number.isInteger(shardBytes) || shardBytes < 1)
    throw new RangeError(`bad shard size ${shardBytes}`);
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += shardBytes)
    parts.push(data.subarray(off, off + shardBytes));
  return parts;
}

export function checksum(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function encodeHeader(header: ShardHeader): Buffer {
  return Buffer.concat([MAGIC, Buffer.from(JSON.stringify(header), 'utf8')]);
}

/** The header stored at `path`, or null when the node holds its value inline. */
export function parseHeader(data: Buffer, path: string): ShardHeader | null {
  if (!startsWithMagic(data)) return null;
  let h: unknown;
  try {
    h = JSON.parse(data.subarray(MAGIC.length).toString('utf8'));
  } catch {
    throw new ZkShardCorruptError(path, 'unreadable shard header');
  }
  if (!isHeader(h)) throw new ZkShardCorruptError(path, 'malformed shard header');
  return h;
}

function isHeader(h: unknown): h is ShardHeader {
  if (typeof h !== 'object' || h === null) return false;
  const r = h as Record<string, unknown>;
  return (
    typeof r.dir === 'string' &&
    typeof r.sha256 === 'string' &&
    Number.isInteger(r.count) &&
    Number.isInteger(r.length)
  );
}

export function joinShards(header: ShardHeader, parts: readonly Buffer[], path: string): Buffer {
  if (parts.length !== header.count) {
    throw new ZkShardCorruptError(path, `expected ${header.count} shards, found ${parts.length}`);
  }
  const data = Buffer.concat(parts);
  if (data.length !== header.length) {
    throw new ZkShardCorruptError(path, `expected ${header.length} bytes, found ${data.length}`);
  }
  if (checksum(data) !== header.sha256) throw new ZkShardCorruptError(path, 'checksum mismatch');
  return data;
}

export function shardName(index: number): string {
  return String(index).padStart(6, '0');
}

// ---- ZooKeeper part --------------------------------------------------------

/** Resolves to `fallback` instead of failing when the node does not exist. */
export async function unlessMissing<T, F>(op: Promise<T>, fallback: F): Promise<T | F> {
  try {
    return await op;
  } catch (e) {
    if (e instanceof ZkNoNodeError) return fallback;
    throw e;
  }
}

export interface StoredValue {
  readonly data: Buffer;
  /** Stat of the value's own node (its version is the one to compare-and-set against). */
  readonly stat: Stat;
  readonly header: ShardHeader | null;
}

/**
 * Reads the value at `path`, following a shard header. Null if the node does
 * not exist. If a writer swaps the generation between our header read and
 * our shard reads, the old shards vanish: read the header again.
 */
export async function readValue(
  client: ZkClient,
  path: string,
  watcher?: Watcher,
): Promise<StoredValue | null> {
  let previous: string | undefined;
  for (let attempt = 1; ; attempt++) {
    let node: { data: Buffer; stat: Stat };
    try {
      node = await client.get(path, watcher);
    } catch (e) {
      if (e instanceof ZkNoNodeError) return null;
      throw e;
    }
    const header = parseHeader(node.data, path);
    if (!header) return { data: node.data, stat: node.stat, header: null };
    try {
      return { data: await readShards(client, header, path), stat: node.stat, header };
    } catch (e) {
      if (!(e instanceof ZkNoNodeError)) throw e;
      // Same header twice and its shards still missing: not a race, real damage.
      if (previous === header.dir || attempt >= READ_ATTEMPTS) {
        throw new ZkShardCorruptError(path, `generation ${header.dir} is missing`);
      }
      previous = header.dir;
    }
  }
}

async function readShards(client: ZkClient, header: ShardHeader, path: string): Promise<Buffer> {
  const names = Array.from({ length: header.count }, (_, i) => `${header.dir}/${shardName(i)}`);
  const parts = await Promise.all(names.map(async (n) => (await client.get(n)).data));
  return joinShards(header, parts, path);
}

/** What to store in a value's node, and how to undo the shards if that store fails. */
export interface PreparedValue {
  readonly nodeData: Buffer;
  readonly header: ShardHeader | null;
  /** Removes the new generation; call when the write that would point at it failed. */
  discard(): Promise<void>;
}

/**
 * Prepares `data` for storage: small values are returned as they are; large
 * ones are written as a new generation under `blobRoot` (created if needed)
 * and replaced by a header. `owner` is recorded for the orphan sweep: the
 * node that will point at the generation, or a parent whose children will.
 */
export async function prepareValue(
  client: ZkClient,
  data: Buffer,
  blobRoot: string,
  owner: string,
  options: ShardOptions = {},
): Promise<PreparedValue> {
  const shardBytes = options.shardBytes ?? DEFAULT_SHARD_BYTES;
  if (!needsSharding(data, shardBytes))
    return { nodeData: data, header: null, discard: async () => {} };
  const dir = `${blobRoot}/g-${randomBytes(8).toString('hex')}`;
  await createGeneration(client, dir, owner);
  const discard = (): Promise<void> => client.deleteRecursive(dir);
  try {
    const parts = splitIntoShards(data, shardBytes);
    await Promise.all(parts.map((p, i) => client.create(`${dir}/${shardName(i)}`, p)));
    const header: ShardHeader = {
      dir,
      count: parts.length,
      length: data.length,
      sha256: checksum(data),
    };
    return { nodeData: encodeHeader(header), header, discard };
  } catch (e) {
    await discard().catch(() => undefined);
    throw e;
  }
}

async function createGeneration(client: ZkClient, dir: string, owner: string): Promise<void> {
  try {
    await client.create(dir, Buffer.from(owner, 'utf8'));
  } catch (e) {
    if (!(e instanceof ZkNoNodeError)) throw e;
    await client.mkdirp(dir.slice(0, dir.lastIndexOf('/')));
    await client.create(dir, Buffer.from(owner, 'utf8'));
  }
}

/** Deletes the generation a replaced or deleted value pointed at; missing is fine. */
export async function dropGeneration(client: ZkClient, header: ShardHeader | null): Promise<void> {
  if (header) await client.deleteRecursive(header.dir);
}

/**
 * Removes generations under `blobRoot` that are older than `olderThanMs`
 * (server time) and that their owner no longer points at: leftovers of a
 * writer that died between writing shards and swapping the header.
 * Returns the removed generation paths.
 */
export async function sweepOrphanShards(
  client: ZkClient,
  blobRoot: string,
  olderThanMs: number,
): Promise<string[]> {
  const gens = await unlessMissing(client.children(blobRoot), null);
  if (!gens) return [];
  // Touching blobRoot tells us the server's clock, which stamped the ctimes.
  const now = (await client.set(blobRoot, Buffer.alloc(0))).mtime;
  const removed: string[] = [];
  for (const name of gens) {
    const dir = `${blobRoot}/${name}`;
    const gen = await unlessMissing(client.get(dir), null);
    if (!gen || now - gen.stat.ctime < olderThanMs) continue;
    if (await isReferenced(client, gen.data.toString('utf8'), dir)) continue;
    await client.deleteRecursive(dir);
    removed.push(dir);
  }
  return removed;
}

async function isReferenced(client: ZkClient, owner: string, dir: string): Promise<boolean> {
  const points = async (path: string): Promise<boolean> => {
    const node = await unlessMissing(client.get(path), null);
    return node !== null && parseHeader(node.data, path)?.dir === dir;
  };
  if (await points(owner)) return true;
  const kids = await unlessMissing(client.children(owner), []);
  for (const k of kids) if (await points(`${owner}/${k}`)) return true;
  return false;
}
