/**
 * The scheduler writes finished buildsets to the history: real ZooKeeper,
 * sshd, ansible-playbook and git. A history database that is down does not
 * stop a deployment, and the finished records stay in ZooKeeper (even with
 * keepDoneBuildsets 0) until a scheduler whose history works takes the
 * pipeline over and writes them, once; then they are pruned.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadLayoutFromSources, type Layout } from '../../src/config/index.js';
import { createHistoryStore, HistoryRecorder, type HistoryStore } from '../../src/history/index.js';
import { buildsetCodec, managementEventCodec, pipelineStateCodec } from '../../src/model/index.js';
import { buildsetIdFor, Scheduler } from '../../src/scheduler/runtime/index.js';
import { ZkDocument, ZkEventQueue } from '../../src/zk/index.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { createWorld, waitUntil, type World } from '../executor/support.js';

const LAYOUT = `- pipeline:
    name: deploy
    manager: serial
    trigger:
      manual: true
- job:
    name: base
    run: playbooks/ok.yml
- job:
    name: service
    run: playbooks/ok.yml
    dependencies: [base]
- project:
    deploy:
      jobs: [base, service]
`;

const silent = pino({ level: process.env.DRAWBRIDGE_TEST_LOG ?? 'silent' });

describe('scheduler → history', () => {
  let world: World;
  let layout: Layout;
  const clients: ZooKeeperClient[] = [];
  const schedulers: Scheduler[] = [];
  const stores: HistoryStore[] = [];
  let counter = 0;

  beforeAll(async () => {
    world = await createWorld('history');
    const loaded = loadLayoutFromSources([{ file: 'zuul.d/test.yaml', text: LAYOUT }]);
    if (!loaded.layout) throw new Error(loaded.errors.map((e) => e.message).join('; '));
    layout = loaded.layout;
    await world.startExecutor({ slots: 2 });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(schedulers.map((s) => s.stop()));
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(stores.map((s) => s.close()));
    await world?.dispose();
  });

  async function startScheduler(
    history: HistoryStore,
  ): Promise<{ s: Scheduler; r: HistoryRecorder }> {
    const zk = await connectZooKeeper({
      connectString: world.chroot.connectString,
      sessionTimeoutMs: 4_000,
    });
    clients.push(zk);
    const r = new HistoryRecorder(history, silent, { backoffMs: 200, maxBackoffMs: 1_000 });
    const s = new Scheduler(
      { version: 'test', safetyIntervalMs: 300, keepDoneBuildsets: 0 },
      { zk, paths: world.paths, layout, layoutVersion: 'test', logger: silent, history: r },
    );
    schedulers.push(s);
    await s.start();
    return { s, r };
  }

  async function enqueue(): Promise<string> {
    counter += 1;
    const id = `hist-${process.pid}-${counter}`;
    const q = new ZkEventQueue(
      world.zk,
      world.paths.pipelineManagementEvents('deploy'),
      managementEventCodec,
    );
    await q.put({
      type: 'enqueue',
      pipeline: 'deploy',
      ref: 'refs/heads/main',
      commit: world.sha,
      id,
      requestedBy: 'test',
      requestedAt: Date.now(),
    });
    return buildsetIdFor('deploy', 'manual', id);
  }

  const record = (id: string) =>
    new ZkDocument(world.zk, world.paths.buildset('deploy', id), buildsetCodec).read();
  const queue = async () =>
    (await new ZkDocument(world.zk, world.paths.pipelineState('deploy'), pipelineStateCodec).read())
      ?.value.queue ?? [];

  it('deploys while the history database is down, and keeps the finished record in ZooKeeper', async () => {
    // Nothing listens on port 1: every connection is refused at once.
    const down = createHistoryStore(
      {
        kind: 'postgres',
        url: 'postgres://drawbridge@127.0.0.1:1/none',
        password: 'x',
        connectTimeoutMs: 500,
      },
      silent,
    );
    stores.push(down);
    const { s, r } = await startScheduler(down);
    const a = await enqueue();
    await waitUntil(
      async () => (await record(a))?.value.state === 'done',
      `buildset ${a} done`,
      90_000,
    );
    expect((await record(a))?.value.result).toBe('SUCCESS');
    await waitUntil(async () => !(await queue()).includes(a), `${a} to leave the queue`);
    await waitUntil(() => r.stats.failures > 0, 'a failed history write');
    // keepDoneBuildsets is 0, yet the record the history has not taken stays.
    expect((await record(a))?.value.id).toBe(a);
    expect(r.stats).toMatchObject({ down: true, pending: 1, written: 0 });
    await s.drain();
  }, 120_000);

  it('a scheduler with a working history takes over: writes what was kept, once, then prunes it', async () => {
    const sqlite = createHistoryStore(
      { kind: 'sqlite', path: join(world.dir, 'history.sqlite') },
      silent,
    );
    stores.push(sqlite);
    const done = (await sqlite.listBuildsets({}, { limit: 10, skip: 0 })).items;
    expect(done).toEqual([]);
    const kept = await queueless();
    expect(kept).toHaveLength(1);
    const a = kept[0]!;
    const { r } = await startScheduler(sqlite);
    await waitUntil(async () => (await sqlite.missing([a])).length === 0, `${a} in the history`);
    await waitUntil(async () => (await record(a)) === null, `${a} pruned from ZooKeeper`);

    const b = await enqueue();
    await waitUntil(
      async () => (await sqlite.getBuildset(b)) !== null,
      `${b} in the history`,
      90_000,
    );
    await waitUntil(async () => (await record(b)) === null, `${b} pruned from ZooKeeper`);
    const entry = (await sqlite.getBuildset(b))!;
    expect(entry.buildset).toMatchObject({
      pipeline: 'deploy',
      result: 'SUCCESS',
      commit: world.sha,
    });
    expect(entry.builds.map((x) => `${x.job}:${x.kind}:${x.result}:${x.attempt}`).sort()).toEqual([
      'base:job:SUCCESS:1',
      'checkout:checkout:SUCCESS:1',
      'service:job:SUCCESS:1',
    ]);
    const base = entry.builds.find((x) => x.job === 'base')!;
    expect(base.logPath).toBe(join(world.logRoot, b, 'base-1.log'));
    expect(existsSync(base.logPath!) && readFileSync(base.logPath!, 'utf8').length > 0).toBe(true);
    expect(base.startedAt! <= base.endedAt).toBe(true);

    // Exactly two buildsets and their six builds: nothing was written twice.
    const all = await sqlite.listBuilds({}, { limit: 100, skip: 0 });
    expect(all.items).toHaveLength(6);
    expect((await sqlite.listBuildsets({}, { limit: 10, skip: 0 })).items).toHaveLength(2);
    expect(r.stats).toMatchObject({ written: 2, failures: 0, pending: 0 });
  }, 120_000);

  /** The finished records still in ZooKeeper (the first test's buildset). */
  async function queueless(): Promise<string[]> {
    const names = await world.zk.children(world.paths.pipelineBuildsets('deploy'));
    return names.filter((n) => !n.startsWith('.'));
  }
});
