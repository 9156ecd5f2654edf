import { beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { bufferCodec } from '../../src/zk/codec.js';
import { ANY_VERSION, ZkDocument } from '../../src/zk/document.js';
import {
  DEFAULT_SHARD_BYTES,
  encodeHeader,
  prepareValue,
  readValue,
  sweepOrphanShards,
} from '../../src/zk/shard.js';
import type { ZooKeeperClient } from '../../src/zk/zk-client.js';
import { connect, tree, withChroot } from './recipe-helpers.js';
import type { TestChroot } from '../fixtures/zookeeper.js';

const MB = 1024 * 1024;

describe('sharded values', () => {
  let chroot: TestChroot;
  let client: ZooKeeperClient;
  let reader: ZooKeeperClient;

  withChroot('shard', (c, z) => {
    chroot = c;
    client = z;
  });
  beforeAll(async () => {
    reader = await connect(chroot.connectString);
  });

  it('round-trips 5 MB through shards of at most 900 KiB, and removes them with the value', async () => {
    const doc = new ZkDocument(client, '/big/value', bufferCodec);
    const data = randomBytes(5 * MB);
    await doc.create(data);
    const shards = (await tree(client, '/big/.shards')).filter((p) => p.split('/').length === 5);
    expect(shards).toHaveLength(Math.ceil(data.length / DEFAULT_SHARD_BYTES));
    for (const s of shards)
      expect((await client.get(s)).data.length).toBeLessThanOrEqual(DEFAULT_SHARD_BYTES);
    const back = await new ZkDocument(reader, '/big/value', bufferCodec).read();
    expect(back?.version).toBe(0);
    expect(back?.value.equals(data)).toBe(true);
    await doc.delete();
    expect(await tree(client, '/big')).toEqual(['/big/.shards']);
    await client.deleteRecursive('/big');
  });

  it('never lets a reader see a half-written value while a writer keeps rewriting it', async () => {
    const size = 3 * MB;
    const fill = (i: number): Buffer => Buffer.alloc(size, i);
    const writer = new ZkDocument(client, '/race/value', bufferCodec);
    await writer.create(fill(0));
    const rounds = 6;
    let done = false;
    const writes = (async () => {
      for (let i = 1; i <= rounds; i++) await writer.write(fill(i), ANY_VERSION);
      done = true;
    })();
    const seen = new Set<number>();
    const readDoc = new ZkDocument(reader, '/race/value', bufferCodec);
    let reads = 0;
    while (!done) {
      const v = await readDoc.read();
      expect(v?.value.length).toBe(size);
      const first = v!.value[0]!;
      // Whole: every byte belongs to the same write.
      expect(v!.value.equals(fill(first))).toBe(true);
      seen.add(first);
      reads += 1;
    }
    await writes;
    expect(reads).toBeGreaterThan(0);
    expect([...seen].every((v) => v >= 0 && v <= rounds)).toBe(true);
    expect((await readDoc.read())?.value.equals(fill(rounds))).toBe(true);
    // Each rewrite dropped the generation it replaced.
    expect((await client.children('/race/.shards')).length).toBe(1);
    await writer.delete();
    await client.deleteRecursive('/race');
  });

  it('stores a small value that looks like a shard header as shards, and reads it back unchanged', async () => {
    const lookalike = encodeHeader({ dir: '/nowhere', count: 1, length: 1, sha256: 'x' });
    const doc = new ZkDocument(client, '/tricky/value', bufferCodec);
    await doc.create(lookalike);
    expect((await client.get('/tricky/value')).data.equals(lookalike)).toBe(false);
    expect((await doc.read())?.value.equals(lookalike)).toBe(true);
    await doc.write(Buffer.from('plain'), 0);
    expect((await client.get('/tricky/value')).data.toString()).toBe('plain');
    expect(await client.children('/tricky/.shards')).toEqual([]);
    await client.deleteRecursive('/tricky');
  });

  it('sweeps generations a dead writer left behind, and only those', async () => {
    await client.mkdirp('/sweep');
    const kept = new ZkDocument(client, '/sweep/kept', bufferCodec, { shardBytes: 1000 });
    await kept.create(randomBytes(2500));
    const orphan = await prepareValue(
      client,
      randomBytes(2500),
      '/sweep/.shards',
      '/sweep/never-written',
      {
        shardBytes: 1000,
      },
    );
    expect(orphan.header).not.toBeNull();
    expect(await client.children('/sweep/.shards')).toHaveLength(2);
    expect(await sweepOrphanShards(client, '/sweep/.shards', 60_000)).toEqual([]);
    expect(await sweepOrphanShards(client, '/sweep/.shards', 0)).toEqual([orphan.header!.dir]);
    const stored = await readValue(client, '/sweep/kept');
    expect(stored?.header?.dir).toBeDefined();
    expect(await client.children('/sweep/.shards')).toEqual([stored!.header!.dir.split('/').pop()]);
    await kept.delete();
    await client.deleteRecursive('/sweep');
  });
});
