/**
 * High availability with real processes (three `drawbridge scheduler
 * --supervise`, an executor, ZooKeeper, sshd, git):
 * (a) failover: a scheduler is SIGKILLed inside a pass over a pipeline while
 *     a result is on its way; measured from the kill until a surviving
 *     scheduler has applied that result. Goal: session timeout + 1 s.
 * (b) rolling restart: total time to restart the three schedulers one at a
 *     time (src/ops, as the CLI drives it) while five buildsets run, and the
 *     time of each step; every buildset must succeed.
 */
import { startRollingRestart } from '../src/ops/index.js';
import { chrootOn, startZooKeeper } from '../test/fixtures/zookeeper.js';
import {
  createHaCluster,
  jobStanza,
  killInsidePass,
  SESSION_S,
  waitUntil,
  type HaCluster,
} from '../test/ha/support.js';
import type { Bench, Goal } from './bench.js';
import { summarize } from './stats.js';

const FLOW = ['f-a', 'f-b', 'f-c'];

function layout(trials: number): (records: string) => string {
  return (records) =>
    [
      '- pipeline:\n    name: flow\n    manager: serial\n    trigger:\n      manual: true\n',
      jobStanza('f-a', records),
      jobStanza('f-b', records, '    dependencies: [f-a]\n'),
      jobStanza('f-c', records, '    dependencies: [f-a]\n'),
      ...Array.from({ length: trials }, (_, i) =>
        [
          `- pipeline:\n    name: k${i}\n    manager: serial\n    trigger:\n      manual: true\n`,
          jobStanza(`k${i}-gate`, records, '', { gate: true }),
          jobStanza(`k${i}-after`, records, `    dependencies: [k${i}-gate]\n`),
        ].join('\n'),
      ),
      '- project:\n' +
        `    flow:\n      jobs: [${FLOW.join(', ')}]\n` +
        Array.from(
          { length: trials },
          (_, i) => `    k${i}:\n      jobs: [k${i}-gate, k${i}-after]\n`,
        ).join(''),
    ].join('\n');
}

const runningSchedulers = async (c: HaCluster) =>
  (await c.components('scheduler')).filter((s) => s.state === 'running');

/** One failover: ms from SIGKILL until a survivor applied the gate job's result. */
async function failoverOnce(c: HaCluster, trial: number): Promise<number> {
  const pipeline = `k${trial}`;
  const gate = `k${trial}-gate`;
  const bs = await c.enqueue(pipeline);
  await waitUntil(
    () => c.jobRecords().some((r) => r.buildset === bs && r.job === gate),
    `${gate} to start`,
    60_000,
  );
  const kill = await killInsidePass(c, pipeline, () => c.open(gate));
  let appliedAt = 0;
  await waitUntil(
    async () => {
      const state = (await c.buildset(pipeline, bs))?.jobs.find((j) => j.name === gate)?.state;
      appliedAt = Date.now();
      return state === 'SUCCESS';
    },
    `a survivor to apply ${gate}'s result`,
    30_000,
    10,
  );
  if ((await c.finished(pipeline, bs)).result !== 'SUCCESS')
    throw new Error(`failover buildset ${bs} did not succeed`);
  // The supervisor starts the killed one again; wait for all three, and for the
  // dead one's record to expire (a restart would otherwise wait on it).
  await waitUntil(
    async () => {
      const running = await runningSchedulers(c);
      return running.length === 3 && running.every((s) => s.id !== kill.id);
    },
    'the killed scheduler to be replaced by its supervisor',
    60_000,
    100,
  );
  return appliedAt - kill.at;
}

export const haBench: Bench = {
  name: 'ha',
  async run({ quick }) {
    const trials = quick ? 1 : 3;
    const server = await startZooKeeper();
    let c: HaCluster | undefined;
    try {
      c = await createHaCluster('bench', layout(trials), chrootOn(server, 'ha-bench'));
      await Promise.all([
        c.start('executor', 'e1'),
        ...['s1', 's2', 's3'].map((n) => c!.start('scheduler', n, true)),
      ]);
      const cluster = c;
      await waitUntil(async () => (await runningSchedulers(cluster)).length === 3, 'three run');

      const failovers: number[] = [];
      for (let i = 0; i < trials; i++) failovers.push(await failoverOnce(c, i));

      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await c.enqueue('flow'));
      const started = Date.now();
      const handle = await startRollingRestart(c.zk, c.paths, {
        kind: 'scheduler',
        requestedBy: 'bench',
        timeoutMs: 120_000,
        pollMs: 50,
      });
      const record = await handle.done;
      const totalMs = Date.now() - started;
      const results = await Promise.all(ids.map((id) => cluster.finished('flow', id, 180_000)));
      const allSucceeded =
        record.state === 'succeeded' && results.every((b) => b.result === 'SUCCESS');
      const inFlightAfter = results.filter((b) => (b.endedAt ?? 0) > started + totalMs).length;
      const steps = record.steps.map(
        (s) => Date.parse(s.endedAt ?? '') - Date.parse(s.startedAt ?? ''),
      );

      const budget = SESSION_S * 1000 + 1000;
      const fo = summarize(failovers);
      const goals: Goal[] = [
        {
          metric: 'failover after SIGKILL, worst (ms)',
          value: fo.max,
          goal: `<= ${budget} (session ${SESSION_S} s + 1 s)`,
          ok: fo.max <= budget,
        },
        {
          metric: 'rolling restart of 3 schedulers with builds in flight (ms)',
          value: totalMs,
          goal: 'every buildset SUCCESS (time informational)',
          ok: allSucceeded,
        },
      ];
      return {
        figures: {
          sessionTimeoutMs: SESSION_S * 1000,
          failoverMs: { ...fo, sample: failovers },
          rollingRestart: {
            totalMs,
            stepMs: steps,
            state: record.state,
            message: record.message,
            buildsets: results.length,
            buildsetsStillRunningAfter: inFlightAfter,
            allSucceeded,
          },
        },
        goals,
      };
    } finally {
      await c?.dispose();
      await server.dispose();
    }
  },
};
