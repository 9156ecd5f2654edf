/**
 * Drawbridge against a three-server ZooKeeper ensemble, with real processes
 * (two schedulers, one executor) connected to all three servers:
 *  - the leader killed while a deployment runs: no disruption (same
 *    sessions, same registrations, every job once, first attempt);
 *  - the whole ensemble stopped for longer than the session timeout, then
 *    started: every process gets a new session and registers again, the
 *    deployment completes (the running build retried if it was lost), and
 *    no job ever runs twice at once.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { listComponents } from '../../src/zk/registry.js';
import { startEnsemble, type ZkEnsemble } from '../fixtures/zk-ensemble.js';
import {
  createCluster,
  jobStanza,
  manualPipeline,
  projectStanza,
  waitUntil,
  type Cluster,
  type Daemon,
  type HaRecord,
} from './reconfigure-support.js';

// Three JVMs and three Drawbridge processes on a shared, loaded machine.
jest.setTimeout(300_000);

const SESSION_TIMEOUT_S = 5;

let ensemble: ZkEnsemble;
let cluster: Cluster;
let daemons: Daemon[];

function layout(records: string): Record<string, string> {
  const after = (...deps: string[]) =>
    `    dependencies:\n${deps.map((d) => `      - ${d}\n`).join('')}`;
  const jobs = (p: string) => [
    jobStanza(`${p}-gate`, records, '', { gate: true }),
    jobStanza(`${p}-a`, records, after(`${p}-gate`)),
    jobStanza(`${p}-b`, records, after(`${p}-gate`)),
    jobStanza(`${p}-c`, records, after(`${p}-a`, `${p}-b`)),
  ];
  return {
    'ha.yaml': [
      manualPipeline('kill'),
      manualPipeline('outage'),
      ...jobs('kill'),
      ...jobs('outage'),
      projectStanza({
        kill: ['kill-gate', 'kill-a', 'kill-b', 'kill-c'],
        outage: ['outage-gate', 'outage-a', 'outage-b', 'outage-c'],
      }),
    ].join(''),
  };
}

interface Registered {
  readonly kind: string;
  readonly pid: number;
  readonly state: string;
  /** The ZooKeeper session owning the ephemeral registration. */
  readonly session: string | undefined;
}

async function components(): Promise<Registered[]> {
  const { zk, paths } = cluster;
  const all = await Promise.all(
    (['scheduler', 'executor'] as const).map(async (kind) =>
      Promise.all(
        (await listComponents(zk, paths.components(kind))).map(async (c) => ({
          kind,
          pid: c.pid,
          state: c.state,
          session: (await zk.exists(paths.component(kind, c.id)))?.ephemeralOwner,
        })),
      ),
    ),
  );
  return all.flat().sort((a, b) => a.pid - b.pid);
}

function recordsOf(buildset: string): HaRecord[] {
  return cluster.jobRecords().filter((r) => r.buildset === buildset);
}

async function gateRunning(job: string): Promise<void> {
  await waitUntil(
    () => cluster.jobRecords().some((r) => r.job === job && r.event === 'start'),
    `${job} to start`,
    90_000,
  );
}

beforeAll(async () => {
  ensemble = await startEnsemble();
  cluster = await createCluster('ensemble', {
    zkHosts: ensemble.connectString,
    root: '/drawbridge-ha',
    sessionTimeout: SESSION_TIMEOUT_S,
  });
  cluster.writeLayout(layout(cluster.records));
  daemons = [
    await cluster.start('scheduler', 's1'),
    await cluster.start('executor', 'e1'),
    await cluster.start('scheduler', 's2'),
  ];
});
afterAll(async () => {
  await cluster?.dispose();
  await ensemble?.dispose();
});

describe('a three-server ZooKeeper ensemble', () => {
  it('keeps a deployment going when the leader is killed', async () => {
    const before = await components();
    expect(before.map((c) => c.kind).sort()).toEqual(['executor', 'scheduler', 'scheduler']);
    const id = await cluster.enqueue('kill');
    await gateRunning('kill-gate');

    const leader = await ensemble.leader();
    await leader.kill();
    await ensemble.waitServing();
    expect(await ensemble.leader()).not.toBe(leader);
    cluster.open('kill-gate');

    const done = await cluster.finished('kill', id);
    expect(done.result).toBe('SUCCESS');
    expect(done.jobs.map((j) => [j.name, j.state, j.attempt])).toEqual([
      ['kill-gate', 'SUCCESS', 1],
      ['kill-a', 'SUCCESS', 1],
      ['kill-b', 'SUCCESS', 1],
      ['kill-c', 'SUCCESS', 1],
    ]);
    const starts = recordsOf(id)
      .filter((r) => r.event === 'start')
      .map((r) => r.job);
    expect(starts.sort()).toEqual(['kill-a', 'kill-b', 'kill-c', 'kill-gate']);
    // Same sessions: the registrations' owners did not change.
    expect(await components()).toEqual(before);
    expect(new Set(before.map((c) => c.session)).size).toBe(3);
    expect(daemons.map((d) => d.child.exitCode)).toEqual([null, null, null]);

    await leader.start();
    await ensemble.waitServing();
  });

  it('recovers from the whole ensemble stopped longer than the session timeout', async () => {
    const before = await components();
    const id = await cluster.enqueue('outage');
    await gateRunning('outage-gate');

    await ensemble.stopAll();
    // Every process notices: the session is gone once its timeout has passed.
    await waitUntil(
      () => daemons.every((d) => d.stdout().includes('"msg":"ZooKeeper session lost"')),
      `every process to declare its ZooKeeper session lost after ${SESSION_TIMEOUT_S} s`,
      60_000,
    );
    await ensemble.startAll();

    // The same processes register again, under new sessions, and run.
    let seen: Registered[] = [];
    await waitUntil(
      async () => {
        seen = await components().catch(() => []);
        // The old sessions' registrations linger until the restarted ensemble expires them.
        return (
          seen.length === before.length &&
          seen.every((c, i) => c.pid === before[i]?.pid && c.state === 'running') &&
          !seen.some((c) => before.some((b) => b.session === c.session))
        );
      },
      'the three processes to register again, under new sessions, and run',
      90_000,
    ).catch((e: unknown) => {
      const exits = daemons.map((d) => d.child.exitCode);
      const tails = daemons.map((d) => d.stdout().split('\n').slice(-15).join('\n'));
      throw new Error(
        `${String(e)}\nbefore: ${JSON.stringify(before)}\nlast seen: ${JSON.stringify(seen)}\n` +
          `exit codes: ${JSON.stringify(exits)}\n${tails.join('\n----\n')}`,
      );
    });
    cluster.open('outage-gate');

    const after = await components();
    expect(after.map((c) => c.session).filter((s) => before.some((b) => b.session === s))).toEqual(
      [],
    );
    const done = await cluster.finished('outage', id, 120_000);
    expect(done.result).toBe('SUCCESS');
    expect(done.jobs.map((j) => [j.name, j.state])).toEqual([
      ['outage-gate', 'SUCCESS'],
      ['outage-a', 'SUCCESS'],
      ['outage-b', 'SUCCESS'],
      ['outage-c', 'SUCCESS'],
    ]);
    const records = recordsOf(id);
    // Nothing ran twice at once: no run of a job found an earlier run still alive.
    expect(records.filter((r) => r.event === 'overlap')).toEqual([]);
    // The jobs after the gate ran once; the gate ran once more only if its build was lost.
    const starts = (job: string) =>
      records.filter((r) => r.job === job && r.event === 'start').length;
    expect(['outage-a', 'outage-b', 'outage-c'].map(starts)).toEqual([1, 1, 1]);
    const gate = done.jobs[0]!;
    expect(starts('outage-gate')).toBe(gate.attempt);
    expect(records.filter((r) => r.job === 'outage-gate' && r.event === 'end')).toHaveLength(1);
    expect(daemons.map((d) => d.child.exitCode)).toEqual([null, null, null]);
  });
});
