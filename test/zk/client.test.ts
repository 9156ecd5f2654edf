import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ZooKeeperClient } from '../../src/zk/zk-client.js';
import { connectZooKeeper } from '../../src/zk/zk-client.js';
import {
  ZkBadVersionError,
  ZkConnectionLossError,
  ZkInvalidPathError,
  ZkNodeExistsError,
  ZkNoNodeError,
  ZkNotEmptyError,
  ZkNoAuthError,
} from '../../src/zk/errors.js';
import type { WatchEvent } from '../../src/zk/client.js';
import { fourLetter, newChroot, type TestChroot } from '../fixtures/zookeeper.js';
import { waitUntil } from '../fixtures/wait.js';

let chroot: TestChroot;
let zk: ZooKeeperClient;

beforeAll(async () => {
  chroot = await newChroot('client');
  zk = await connectZooKeeper({ connectString: chroot.connectString, sessionTimeoutMs: 4000 });
});

afterAll(async () => {
  await zk.deleteRecursive('/t');
  expect(await zk.children('/')).toEqual([]);
  await zk.close();
  expect(zk.state).toBe('closed');
});

describe('fixture', () => {
  it('serves four-letter words on the shared server', async () => {
    expect(await fourLetter(chroot.serverConnectString, 'ruok')).toBe('imok');
  });
});

describe('ZooKeeperClient basics', () => {
  it('creates the chroot and works inside it', async () => {
    const root = await connectZooKeeper({ connectString: chroot.serverConnectString });
    try {
      expect(await root.exists(chroot.chroot)).not.toBeNull();
      await zk.mkdirp('/t/basic/a');
      expect(await root.exists(`${chroot.chroot}/t/basic/a`)).not.toBeNull();
    } finally {
      await root.close();
    }
  });

  it('create / get / set with versions / delete', async () => {
    await zk.mkdirp('/t/crud');
    expect(await zk.create('/t/crud/n', Buffer.from('one'))).toBe('/t/crud/n');
    await expect(zk.create('/t/crud/n')).rejects.toBeInstanceOf(ZkNodeExistsError);
    const { data, stat } = await zk.get('/t/crud/n');
    expect(data.toString()).toBe('one');
    expect(stat.version).toBe(0);
    expect(stat.ephemeralOwner).toBe('0');
    const s2 = await zk.set('/t/crud/n', Buffer.from('two'), 0);
    expect(s2.version).toBe(1);
    await expect(zk.set('/t/crud/n', Buffer.from('x'), 0)).rejects.toBeInstanceOf(
      ZkBadVersionError,
    );
    await expect(zk.delete('/t/crud/n', 0)).rejects.toBeInstanceOf(ZkBadVersionError);
    await zk.create('/t/crud/n/child');
    await expect(zk.delete('/t/crud/n')).rejects.toBeInstanceOf(ZkNotEmptyError);
    await zk.deleteRecursive('/t/crud/n');
    expect(await zk.exists('/t/crud/n')).toBeNull();
    await expect(zk.get('/t/crud/n')).rejects.toBeInstanceOf(ZkNoNodeError);
    await zk.deleteRecursive('/t/crud/n'); // absent: no error
  });

  it('sequential and ephemeral modes', async () => {
    await zk.mkdirp('/t/seq');
    const a = await zk.create('/t/seq/q-', undefined, { mode: 'persistent_sequential' });
    const b = await zk.create('/t/seq/q-', undefined, { mode: 'ephemeral_sequential' });
    expect(a).toMatch(/^\/t\/seq\/q-\d{10}$/);
    expect(b > a).toBe(true);
    const { stat } = await zk.get(b);
    expect(stat.ephemeralOwner).toBe(zk.sessionId);
  });

  it('protected create prefixes a unique id', async () => {
    await zk.mkdirp('/t/prot');
    const p = await zk.create('/t/prot/lock-', Buffer.from('x'), {
      mode: 'ephemeral_sequential',
      protected: true,
    });
    expect(p).toMatch(/^\/t\/prot\/_c_[0-9a-f-]{36}-lock-\d{10}$/);
  });

  it('watchers fire once with the chroot-relative path', async () => {
    await zk.mkdirp('/t/watch');
    const events: WatchEvent[] = [];
    expect(await zk.exists('/t/watch/x', (e) => events.push(e))).toBeNull();
    await zk.create('/t/watch/x');
    await waitUntil(() => events.length === 1, 'the created event');
    expect(events[0]).toEqual({ type: 'created', path: '/t/watch/x' });
    await zk.get('/t/watch/x', (e) => events.push(e));
    await zk.children('/t/watch', (e) => events.push(e));
    await zk.set('/t/watch/x', Buffer.from('1'));
    await zk.create('/t/watch/y');
    await waitUntil(() => events.length === 3, 'changed and children events');
    expect(events.slice(1).sort((x, y) => x.type.localeCompare(y.type))).toEqual([
      { type: 'changed', path: '/t/watch/x' },
      { type: 'children', path: '/t/watch' },
    ]);
  });

  it('transactions are all or nothing, including version 0 checks', async () => {
    await zk.mkdirp('/t/tx');
    await zk.create('/t/tx/a', Buffer.from('a'));
    const created = await zk.transaction([
      { op: 'check', path: '/t/tx/a', version: 0 },
      { op: 'create', path: '/t/tx/s-', mode: 'persistent_sequential' },
      { op: 'set', path: '/t/tx/a', data: Buffer.from('b'), version: 0 },
    ]);
    expect(created).toHaveLength(1);
    expect(created[0]).toMatch(/^\/t\/tx\/s-\d{10}$/);
    // version 0 is stale now: the whole transaction must fail, nothing created
    const failed = zk.transaction([
      { op: 'create', path: '/t/tx/never' },
      { op: 'check', path: '/t/tx/a', version: 0 },
    ]);
    await expect(failed).rejects.toBeInstanceOf(ZkBadVersionError);
    await expect(failed).rejects.toMatchObject({ path: '/t/tx/a' });
    expect(await zk.exists('/t/tx/never')).toBeNull();
    await zk.transaction([{ op: 'delete', path: '/t/tx/a', version: 1 }]);
    expect(await zk.exists('/t/tx/a')).toBeNull();
  });

  it('a failed transaction names the operation that failed (a vanished lock node)', async () => {
    await zk.mkdirp('/t/tx2');
    const failed = zk.transaction([
      { op: 'create', path: '/t/tx2/result' },
      { op: 'check', path: '/t/tx2/lock-gone', version: 0 },
    ]);
    await expect(failed).rejects.toBeInstanceOf(ZkNoNodeError);
    await expect(failed).rejects.toMatchObject({ path: '/t/tx2/lock-gone' });
    expect(await zk.exists('/t/tx2/result')).toBeNull();
    await zk.deleteRecursive('/t/tx2');
  });

  it('rejects invalid paths before sending them', async () => {
    await expect(zk.get('relative')).rejects.toBeInstanceOf(ZkInvalidPathError);
    await expect(zk.get('/a/../b')).rejects.toBeInstanceOf(ZkInvalidPathError);
    await expect(zk.get('/a/')).rejects.toBeInstanceOf(ZkInvalidPathError);
  });

  it('reports connection loss for a write whose outcome is unknown', async () => {
    const other = await connectZooKeeper({ connectString: chroot.connectString });
    try {
      // The request is written and the socket dropped in the same tick, so
      // no reply can arrive: the outcome is unknown to the client.
      const pending = other.set('/t', Buffer.from('x'));
      other.simulateConnectionLoss();
      await expect(pending).rejects.toBeInstanceOf(ZkConnectionLossError);
      await other.waitConnected({ timeoutMs: 10_000 });
      expect(await other.exists('/t')).not.toBeNull();
    } finally {
      await other.close();
    }
  });

  it('digest auth: nodes are created with an ACL for the identity only (plus world read if asked)', async () => {
    const secured = await newChroot('acl');
    const auth = { user: 'drawbridge', password: 's3cret' };
    const owner = await connectZooKeeper({ connectString: secured.connectString, auth });
    const reader = await connectZooKeeper({
      connectString: secured.connectString,
      auth: { ...auth, worldReadable: true },
    });
    const stranger = await connectZooKeeper({ connectString: secured.connectString });
    try {
      await owner.create('/private', Buffer.from('p'));
      await reader.create('/public', Buffer.from('w'));
      expect((await owner.get('/private')).data.toString()).toBe('p');
      await expect(stranger.get('/private')).rejects.toBeInstanceOf(ZkNoAuthError);
      await expect(stranger.set('/private', Buffer.from('x'))).rejects.toBeInstanceOf(
        ZkNoAuthError,
      );
      expect((await stranger.get('/public')).data.toString()).toBe('w');
      await expect(stranger.set('/public', Buffer.from('x'))).rejects.toBeInstanceOf(ZkNoAuthError);
      await expect(stranger.create('/private/child')).rejects.toBeInstanceOf(ZkNoAuthError);
    } finally {
      await owner.deleteRecursive('/');
      expect(await owner.children('/')).toEqual([]);
      await Promise.all([owner.close(), reader.close(), stranger.close()]);
    }
  });
});
