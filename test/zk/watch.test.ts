import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { watchChildren, watchData, type DataSnapshot } from '../../src/zk/watch.js';
import type { ZooKeeperClient } from '../../src/zk/zk-client.js';
import { chrootOn, startZooKeeper, type TestChroot, type ZkServer } from '../fixtures/zookeeper.js';
import { closeAll, connect, expireSession, tree, waitFor, withChroot } from './recipe-helpers.js';

const text = (s: DataSnapshot | null): string => (s ? s.data.toString('utf8') : 'absent');

describe('watch helpers', () => {
  let chroot: TestChroot;
  let client: ZooKeeperClient;

  withChroot('watch', (c, z) => {
    chroot = c;
    client = z;
  });

  it('re-arms after every change: 100 quick writes end with the last value, in order', async () => {
    await client.create('/counter', Buffer.from('0'));
    const seen: number[] = [];
    const stop = watchData(client, '/counter', (s) => void seen.push(Number(text(s))));
    await waitFor(() => seen.length > 0, 'the first callback');
    for (let i = 1; i <= 100; i++) await client.set('/counter', Buffer.from(String(i)));
    await waitFor(() => seen.at(-1) === 100, 'a callback with the last value (100)');
    stop();
    // Coalesced, never stale: strictly increasing.
    expect(seen.every((v, i) => i === 0 || v > (seen[i - 1] ?? -1))).toBe(true);
    await client.delete('/counter');
  });

  it('reports an absent node as null, then its creation and its deletion', async () => {
    const seen: string[] = [];
    const stop = watchData(client, '/later', (s) => void seen.push(text(s)));
    await waitFor(() => seen.length === 1, 'the first callback');
    expect(seen).toEqual(['absent']);
    await client.create('/later', Buffer.from('here'));
    await waitFor(() => seen.at(-1) === 'here', 'the creation');
    await client.delete('/later');
    await waitFor(() => seen.at(-1) === 'absent', 'the deletion');
    stop();
  });

  it('never runs the callback concurrently with itself, and delivers what changed meanwhile', async () => {
    await client.create('/slow', Buffer.from('0'));
    let running = 0;
    let maxRunning = 0;
    const seen: string[] = [];
    let release: () => void = () => undefined;
    const stop = watchData(client, '/slow', async (s) => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      seen.push(text(s));
      if (seen.length === 1) await new Promise<void>((r) => (release = r));
      running -= 1;
    });
    await waitFor(() => seen.length === 1, 'the first (blocked) callback');
    for (let i = 1; i <= 10; i++) await client.set('/slow', Buffer.from(String(i)));
    release();
    await waitFor(() => seen.at(-1) === '10', 'the last value after the blocked callback returned');
    stop();
    expect(maxRunning).toBe(1);
    // The ten writes made during the blocked call arrive as one more call.
    expect(seen).toEqual(['0', '10']);
    await client.delete('/slow');
  });

  it('reports a throwing callback and keeps watching', async () => {
    await client.create('/throws', Buffer.from('a'));
    const errors: Error[] = [];
    const seen: string[] = [];
    const stop = watchData(
      client,
      '/throws',
      (s) => {
        seen.push(text(s));
        if (text(s) === 'a') throw new Error('callback failed');
      },
      { onError: (e) => errors.push(e) },
    );
    await waitFor(() => errors.length === 1, 'the reported callback error');
    await client.set('/throws', Buffer.from('b'));
    await waitFor(() => seen.at(-1) === 'b', 'the next change after the error');
    stop();
    expect(errors[0]?.message).toBe('callback failed');
    await client.delete('/throws');
  });

  it('watches children: joins, leaves, and the parent appearing', async () => {
    const seen: (string[] | null)[] = [];
    const stop = watchChildren(client, '/kids', (c) => void seen.push(c));
    await waitFor(() => seen.length === 1, 'the first callback');
    expect(seen[0]).toBeNull();
    await client.mkdirp('/kids');
    await waitFor(() => JSON.stringify(seen.at(-1)) === '[]', 'the parent being created');
    await client.create('/kids/b');
    await client.create('/kids/a');
    await waitFor(() => JSON.stringify(seen.at(-1)) === '["a","b"]', 'two children, sorted');
    await client.delete('/kids/b');
    await waitFor(() => JSON.stringify(seen.at(-1)) === '["a"]', 'a child leaving');
    stop();
    await client.deleteRecursive('/kids');
  });

  it('stops: no callback after the stop function ran', async () => {
    await client.create('/stopped', Buffer.from('0'));
    const seen: string[] = [];
    const stop = watchData(client, '/stopped', (s) => void seen.push(text(s)));
    await waitFor(() => seen.length === 1, 'the first callback');
    stop();
    await client.set('/stopped', Buffer.from('1'));
    // A second watch armed after the write proves the event was delivered by now.
    const probe: string[] = [];
    const stopProbe = watchData(client, '/stopped', (s) => void probe.push(text(s)));
    await client.set('/stopped', Buffer.from('2'));
    await waitFor(() => probe.at(-1) === '2', 'the probe watch to see the second write');
    stopProbe();
    expect(seen).toEqual(['0']);
    await client.delete('/stopped');
  });

  it('survives a new session: re-armed, and sees what changed while it was gone', async () => {
    const other = await connect(chroot.connectString);
    await client.create('/session', Buffer.from('before'));
    const seen: string[] = [];
    const stop = watchData(other, '/session', (s) => void seen.push(text(s)));
    await waitFor(() => seen.at(-1) === 'before', 'the first value');
    const first = other.sessionId;
    await expireSession(other, chroot.serverConnectString);
    await client.set('/session', Buffer.from('meanwhile'));
    await waitFor(() => other.sessionId !== first && other.state === 'connected', 'a new session');
    await waitFor(() => seen.at(-1) === 'meanwhile', 'the change made while the session was lost');
    await client.set('/session', Buffer.from('after'));
    await waitFor(() => seen.at(-1) === 'after', 'a change on the new session (watch re-armed)');
    stop();
    await other.close();
    await client.delete('/session');
  });
});

describe('watch helpers across a server restart', () => {
  let server: ZkServer;

  beforeAll(async () => {
    server = await startZooKeeper();
  });

  afterAll(async () => {
    try {
      await closeAll();
    } finally {
      await server.dispose();
    }
  });

  it('keeps watching when the connection drops and comes back on the same session', async () => {
    const chroot = chrootOn(server, 'watch-restart');
    const client = await connect(chroot.connectString, 20_000);
    await client.create('/value', Buffer.from('before'));
    const seen: string[] = [];
    const stop = watchData(client, '/value', (s) => void seen.push(text(s)));
    await waitFor(() => seen.at(-1) === 'before', 'the first value');
    const session = client.sessionId;
    await server.stop();
    await waitFor(() => client.state === 'suspended', 'the client to notice the outage');
    await server.start();
    await client.waitConnected({ timeoutMs: 20_000 });
    expect(client.sessionId).toBe(session);
    await client.set('/value', Buffer.from('after'));
    await waitFor(() => seen.at(-1) === 'after', 'the change after the reconnect');
    stop();
    await client.delete('/value');
    expect(await tree(client)).toEqual([]);
  });
});
