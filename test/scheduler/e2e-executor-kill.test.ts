/**
 * An executor process killed with SIGKILL while a job's playbook runs: the
 * bastion ends the orphaned playbook, the scheduler completes the build as
 * LOST once the executor's session expires, and a second executor process
 * runs attempt 2; the buildset ends SUCCESS with the job finished once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jobRequestId } from '../../src/scheduler/runtime/index.js';
import { heldLocks, processesMatching, read } from '../executor/support.js';
import {
  createE2eWorld,
  jobStanza,
  spawnExecutor,
  waitUntil,
  type E2eWorld,
  type ExecutorProcess,
} from './e2e-support.js';

const SESSION_MS = 2_000;

const layout = (records: string): string =>
  [
    '- pipeline:\n    name: rollout\n    manager: serial\n    trigger:\n      manual: true\n',
    jobStanza('k-gate', records, '    attempts: 3\n', { gate: true }),
    jobStanza('k-after', records, '    dependencies:\n      - k-gate\n'),
    '- project:\n    rollout:\n      jobs: [k-gate, k-after]\n',
  ].join('\n');

describe('scheduler e2e: executor killed mid-build', () => {
  let w: E2eWorld;
  const executors: ExecutorProcess[] = [];

  beforeAll(async () => {
    w = await createE2eWorld('kill', layout);
    await w.startScheduler();
  }, 60_000);

  afterAll(async () => {
    for (const e of executors) {
      if (e.child.exitCode === null && e.child.signalCode === null) e.child.kill('SIGKILL');
      await e.exited;
    }
    await w?.dispose();
  });

  const alive = (pid: number) => processesMatching('k-gate.go').includes(pid);
  const gateRuns = (bs: string) =>
    w.records().filter((r) => r.buildset === bs && r.job === 'k-gate');

  it('retries the lost build on another executor and completes the buildset', async () => {
    const first = await spawnExecutor(w.world, SESSION_MS);
    executors.push(first);
    const bs = await w.enqueue('rollout');
    const attempt1 = jobRequestId(bs, 'k-gate');
    await waitUntil(() => gateRuns(bs).length === 1, 'attempt 1 to start its playbook', 30_000);
    const killed = gateRuns(bs)[0]!.pid;
    expect(alive(killed)).toBe(true);
    expect((await read(w.world, attempt1)).executor).toBe(first.id);

    first.child.kill('SIGKILL');
    await first.exited;
    // The SSH connection died with the process; the bastion's watchdog ends the playbook.
    await waitUntil(() => !alive(killed), 'the orphaned playbook of attempt 1 to be ended');

    const second = await spawnExecutor(w.world, SESSION_MS);
    executors.push(second);
    await waitUntil(
      async () => {
        const r = await read(w.world, `${attempt1}.2`).catch(() => null);
        return r?.state === 'running' && gateRuns(bs).length === 2;
      },
      'attempt 2 to run on the second executor',
      30_000,
    );
    expect((await read(w.world, `${attempt1}.2`)).executor).toBe(second.id);
    writeFileSync(join(w.world.records, 'k-gate.go'), '');

    const done = await w.finished('rollout', bs, 30_000);
    expect(done.result).toBe('SUCCESS');
    expect(done.jobs.map((j) => [j.name, j.state, j.attempt])).toEqual([
      ['k-gate', 'SUCCESS', 2],
      ['k-after', 'SUCCESS', 1],
    ]);
    // Attempt 1 never finished; attempt 2 ran in a new process after it was gone.
    const runs = gateRuns(bs);
    expect(runs.map((r) => r.event)).toEqual(['start', 'start', 'end']);
    expect(runs[1]!.pid).not.toBe(killed);
    expect(runs[2]!.pid).toBe(runs[1]!.pid);
    expect(w.records().filter((r) => r.buildset === bs && r.job === 'k-after')).toHaveLength(2);

    second.child.kill('SIGTERM');
    await second.exited;
    await waitUntil(
      async () => (await heldLocks(w.world.zk, w.world.paths)).length === 0,
      'no build lock to be held',
    );
  });
});
