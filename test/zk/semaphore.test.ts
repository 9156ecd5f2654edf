import { describe, expect, it } from '@jest/globals';
import { ZkNoNodeError, ZkTimeoutError } from '../../src/zk/errors.js';
import { ZkRecipeArgumentError } from '../../src/zk/recipe-errors.js';
import {
  acquireAll,
  admit,
  releaseAll,
  tryAcquireAll,
  ZkSemaphore,
  type SemaphoreHolder,
} from '../../src/zk/semaphore.js';
import { watchData } from '../../src/zk/watch.js';
import type { Watcher, ZkClient } from '../../src/zk/client.js';
import type { ZooKeeperClient } from '../../src/zk/zk-client.js';
import { type TestChroot } from '../fixtures/zookeeper.js';
import { connect, waitFor, withChroot } from './recipe-helpers.js';

const h = (id: string): SemaphoreHolder => ({ id, owner: `/owners/${id}` });

describe('semaphore admission (pure)', () => {
  it('admits up to max, drops stale holders first, and is idempotent for a holder', () => {
    expect(admit([h('a'), h('b')], new Set(), h('c'), 2)).toBeNull();
    expect(admit([h('a'), h('b')], new Set(['/owners/a']), h('c'), 2)).toEqual([h('b'), h('c')]);
    expect(admit([h('a'), h('b')], new Set(), h('a'), 2)).toEqual([h('a'), h('b')]);
    expect(admit([], new Set(), h('a'), 1)).toEqual([h('a')]);
  });
});

describe('counting semaphore', () => {
  let chroot: TestChroot;
  let client: ZooKeeperClient;

  withChroot('semaphore', (c, z) => {
    chroot = c;
    client = z;
  });

  /** An ephemeral owner node for a holder. */
  const owner = async (c: ZooKeeperClient, id: string): Promise<SemaphoreHolder> => {
    await c.mkdirp('/owners');
    return { id, owner: await c.create(`/owners/${id}`, undefined, { mode: 'ephemeral' }) };
  };

  it('20 concurrent acquirers never exceed max, sampled at every change and after every acquire', async () => {
    const max = 3;
    const clients = await Promise.all([1, 2, 3, 4].map(() => connect(chroot.connectString)));
    const samples: number[] = [];
    const stop = watchData(client, '/sem/deploy', (s) => {
      if (s) samples.push((JSON.parse(s.data.toString('utf8')) as unknown[]).length);
    });
    const afterAcquire: number[] = [];
    const acquirer = async (i: number): Promise<void> => {
      const c = clients[i % clients.length]!;
      const me = await owner(c, `h${i}`);
      const sem = new ZkSemaphore(c, '/sem/deploy', max);
      await acquireAll(c, [{ path: '/sem/deploy', max }], me, { timeoutMs: 30_000 });
      afterAcquire.push((await sem.holders()).length);
      await c.get('/sem/deploy'); // a little work while holding
      expect(await sem.release(me.id)).toBe(true);
      await c.delete(me.owner);
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => acquirer(i)));
    await waitFor(() => samples.at(-1) === 0, 'the watcher to see the semaphore empty');
    stop();
    expect(afterAcquire).toHaveLength(20);
    expect(Math.max(...afterAcquire, ...samples)).toBeLessThanOrEqual(max);
    expect(Math.max(...samples)).toBeGreaterThan(1); // holders did overlap
    await Promise.all(clients.map((c) => c.close()));
    await client.deleteRecursive('/sem');
    await client.deleteRecursive('/owners');
  });

  it('drops a holder whose owner session ended, so its slot can be taken', async () => {
    const gone = await connect(chroot.connectString);
    const sem = new ZkSemaphore(client, '/sem/one', 1);
    const first = await owner(gone, 'first');
    expect(await new ZkSemaphore(gone, '/sem/one', 1).tryAcquire(first.id, first.owner)).toBe(true);
    const second = await owner(client, 'second');
    expect(await sem.tryAcquire(second.id, second.owner)).toBe(false);
    await gone.close();
    expect(await sem.tryAcquire(second.id, second.owner)).toBe(true);
    expect(await sem.holders()).toEqual([second]);
    expect(await sem.tryAcquire(second.id, second.owner)).toBe(true); // already held: still true, no second slot
    expect(await sem.holders()).toEqual([second]);
    await client.delete(second.owner);
    expect(await sem.cleanup()).toEqual([second]);
    expect(await sem.holders()).toEqual([]);
    expect(await sem.release('second')).toBe(false);
    await client.deleteRecursive('/sem');
    await client.deleteRecursive('/owners');
  });

  it('takes several semaphores all or nothing', async () => {
    const a = { path: '/sem/a', max: 1 };
    const b = { path: '/sem/b', max: 1 };
    const x = await owner(client, 'x');
    const y = await owner(client, 'y');
    expect(await tryAcquireAll(client, [b], x)).toBe(true);
    expect(await tryAcquireAll(client, [a, b], y)).toBe(false);
    // Nothing was taken from the free one.
    expect(await new ZkSemaphore(client, a.path, 1).holders()).toEqual([]);
    expect(await releaseAll(client, [a.path, b.path], 'x')).toBe(1);
    expect(await tryAcquireAll(client, [a, b], y)).toBe(true);
    expect(await new ZkSemaphore(client, a.path, 1).holders()).toEqual([y]);
    expect(await new ZkSemaphore(client, b.path, 1).holders()).toEqual([y]);
    expect(await releaseAll(client, [a.path, b.path], 'y')).toBe(2);
    await client.deleteRecursive('/sem');
    await client.deleteRecursive('/owners');
  });

  it('two holders racing for the same pair in opposite orders: one gets both, the other none', async () => {
    const a = { path: '/sem/a', max: 1 };
    const b = { path: '/sem/b', max: 1 };
    const other = await connect(chroot.connectString);
    const x = await owner(client, 'x');
    const y = await owner(other, 'y');
    const [gotX, gotY] = await Promise.all([
      tryAcquireAll(client, [a, b], x),
      tryAcquireAll(other, [b, a], y),
    ]);
    expect([gotX, gotY].filter(Boolean)).toHaveLength(1);
    const winner = gotX ? x : y;
    expect(await new ZkSemaphore(client, a.path, 1).holders()).toEqual([winner]);
    expect(await new ZkSemaphore(client, b.path, 1).holders()).toEqual([winner]);
    await releaseAll(client, [a.path, b.path], winner.id);
    await other.close();
    await client.deleteRecursive('/sem');
    await client.deleteRecursive('/owners');
  });

  it('waits for room: woken by a release and by an owner session ending; times out; aborts', async () => {
    const spec = { path: '/sem/wait', max: 1 };
    const other = await connect(chroot.connectString);
    const x = await owner(other, 'x');
    const y = await owner(client, 'y');
    await acquireAll(other, [spec], x);
    await expect(acquireAll(client, [spec], y, { timeoutMs: 100 })).rejects.toBeInstanceOf(
      ZkTimeoutError,
    );
    const ctrl = new AbortController();
    const aborted = acquireAll(client, [spec], y, { signal: ctrl.signal });
    ctrl.abort(new Error('draining'));
    await expect(aborted).rejects.toThrow('draining');

    const waiting = acquireAll(client, [spec], y, { timeoutMs: 15_000 });
    await releaseAll(other, [spec.path], 'x');
    await waiting;
    expect(await new ZkSemaphore(client, spec.path, 1).holders()).toEqual([y]);

    // Now x waits behind y; y's owner session ends, which alone must wake x.
    const third = await connect(chroot.connectString);
    const z = await owner(third, 'z');
    await releaseAll(client, [spec.path], 'y');
    await acquireAll(third, [spec], z);
    // A recording proxy over the real client tells us when x is watching z's owner.
    const watched: string[] = [];
    const spy = new Proxy(other, {
      get(target, key) {
        if (key === 'exists') {
          return (path: string, w?: Watcher) => {
            if (w) watched.push(path);
            return target.exists(path, w);
          };
        }
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as ZkClient;
    const xWaits = acquireAll(spy, [spec], x, { timeoutMs: 15_000 });
    await waitFor(() => watched.includes(z.owner), "x to wait, watching z's owner");
    await third.close();
    await xWaits;
    expect(await new ZkSemaphore(client, spec.path, 1).holders()).toEqual([x]);
    await releaseAll(other, [spec.path], 'x');
    await other.close();
    await client.delete(y.owner);
    await client.deleteRecursive('/sem');
    await client.deleteRecursive('/owners');
  });

  it('refuses a holder without a live owner and a max below one', async () => {
    await expect(
      tryAcquireAll(client, [{ path: '/sem/z', max: 1 }], h('nobody')),
    ).rejects.toBeInstanceOf(ZkNoNodeError);
    expect(() => new ZkSemaphore(client, '/sem/z', 0)).toThrow(ZkRecipeArgumentError);
    await client.deleteRecursive('/sem');
  });
});
