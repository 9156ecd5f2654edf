import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { contenders, ZkMutex } from '../../src/zk/lock.js';
import { ZkLockLostError, ZkTimeoutError } from '../../src/zk/errors.js';
import { IllegalStateError } from '../../src/errors.js';
import { expireSession, newChroot, type TestChroot } from '../fixtures/zookeeper.js';
import { waitUntil } from '../fixtures/wait.js';

let chroot: TestChroot;
let admin: ZooKeeperClient;
const clients: ZooKeeperClient[] = [];

async function client(sessionTimeoutMs = 4000): Promise<ZooKeeperClient> {
  const c = await connectZooKeeper({ connectString: chroot.connectString, sessionTimeoutMs });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  chroot = await newChroot('lock');
  admin = await connectZooKeeper({ connectString: chroot.connectString });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  // Every test released or lost its locks: no contender node may be left.
  const dirs = await admin.children('/');
  for (const d of dirs)
    expect({ dir: d, nodes: await admin.children(`/${d}`) }).toEqual({ dir: d, nodes: [] });
  await admin.deleteRecursive('/');
  await admin.close();
});

describe('contenders', () => {
  it('orders by sequence across protection prefixes and ignores strangers', () => {
    const names = [
      '_c_b-lock-0000000002',
      '_c_a-lock-0000000010',
      'lock-0000000001',
      'other',
      'read-0000000000',
    ];
    expect(contenders(names).map((c) => c.sequence)).toEqual([1, 2, 10]);
  });
});

describe('ZkMutex', () => {
  it('10 contenders: one holder at every instant, served in FIFO order', async () => {
    const zks = await Promise.all(Array.from({ length: 10 }, () => client()));
    const mutexes = zks.map((zk) => new ZkMutex(zk, '/fifo'));
    let holders = 0;
    let maxHolders = 0;
    const order: number[] = [];
    const runs: Promise<void>[] = [];
    for (let i = 0; i < mutexes.length; i++) {
      const m = mutexes[i]!;
      runs.push(
        (async () => {
          await m.acquire({ timeoutMs: 30_000 });
          holders += 1;
          maxHolders = Math.max(maxHolders, holders);
          order.push(i);
          // The lock is real in ZooKeeper: our node is first, and valid.
          const first = contenders(await admin.children('/fifo'))[0];
          expect(`/fifo/${first?.name}`).toBe(m.node);
          expect(await m.isStillValid()).toBe(true);
          expect(mutexes.filter((x) => x.state === 'held')).toEqual([m]);
          holders -= 1;
          await m.release();
        })(),
      );
      // Enqueue one after the other so the arrival order is known.
      await waitUntil(() => m.node !== undefined || order.includes(i), `contender ${i} to enqueue`);
    }
    await Promise.all(runs);
    expect(maxHolders).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await admin.children('/fifo')).toEqual([]);
  });

  it('tryAcquire never waits and leaves no node behind when it fails', async () => {
    const [a, b] = [await client(), await client()];
    const ma = new ZkMutex(a, '/try');
    const mb = new ZkMutex(b, '/try');
    expect(await ma.tryAcquire()).toBe(true);
    expect(await mb.tryAcquire()).toBe(false);
    expect(mb.state).toBe('idle');
    expect(await admin.children('/try')).toHaveLength(1);
    await expect(ma.acquire()).rejects.toBeInstanceOf(IllegalStateError);
    await ma.release();
    expect(await mb.tryAcquire()).toBe(true);
    await mb.release();
    expect(await admin.children('/try')).toEqual([]);
  });

  it('acquire gives up on timeout and on abort, removing its node', async () => {
    const [a, b] = [await client(), await client()];
    const ma = new ZkMutex(a, '/timeout');
    await ma.acquire();
    const mb = new ZkMutex(b, '/timeout');
    await expect(mb.acquire({ timeoutMs: 300 })).rejects.toBeInstanceOf(ZkTimeoutError);
    const ctl = new AbortController();
    const waiting = mb.acquire({ signal: ctl.signal });
    await waitUntil(
      async () => (await admin.children('/timeout')).length === 2,
      'the waiter to enqueue',
    );
    ctl.abort(new Error('operator cancelled'));
    await expect(waiting).rejects.toThrow('operator cancelled');
    expect(await admin.children('/timeout')).toHaveLength(1);
    await ma.release();
    expect(await admin.children('/timeout')).toEqual([]);
  });

  it('a holder whose session expires loses the lock, knows it, and the next waiter gets it', async () => {
    const holderZk = await client(2000);
    const waiterZk = await client();
    const lostErrors: ZkLockLostError[] = [];
    const holder = new ZkMutex(holderZk, '/expire', { onLost: (e) => lostErrors.push(e) });
    await holder.acquire();
    const signal = holder.signal!;
    const waiter = new ZkMutex(waiterZk, '/expire');
    const waiting = waiter.acquire({ timeoutMs: 20_000 });
    const oldSession = holderZk.sessionId;

    await expireSession(chroot.serverConnectString, holderZk.sessionCredentials()!);

    await waiting;
    await waitUntil(() => signal.aborted, 'the holder to learn it lost the lock');
    expect(signal.reason).toBeInstanceOf(ZkLockLostError);
    expect(lostErrors).toHaveLength(1);
    expect(holder.isHeld()).toBe(false);
    expect(await holder.isStillValid()).toBe(false);
    expect(await waiter.isStillValid()).toBe(true);
    await holder.release(); // a no-op on a lost lock, and allowed
    await waitUntil(() => holderZk.state === 'connected', 'the holder client to get a new session');
    expect(holderZk.sessionId).not.toBe(oldSession);
    await waiter.release();
    // The holder can take it again on its new session.
    expect(await holder.tryAcquire()).toBe(true);
    await holder.release();
  });

  it('deleting the holder node by hand counts as losing the lock', async () => {
    const zk = await client();
    const m = new ZkMutex(zk, '/deleted');
    await m.acquire();
    const signal = m.signal!;
    await admin.delete(m.node!);
    await waitUntil(() => signal.aborted, 'the lock-lost signal');
    expect((signal.reason as ZkLockLostError).reason).toBe('lock node deleted');
    await m.release();
  });
});
