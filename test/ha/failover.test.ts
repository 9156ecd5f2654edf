/**
 * Failover with real processes: three `drawbridge scheduler` processes share
 * a deploy; the one holding the pipeline's lock in the middle of a pass is
 * killed with SIGKILL. Another continues the buildset within the session
 * timeout plus one second; an event put while the lock was orphaned is not
 * lost; every job runs exactly once; no lock, semaphore or request is left.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { jsonCodec } from '../../src/zk/codec.js';
import { ZkEventQueue } from '../../src/zk/queue.js';
import { ZkSemaphore } from '../../src/zk/semaphore.js';
import {
  createHaCluster,
  jobStanza,
  killInsidePass,
  runsOf,
  SESSION_S,
  waitUntil,
  type HaCluster,
  type HaProcess,
} from './support.js';

// Three scheduler processes and ansible runs on a loaded two-core machine.
jest.setTimeout(180_000);

const JOBS = ['h-1', 'h-2', 'h-3', 'h-4', 'h-5'];

const layout = (records: string): string =>
  [
    '- semaphore:\n    name: h-sem\n    max: 1\n',
    '- pipeline:\n    name: deploy\n    manager: serial\n    trigger:\n      manual: true\n',
    jobStanza('h-1', records, '', { gate: true }),
    jobStanza('h-2', records, '    dependencies: [h-1]\n', { gate: true }),
    jobStanza('h-3', records, '    dependencies: [h-2]\n    semaphores: [h-sem]\n'),
    jobStanza('h-4', records, '    dependencies: [h-2]\n    semaphores: [h-sem]\n'),
    jobStanza('h-5', records, '    dependencies: [h-3, h-4]\n'),
    `- project:\n    deploy:\n      jobs: [${JOBS.join(', ')}]\n`,
  ].join('\n');

describe('failover: a scheduler killed mid-pass', () => {
  let c: HaCluster;
  const schedulers: HaProcess[] = [];

  beforeAll(async () => {
    c = await createHaCluster('failover', layout);
    const started = await Promise.all(
      ['s1', 's2', 's3', 'e1'].map((n) => c.start(n === 'e1' ? 'executor' : 'scheduler', n)),
    );
    schedulers.push(...started.filter((p) => p.kind === 'scheduler'));
  }, 120_000);

  afterAll(async () => {
    await c?.dispose();
  });

  it('another scheduler continues within the session timeout + 1 s, nothing lost or run twice', async () => {
    const { zk, paths } = c;
    const lockDir = paths.pipelineLock('deploy');
    expect(await c.components('scheduler')).toHaveLength(3);

    const bs1 = await c.enqueue('deploy');
    await waitUntil(
      () => c.jobRecords().some((r) => r.buildset === bs1 && r.job === 'h-1'),
      'h-1 to start its playbook',
      60_000,
    );
    // A result arrives while the dead scheduler's lock is orphaned.
    const kill = await killInsidePass(c, 'deploy', () => c.open('h-1'));
    const victim = schedulers.find((s) => s.daemon.child.pid === kill.pid);
    expect(victim).toBeDefined();
    expect(await victim!.daemon.exited).toBe('SIGKILL');
    const killAt = kill.at;
    // An event put while the dead scheduler's lock still stands.
    const bs2 = await c.enqueue('deploy');
    expect(await c.lockHolders(lockDir)).not.toEqual([]);

    // Failover: the result of h-1 is applied by a survivor.
    let appliedAt = 0;
    await waitUntil(
      async () => {
        const bs = await c.buildset('deploy', bs1);
        if (bs?.jobs.find((j) => j.name === 'h-1')?.state !== 'SUCCESS') return false;
        appliedAt = Date.now();
        return true;
      },
      'a surviving scheduler to apply the result of h-1',
      30_000,
      10,
    );
    const failoverMs = appliedAt - killAt;
    process.stdout.write(`failover after SIGKILL: ${failoverMs} ms (session ${SESSION_S} s)\n`);
    expect(failoverMs).toBeLessThanOrEqual(SESSION_S * 1000 + 1000);

    c.open('h-2');
    for (const id of [bs1, bs2]) {
      const done = await c.finished('deploy', id);
      expect({ id, result: done.result }).toEqual({ id, result: 'SUCCESS' });
      expect(runsOf(c.jobRecords(), id)).toEqual(
        Object.fromEntries(JOBS.map((j) => [j, { start: 1, end: 1 }])),
      );
      // h-3 and h-4 share a semaphore of one: they never overlapped.
      const span = (job: string) =>
        c
          .jobRecords()
          .filter((r) => r.buildset === id && r.job === job)
          .map((r) => r.at);
      const [s3, e3] = span('h-3');
      const [s4, e4] = span('h-4');
      expect(e3! <= s4! || e4! <= s3!).toBe(true);
    }

    // The dead scheduler left nothing behind once its session expired.
    await waitUntil(
      async () => (await c.components('scheduler')).length === 2,
      'the dead scheduler to be deregistered',
    );
    await waitUntil(
      async () =>
        (await c.lockHolders(lockDir)).length === 0 &&
        (await zk.children(paths.buildRequests())).length === 0,
      'no pipeline lock and no build request left',
    );
    expect(await new ZkSemaphore(zk, paths.semaphore('h-sem'), 1).holders()).toEqual([]);
    for (const q of [
      paths.pipelineManagementEvents('deploy'),
      paths.pipelineResultEvents('deploy'),
      paths.pipelineTriggerEvents('deploy'),
    ])
      expect({ q, left: await new ZkEventQueue(zk, q, jsonCodec()).ids() }).toEqual({
        q,
        left: [],
      });
  });
});
