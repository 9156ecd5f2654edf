/**
 * The sweep of control requests addressed to dead components (src/ops/
 * control-sweep.ts) against a real ZooKeeper. Components are registry
 * entries of this process; "dying" is deleting the registry node, as the
 * server does when the session of a killed process expires. The grace is
 * measured on a clock the test moves, so nothing sleeps.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ControlRequestSweeper,
  planSweep,
  readControlRequest,
  sendControlRequest,
  startControlSweep,
} from '../../src/ops/index.js';
import { ZkPaths } from '../../src/zk/paths.js';
import { ComponentRegistration } from '../../src/zk/registry.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { waitUntil } from '../fixtures/wait.js';
import { newChroot } from '../fixtures/zookeeper.js';

const GRACE = 60_000;
let zk: ZooKeeperClient;
let other: ZooKeeperClient;
let count = 0;
const registrations: ComponentRegistration[] = [];

beforeAll(async () => {
  const chroot = await newChroot('ha-control-sweep');
  const connect = () =>
    connectZooKeeper({ connectString: chroot.connectString, sessionTimeoutMs: 4_000 });
  zk = await connect();
  other = await connect();
});
afterAll(async () => {
  for (const r of registrations) await r.unregister();
  await Promise.all([zk?.close(), other?.close()]);
});

function fresh(): ZkPaths {
  count += 1;
  return new ZkPaths(`/s${count}`);
}

async function register(paths: ZkPaths, kind: 'scheduler' | 'executor'): Promise<string> {
  const reg = await ComponentRegistration.register(zk, paths.components(kind), {
    kind,
    hostname: 'test',
    pid: 2000 + registrations.length,
    version: 'test',
    state: 'running',
  });
  registrations.push(reg);
  return reg.id;
}

/** What the server does to a killed component's node once its session expires. */
async function die(paths: ZkPaths, kind: 'scheduler' | 'executor', id: string): Promise<Buffer> {
  const path = `${paths.components(kind)}/${id}`;
  const { data } = await zk.get(path);
  await zk.delete(path);
  return data;
}

function clock() {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('control request sweep', () => {
  it('deletes the request of a dead component only after the grace, and keeps the living', async () => {
    const paths = fresh();
    const [dead, alive] = [await register(paths, 'executor'), await register(paths, 'executor')];
    for (const id of [dead, alive])
      await sendControlRequest(zk, paths, id, { action: 'pause', requestedBy: 'test' });
    await die(paths, 'executor', dead);
    const c = clock();
    const sweeper = new ControlRequestSweeper(zk, paths, { graceMs: GRACE, now: c.now });

    expect(await sweeper.sweep()).toEqual([]);
    expect([...sweeper.orphans.keys()]).toEqual([dead]);
    c.advance(GRACE - 1);
    expect(await sweeper.sweep()).toEqual([]);
    expect(await readControlRequest(zk, paths, dead)).not.toBeNull();

    c.advance(1);
    const swept = await sweeper.sweep();
    expect(swept).toEqual([
      {
        component: dead,
        request: expect.objectContaining({ action: 'pause', requestedBy: 'test' }),
        orphanedMs: GRACE,
      },
    ]);
    expect(await readControlRequest(zk, paths, dead)).toBeNull();
    c.advance(10 * GRACE);
    expect(await sweeper.sweep()).toEqual([]);
    expect(await readControlRequest(zk, paths, alive)).toMatchObject({ action: 'pause' });
    expect(await zk.children(paths.controlRequests())).toEqual([alive]);
  });

  it('keeps the request of a component that re-registers under the same id within the grace', async () => {
    const paths = fresh();
    const id = await register(paths, 'scheduler');
    await sendControlRequest(zk, paths, id, { action: 'drain', requestedBy: 'test' });
    const c = clock();
    const sweeper = new ControlRequestSweeper(zk, paths, { graceMs: GRACE, now: c.now });

    // Its session expired and the registry node went; it reconnects and re-creates it.
    const record = await die(paths, 'scheduler', id);
    expect(await sweeper.sweep()).toEqual([]);
    c.advance(GRACE / 2);
    await zk.create(`${paths.components('scheduler')}/${id}`, record, { mode: 'ephemeral' });
    expect(await sweeper.sweep()).toEqual([]);
    expect(sweeper.orphans.size).toBe(0);

    // Gone again: the grace starts over, not from the first absence.
    await die(paths, 'scheduler', id);
    c.advance(GRACE);
    expect(await sweeper.sweep()).toEqual([]);
    expect(await readControlRequest(zk, paths, id)).toMatchObject({ action: 'drain' });
    c.advance(GRACE);
    expect((await sweeper.sweep()).map((s) => s.component)).toEqual([id]);
  });

  it('keeps a request rewritten since it was first seen orphaned, until its own grace', async () => {
    const paths = fresh();
    const id = await register(paths, 'executor');
    await sendControlRequest(zk, paths, id, { action: 'pause', requestedBy: 'first' });
    await die(paths, 'executor', id);
    const c = clock();
    const sweeper = new ControlRequestSweeper(zk, paths, { graceMs: GRACE, now: c.now });
    expect(await sweeper.sweep()).toEqual([]);
    await sendControlRequest(zk, paths, id, { action: 'resume', requestedBy: 'second' });
    c.advance(GRACE);
    expect(await sweeper.sweep()).toEqual([]);
    expect(await readControlRequest(zk, paths, id)).toMatchObject({ requestedBy: 'second' });
    c.advance(GRACE);
    expect(await sweeper.sweep()).toEqual([
      expect.objectContaining({
        component: id,
        request: expect.objectContaining({ action: 'resume' }),
      }),
    ]);
  });

  it('keeps a request rewritten between the sweep reading it and deleting it', async () => {
    const paths = fresh();
    const id = await register(paths, 'executor');
    await sendControlRequest(zk, paths, id, { action: 'pause', requestedBy: 'first' });
    await die(paths, 'executor', id);
    // The real client, except that another writer gets in just before each delete.
    const racing = new Proxy(zk, {
      get(target, prop) {
        if (prop === 'delete')
          return async (path: string, version?: number) => {
            await sendControlRequest(zk, paths, id, { action: 'resume', requestedBy: 'racer' });
            return target.delete(path, version);
          };
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function'
          ? (value as (...args: unknown[]) => unknown).bind(target)
          : value;
      },
    });
    const c = clock();
    const sweeper = new ControlRequestSweeper(racing, paths, { graceMs: GRACE, now: c.now });
    expect(await sweeper.sweep()).toEqual([]);
    c.advance(GRACE);
    expect(await sweeper.sweep()).toEqual([]);
    expect(await readControlRequest(zk, paths, id)).toMatchObject({ requestedBy: 'racer' });
  });

  it('lets several schedulers sweep the same nodes: each is deleted once, nobody fails', async () => {
    const paths = fresh();
    const ids = [await register(paths, 'executor'), await register(paths, 'scheduler')];
    for (const id of ids)
      await sendControlRequest(zk, paths, id, { action: 'drain', requestedBy: 'test' });
    await die(paths, 'executor', ids[0]!);
    await die(paths, 'scheduler', ids[1]!);
    const c = clock();
    const sweepers = [zk, other, zk].map(
      (client) => new ControlRequestSweeper(client, paths, { graceMs: GRACE, now: c.now }),
    );
    for (const s of sweepers) expect(await s.sweep()).toEqual([]);
    c.advance(GRACE);
    const results = await Promise.all(sweepers.map((s) => s.sweep()));
    expect(
      results
        .flat()
        .map((s) => s.component)
        .sort(),
    ).toEqual([...ids].sort());
    expect(await zk.children(paths.controlRequests())).toEqual([]);
    for (const s of sweepers) expect(await s.sweep()).toEqual([]);
  });

  it('copes with no control directory, and with a node made by hand that is no request', async () => {
    const paths = fresh();
    const sweeper = new ControlRequestSweeper(zk, paths, { graceMs: 0 });
    expect(await sweeper.sweep()).toEqual([]);
    await zk.mkdirp(paths.controlRequests());
    await zk.create(`${paths.controlRequests()}/not an id!`, Buffer.from('junk'));
    expect(await sweeper.sweep()).toEqual([]);
    expect(await sweeper.sweep()).toEqual([
      { component: 'not an id!', request: null, orphanedMs: expect.any(Number) },
    ]);
    expect(await zk.children(paths.controlRequests())).toEqual([]);
    expect(() => new ControlRequestSweeper(zk, fresh(), { graceMs: -1 })).toThrow(/graceMs/);
  });

  it('runs on a timer until stopped, reporting what it deleted', async () => {
    const paths = fresh();
    const id = await register(paths, 'executor');
    await sendControlRequest(zk, paths, id, { action: 'pause', requestedBy: 'test' });
    await die(paths, 'executor', id);
    const swept: string[] = [];
    const errors: Error[] = [];
    const sweep = startControlSweep(zk, paths, {
      intervalMs: 20,
      graceMs: 0,
      onSwept: (s) => swept.push(...s.map((x) => x.component)),
      onError: (e) => errors.push(e),
    });
    try {
      await waitUntil(() => swept.length > 0, 'the periodic sweep to delete the request');
      expect(swept).toEqual([id]);
      expect(await readControlRequest(zk, paths, id)).toBeNull();
      expect(errors).toEqual([]);
    } finally {
      const stopping = sweep.stop();
      expect(sweep.stop()).toBe(stopping);
      await stopping;
    }
    expect(() => startControlSweep(zk, paths, { intervalMs: 0, graceMs: 0 })).toThrow(/intervalMs/);
  });
});

describe('planSweep', () => {
  it('forgets registered ids, vanished nodes and rewritten versions', () => {
    const prev = new Map([
      ['a', { version: 0, since: 0 }],
      ['b', { version: 0, since: 0 }],
      ['c', { version: 0, since: 0 }],
      ['gone', { version: 0, since: 0 }],
    ]);
    const plan = planSweep(
      prev,
      new Map([
        ['a', 0],
        ['b', 1],
        ['c', 0],
        ['new', 0],
      ]),
      new Set(['c']),
      10,
      10,
    );
    expect(plan.due).toEqual([{ component: 'a', orphan: { version: 0, since: 0 } }]);
    expect([...plan.orphans]).toEqual([
      ['b', { version: 1, since: 10 }],
      ['new', { version: 0, since: 10 }],
    ]);
  });
});
