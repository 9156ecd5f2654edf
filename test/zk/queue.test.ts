import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { jsonCodec } from '../../src/zk/codec.js';
import { commit, ZkDocument } from '../../src/zk/document.js';
import { ZkBadVersionError } from '../../src/zk/errors.js';
import { entrySeq, orderEntries, ZkEventQueue } from '../../src/zk/queue.js';
import { ZkReadWriteLock } from '../../src/zk/rwlock.js';
import { prepareValue, sweepOrphanShards } from '../../src/zk/shard.js';
import type { ZooKeeperClient } from '../../src/zk/zk-client.js';
import { type TestChroot } from '../fixtures/zookeeper.js';
import { connect, expireSession, waitFor, withChroot } from './recipe-helpers.js';

interface Ev {
  n: number;
  pad?: string;
}
const codec = jsonCodec<Ev>();

describe('event queue (pure)', () => {
  it('orders entries by sequence whatever their protection prefix, and skips strangers', () => {
    const ids = [
      '_c_b-e-0000000010',
      '_c_a-e-0000000002',
      'e-0000000003',
      'blobs',
      'lock-0000000001',
    ];
    expect(orderEntries(ids)).toEqual(['_c_a-e-0000000002', 'e-0000000003', '_c_b-e-0000000010']);
    expect(entrySeq('_c_x-e-0000000042')).toBe(42);
    expect(entrySeq('nothing')).toBeUndefined();
  });
});

describe('event queue', () => {
  let chroot: TestChroot;
  let client: ZooKeeperClient;

  withChroot('queue', (c, z) => {
    chroot = c;
    client = z;
  });

  it('reads events in the order they were put; ack deletes, twice is harmless', async () => {
    const q = new ZkEventQueue(client, '/q1', codec);
    expect(await q.read()).toEqual([]);
    const ids: string[] = [];
    for (let n = 0; n < 20; n++) ids.push(await q.put({ n }));
    const events = await q.read();
    expect(events.map((e) => e.value.n)).toEqual([...Array(20).keys()]);
    expect(events.map((e) => e.id)).toEqual(ids);
    expect((await q.read(3)).map((e) => e.value.n)).toEqual([0, 1, 2]);
    await q.ack(ids[0]!);
    await q.ack(ids[0]!);
    await q.ack('e-9999999999');
    expect((await q.read()).map((e) => e.value.n)).toEqual([...Array(19).keys()].map((n) => n + 1));
    await Promise.all(ids.map((id) => q.ack(id)));
    expect(await q.ids()).toEqual([]);
    await client.deleteRecursive('/q1');
  });

  it('shards a payload over the node limit and drops its shards on ack', async () => {
    const q = new ZkEventQueue(client, '/q2', codec);
    const pad = randomBytes(1024 * 1024).toString('hex'); // 2 MiB of JSON
    const id = await q.put({ n: 1, pad });
    await q.put({ n: 2 });
    expect(await client.children('/q2/blobs')).toHaveLength(1);
    const [big, small] = await q.read();
    expect(big?.value).toEqual({ n: 1, pad });
    expect(small?.value).toEqual({ n: 2 });
    // A put that died between its shards and its entry leaves a generation the sweep removes.
    const orphan = await prepareValue(client, Buffer.alloc(3000, 1), q.blobRoot, q.entriesPath, {
      shardBytes: 1000,
    });
    expect(await client.children('/q2/blobs')).toHaveLength(2);
    expect(await sweepOrphanShards(client, q.blobRoot, 0)).toEqual([orphan.header!.dir]);
    expect((await q.read())[0]?.value).toEqual({ n: 1, pad });
    await q.ack(id);
    expect(await client.children('/q2/blobs')).toEqual([]);
    await client.deleteRecursive('/q2');
  });

  it('notifies the watcher of new events, re-armed after each one and after a new session', async () => {
    const watcherClient = await connect(chroot.connectString);
    const q = new ZkEventQueue(client, '/q3', codec);
    const seen: string[][] = [];
    const stop = new ZkEventQueue(watcherClient, '/q3', codec).watch((ids) => void seen.push(ids));
    await waitFor(() => seen.length === 1, 'the first callback');
    expect(seen[0]).toEqual([]);
    const a = await q.put({ n: 1 });
    await waitFor(() => seen.at(-1)?.length === 1, 'the first event');
    const b = await q.put({ n: 2 });
    await waitFor(() => seen.at(-1)?.length === 2, 'the second event');
    const first = watcherClient.sessionId;
    await expireSession(watcherClient, chroot.serverConnectString);
    const c = await q.put({ n: 3 });
    await waitFor(() => watcherClient.sessionId !== first, 'a new session');
    await waitFor(
      () => JSON.stringify(seen.at(-1)) === JSON.stringify([a, b, c]),
      'the event put while the session was lost',
    );
    const d = await q.put({ n: 4 });
    await waitFor(() => seen.at(-1)?.at(-1) === d, 'an event after the new session');
    stop();
    await watcherClient.close();
    await client.deleteRecursive('/q3');
  });

  it('two consumers, each holding the lock around read-process-ack, process every event exactly once', async () => {
    const total = 60;
    await client.mkdirp('/q4/state');
    const producer = new ZkEventQueue(client, '/q4/events', codec);
    const consumers = await Promise.all([
      connect(chroot.connectString),
      connect(chroot.connectString),
    ]);
    const processedBy: string[] = [];
    const consume = async (c: ZooKeeperClient, name: string): Promise<void> => {
      const q = new ZkEventQueue(c, '/q4/events', codec);
      const lock = new ZkReadWriteLock(c, '/q4/lock');
      const state = new ZkDocument(c, '/q4/state/counts', jsonCodec<number[]>());
      for (;;) {
        const lease = await lock.acquire('write', { timeoutMs: 20_000 });
        try {
          for (const e of await q.read(5)) {
            expect(await lease.isStillValid()).toBe(true);
            // The state the event causes is written before the ack.
            await state.update((counts) => {
              const next = counts ?? Array<number>(total).fill(0);
              next[e.value.n] = (next[e.value.n] ?? 0) + 1;
              return next;
            });
            processedBy.push(name);
            await q.ack(e.id);
          }
        } finally {
          await lease.release();
        }
        const counts = (await state.read())?.value ?? [];
        if (counts.reduce((s, x) => s + x, 0) >= total) return;
      }
    };
    const running = Promise.all([consume(consumers[0], 'one'), consume(consumers[1], 'two')]);
    for (let n = 0; n < total; n++) await producer.put({ n });
    await running;
    const counts = (await new ZkDocument(client, '/q4/state/counts', jsonCodec<number[]>()).read())
      ?.value;
    expect(counts).toEqual(Array<number>(total).fill(1));
    expect(processedBy).toHaveLength(total);
    expect(await producer.ids()).toEqual([]);
    expect(await client.children('/q4/lock')).toEqual([]);
    await Promise.all(consumers.map((c) => c.close()));
    await client.deleteRecursive('/q4');
  });

  it('puts an event in the same transaction as the state that caused it', async () => {
    const q = new ZkEventQueue(client, '/q5/events', codec);
    await q.init();
    const state = new ZkDocument(client, '/q5/state', codec);
    await state.create({ n: 0 });
    const ops = [await state.prepareWrite({ n: 1 }, 0), await q.preparePut({ n: 1 })];
    await commit(client, ops);
    expect((await q.read()).map((e) => e.value)).toEqual([{ n: 1 }]);
    // Replaying the same transaction fails on the version: no duplicate event.
    await expect(commit(client, ops)).rejects.toBeInstanceOf(ZkBadVersionError);
    expect(await q.ids()).toHaveLength(1);
    await client.deleteRecursive('/q5');
  });
});
