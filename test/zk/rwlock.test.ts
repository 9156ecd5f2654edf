import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ZkSessionLostError, ZkTimeoutError } from '../../src/zk/errors.js';
import { blockerOf, type RwLease, ZkReadWriteLock } from '../../src/zk/rwlock.js';
import type { ZooKeeperClient } from '../../src/zk/zk-client.js';
import { newChroot, type TestChroot } from '../fixtures/zookeeper.js';
import { closeAll, connect, expireSession, tree, waitFor } from './recipe-helpers.js';

describe('read/write lock ordering (pure)', () => {
  const names = [
    '_c_1-read-0000000001',
    '_c_2-read-0000000002',
    '_c_3-write-0000000003',
    '_c_4-read-0000000004',
  ];
  it('lets readers share, makes a writer wait for whoever is ahead, a reader for the last writer ahead', () => {
    expect(blockerOf(names, '_c_2-read-0000000002')).toEqual({ kind: 'free' });
    expect(blockerOf(names, '_c_3-write-0000000003')).toEqual({
      kind: 'wait',
      name: '_c_2-read-0000000002',
    });
    expect(blockerOf(names, '_c_4-read-0000000004')).toEqual({
      kind: 'wait',
      name: '_c_3-write-0000000003',
    });
    expect(blockerOf(names.slice(2), '_c_3-write-0000000003')).toEqual({ kind: 'free' });
    expect(blockerOf(names, '_c_9-read-0000000009')).toEqual({ kind: 'gone' });
  });
});

describe('read/write lock', () => {
  let chroot: TestChroot;
  let a: ZooKeeperClient;
  let b: ZooKeeperClient;

  beforeAll(async () => {
    chroot = await newChroot('rwlock');
    [a, b] = await Promise.all([connect(chroot.connectString), connect(chroot.connectString)]);
  });

  afterAll(async () => {
    try {
      expect(await tree(a)).toEqual([]);
    } finally {
      await closeAll();
    }
  });

  it('readers hold it together; a writer waits for them and then holds it alone', async () => {
    const lockA = new ZkReadWriteLock(a, '/locks/pipeline');
    const lockB = new ZkReadWriteLock(b, '/locks/pipeline');
    const r1 = await lockA.acquire('read');
    const r2 = await lockB.acquire('read', { timeoutMs: 5_000 });
    expect(await r1.isStillValid()).toBe(true);
    expect(await r2.isStillValid()).toBe(true);
    expect(await lockB.tryAcquire('write')).toBeNull();

    let writer: RwLease | undefined;
    const writing = lockB.acquire('write', { timeoutMs: 10_000 }).then((l) => (writer = l));
    await waitFor(
      async () => (await lockA.contenders()).length === 3,
      'the writer to queue behind the readers',
    );
    // A reader arriving after a waiting writer queues behind it (no writer starvation).
    let lateReader: RwLease | undefined;
    const lateReading = lockA.acquire('read', { timeoutMs: 10_000 }).then((l) => (lateReader = l));
    await waitFor(async () => (await lockA.contenders()).length === 4, 'the late reader to queue');
    await r1.release();
    expect(writer).toBeUndefined();
    await r2.release();
    await writing;
    expect(writer?.mode).toBe('write');
    expect(await writer!.isStillValid()).toBe(true);
    expect(lateReader).toBeUndefined();
    expect(await lockA.tryAcquire('read')).toBeNull();
    await writer!.release();
    await writer!.release(); // idempotent
    await lateReading;
    expect(await lateReader!.isStillValid()).toBe(true);
    await lateReader!.release();
    expect(await lockA.contenders()).toEqual([]);
    await a.deleteRecursive('/locks');
  });

  it('writers exclude each other: a counter read and written under the lock loses no increment', async () => {
    await a.create('/counter', Buffer.from('0'));
    const bump = async (c: ZooKeeperClient): Promise<void> => {
      const lock = new ZkReadWriteLock(c, '/locks/counter');
      for (let i = 0; i < 10; i++) {
        const lease = await lock.acquire('write', { timeoutMs: 10_000 });
        const n = Number((await c.get('/counter')).data.toString());
        await c.set('/counter', Buffer.from(String(n + 1))); // unconditional: only the lock protects it
        await lease.release();
      }
    };
    await Promise.all([bump(a), bump(b), bump(a), bump(b)]);
    expect((await a.get('/counter')).data.toString()).toBe('40');
    await a.delete('/counter');
    await a.deleteRecursive('/locks');
  });

  it('gives up on timeout and on abort, leaving no node behind', async () => {
    const lock = new ZkReadWriteLock(a, '/locks/busy');
    const held = await lock.acquire('write');
    const other = new ZkReadWriteLock(b, '/locks/busy');
    await expect(other.acquire('read', { timeoutMs: 100 })).rejects.toBeInstanceOf(ZkTimeoutError);
    const ctrl = new AbortController();
    const aborted = other.acquire('write', { signal: ctrl.signal });
    await waitFor(async () => (await lock.contenders()).length === 2, 'the second contender');
    ctrl.abort(new Error('shutting down'));
    await expect(aborted).rejects.toThrow('shutting down');
    expect((await lock.contenders()).map((c) => c.mode)).toEqual(['write']);
    await held.release();
    expect(held.state).toBe('released');
    expect(await held.isStillValid()).toBe(false);
    await a.deleteRecursive('/locks');
  });

  it('a session that ends releases its lease and fails its waits', async () => {
    const c = await connect(chroot.connectString);
    const lease = await new ZkReadWriteLock(c, '/locks/session').acquire('read');
    const writing = new ZkReadWriteLock(a, '/locks/session').acquire('write', {
      timeoutMs: 15_000,
    });
    await waitFor(
      async () => (await new ZkReadWriteLock(a, '/locks/session').contenders()).length === 2,
      'the writer to queue',
    );
    const first = c.sessionId;
    await expireSession(c, chroot.serverConnectString);
    // The reader's node went with its session: the writer gets the lock.
    const writer = await writing;
    await waitFor(() => c.sessionId !== first && c.state === 'connected', 'a new session');
    expect(await lease.isStillValid()).toBe(false);
    await lease.release();

    // Waiting on a session that then ends fails with the session, and leaves nothing behind.
    const waiting = new ZkReadWriteLock(c, '/locks/session').acquire('read', { timeoutMs: 15_000 });
    await waitFor(
      async () => (await new ZkReadWriteLock(a, '/locks/session').contenders()).length === 2,
      'the reader to queue',
    );
    const second = c.sessionId;
    await expireSession(c, chroot.serverConnectString);
    await expect(waiting).rejects.toBeInstanceOf(ZkSessionLostError);
    expect(c.sessionId).not.toBe(second);
    await writer.release();
    expect(await new ZkReadWriteLock(a, '/locks/session').contenders()).toEqual([]);
    await c.close();
    await a.deleteRecursive('/locks');
  });
});
