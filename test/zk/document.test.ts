import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { jsonCodec } from '../../src/zk/codec.js';
import { ANY_VERSION, commit, ZkDocument } from '../../src/zk/document.js';
import {
  ZkBadVersionError,
  ZkConnectionLossError,
  ZkNodeExistsError,
  ZkNoNodeError,
} from '../../src/zk/errors.js';
import { ZkDecodeError, ZkUpdateConflictError } from '../../src/zk/recipe-errors.js';
import type { ZooKeeperClient } from '../../src/zk/zk-client.js';
import { newChroot } from '../fixtures/zookeeper.js';
import { closeAll, connect, tree } from './recipe-helpers.js';

interface Counter {
  n: number;
  by: string[];
}
const codec = jsonCodec<Counter>();

describe('versioned documents', () => {
  let a: ZooKeeperClient;
  let b: ZooKeeperClient;

  beforeAll(async () => {
    const chroot = await newChroot('document');
    a = await connect(chroot.connectString);
    b = await connect(chroot.connectString);
  });

  afterAll(async () => {
    try {
      expect(await tree(a)).toEqual([]);
    } finally {
      await closeAll();
    }
  });

  it('creates, reads with the version, and compare-and-sets', async () => {
    const doc = new ZkDocument(a, '/docs/one', codec);
    expect(await doc.read()).toBeNull();
    expect(await doc.create({ n: 1, by: [] })).toEqual({ value: { n: 1, by: [] }, version: 0 });
    await expect(doc.create({ n: 9, by: [] })).rejects.toBeInstanceOf(ZkNodeExistsError);
    const v1 = await doc.write({ n: 2, by: [] }, 0);
    expect(v1.version).toBe(1);
    await expect(doc.write({ n: 3, by: [] }, 0)).rejects.toBeInstanceOf(ZkBadVersionError);
    expect(await new ZkDocument(b, '/docs/one', codec).read()).toEqual({
      value: { n: 2, by: [] },
      version: 1,
    });
    expect((await doc.write({ n: 4, by: [] }, ANY_VERSION)).version).toBe(2);
    await expect(doc.delete(1)).rejects.toBeInstanceOf(ZkBadVersionError);
    await doc.delete(2);
    expect(await doc.read()).toBeNull();
    await doc.delete(); // unconditional delete of a missing document is fine
    await expect(doc.write({ n: 5, by: [] }, ANY_VERSION)).rejects.toBeInstanceOf(ZkNoNodeError);
    await a.deleteRecursive('/docs');
  });

  it('create-if-absent returns what is there', async () => {
    const doc = new ZkDocument(a, '/docs/once', codec);
    const first = await doc.createIfAbsent({ n: 1, by: ['a'] });
    const second = await new ZkDocument(b, '/docs/once', codec).createIfAbsent({ n: 2, by: ['b'] });
    expect(first).toEqual({ value: { n: 1, by: ['a'] }, version: 0, created: true });
    expect(second).toEqual({ value: { n: 1, by: ['a'] }, version: 0, created: false });
    await a.deleteRecursive('/docs');
  });

  it('update retries lost races: two writers racing 25 increments each lose none', async () => {
    await a.mkdirp('/docs');
    const docA = new ZkDocument(a, '/docs/counter', codec, { maxAttempts: 100 });
    const docB = new ZkDocument(b, '/docs/counter', codec, { maxAttempts: 100 });
    let calls = 0;
    const bump =
      (who: string) =>
      (c: Counter | null): Counter => {
        calls += 1;
        return { n: (c?.n ?? 0) + 1, by: [...(c?.by ?? []), who] };
      };
    const run = async (doc: ZkDocument<Counter>, who: string): Promise<void> => {
      for (let i = 0; i < 25; i++) await doc.update(bump(who));
    };
    await Promise.all([run(docA, 'a'), run(docB, 'b')]);
    const final = await docA.read();
    expect(final?.value.n).toBe(50);
    expect(final?.value.by.filter((w) => w === 'a')).toHaveLength(25);
    expect(final?.version).toBe(49);
    // Not a test that cannot fail: the writers did collide and retried.
    expect(calls).toBeGreaterThanOrEqual(50);
    await a.deleteRecursive('/docs');
  });

  it('update gives up after its bound of conflicts', async () => {
    const doc = new ZkDocument(a, '/docs/contended', codec, { maxAttempts: 3 });
    await doc.create({ n: 0, by: [] });
    let calls = 0;
    // Every round, a rival write lands between our read and our write: it is
    // sent first on the same session, and ZooKeeper keeps a session's order.
    const attempt = doc.update((c) => {
      calls += 1;
      void a.set('/docs/contended', codec.encode({ n: 100 + calls, by: [] }));
      return { n: (c?.n ?? 0) + 1, by: [] };
    });
    await expect(attempt).rejects.toBeInstanceOf(ZkUpdateConflictError);
    expect(calls).toBe(3);
    await a.deleteRecursive('/docs');
  });

  it('names the node when its data cannot be decoded', async () => {
    await a.mkdirp('/docs');
    await a.create('/docs/garbage', Buffer.from('{not json'));
    const err = await new ZkDocument(a, '/docs/garbage', codec).read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZkDecodeError);
    expect((err as ZkDecodeError).path).toBe('/docs/garbage');
    await a.deleteRecursive('/docs');
  });

  it('commits document writes and plain ops in one transaction, all or nothing', async () => {
    await a.mkdirp('/tx/events');
    const state = new ZkDocument(a, '/tx/request', codec);
    await state.create({ n: 0, by: [] });
    const big = new ZkDocument(a, '/tx/result', jsonCodec<{ blob: string }>(), {
      shardBytes: 4096,
    });
    const blob = randomBytes(10_000).toString('hex');

    const ok = await commit(a, [
      await state.prepareWrite({ n: 1, by: ['done'] }, 0),
      await big.prepareCreate({ blob }),
      {
        op: 'create',
        path: '/tx/events/e-',
        data: Buffer.from('completed'),
        mode: 'persistent_sequential',
      },
    ]);
    expect(ok).toEqual(['/tx/result', '/tx/events/e-0000000000']);
    expect((await state.read())?.value.n).toBe(1);
    expect((await big.read())?.value.blob).toBe(blob);

    // A stale version fails the whole transaction: nothing is written, new shards are removed.
    const shardsBefore = await tree(a, '/tx/.shards');
    const ops = [
      await big.prepareWrite({ blob: blob.toUpperCase() }, 0),
      await state.prepareWrite({ n: 2, by: [] }, 1),
      {
        op: 'create',
        path: '/tx/events/e-',
        data: Buffer.from('again'),
        mode: 'persistent_sequential',
      } as const,
    ];
    expect(await a.children('/tx/.shards')).toHaveLength(2); // the new generation is written, not yet pointed at
    await b.set('/tx/request', codec.encode({ n: 7, by: ['rival'] }), 1);
    const stale = commit(a, ops);
    await expect(stale).rejects.toBeInstanceOf(ZkBadVersionError);
    expect((await state.read())?.value).toEqual({ n: 7, by: ['rival'] });
    expect((await big.read())?.value.blob).toBe(blob);
    expect(await a.children('/tx/events')).toEqual(['e-0000000000']);
    expect(await tree(a, '/tx/.shards')).toEqual(shardsBefore);
    const current = await big.read();
    await commit(a, [
      await big.prepareDelete(current!.version),
      await state.prepareWrite({ n: 8, by: [] }, 2),
    ]);
    expect(await big.read()).toBeNull();
    expect(await a.children('/tx/.shards')).toEqual([]);
    await a.deleteRecursive('/tx');
  });

  it('keeps the new shards when the outcome is unknown: a committed write still reads whole', async () => {
    const big = new ZkDocument(a, '/lost/doc', jsonCodec<{ blob: string }>(), {
      shardBytes: 4096,
    });
    const blob = randomBytes(10_000).toString('hex');
    // The transaction commits, then its reply is lost with the connection.
    const lossy = new Proxy(a, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        const fn = (value as (...x: unknown[]) => Promise<unknown>).bind(target);
        if (prop !== 'transaction') return fn;
        return async (...x: unknown[]) => {
          await fn(...x);
          throw new ZkConnectionLossError('/lost/doc');
        };
      },
    });
    await a.mkdirp('/lost');
    const prepared = await big.prepareCreate({ blob });
    await expect(commit(lossy, [prepared])).rejects.toBeInstanceOf(ZkConnectionLossError);
    expect((await big.read())?.value.blob).toBe(blob);
    await commit(a, [await big.prepareDelete(0)]);
    await a.deleteRecursive('/lost');
  });
});
