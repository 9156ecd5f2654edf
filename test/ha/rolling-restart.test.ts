/**
 * `drawbridge rolling-restart` with real processes: three schedulers under
 * `--supervise` are restarted one at a time while five buildsets flow through
 * and web's /api/status is polled; then the last-scheduler guard, a
 * scheduler that does not come back in time, and an executor paused, resumed
 * and drained through `drawbridge components`.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { readRollingRestart } from '../../src/ops/index.js';
import {
  createHaCluster,
  drawbridgeOnce,
  jobStanza,
  runsOf,
  waitUntil,
  type HaCluster,
  type HaProcess,
} from './support.js';

// Real processes (each compiles the sources as it starts) on a loaded two-core machine.
jest.setTimeout(300_000);

const JOBS = ['r-a', 'r-b', 'r-c'];

const layout = (records: string): string =>
  [
    '- pipeline:\n    name: flow\n    manager: serial\n    trigger:\n      manual: true\n',
    jobStanza('r-a', records),
    jobStanza('r-b', records, '    dependencies: [r-a]\n'),
    jobStanza('r-c', records, '    dependencies: [r-a]\n'),
    `- project:\n    flow:\n      jobs: [${JOBS.join(', ')}]\n`,
  ].join('\n');

describe('rolling restart', () => {
  let c: HaCluster;
  let executor: HaProcess;
  let admin: string;

  beforeAll(async () => {
    c = await createHaCluster('rolling', layout);
    executor = await c.start('executor', 'e1');
    admin = await c.configFor('admin');
  }, 120_000);

  afterAll(async () => {
    await c?.dispose();
  });

  const running = async () =>
    (await c.components('scheduler')).filter((s) => s.state === 'running').map((s) => s.id);

  it('restarts three supervised schedulers one at a time while five buildsets complete', async () => {
    const [web, ...supervisors] = await Promise.all([
      c.start('web', 'w1'),
      c.start('scheduler', 's1', true),
      c.start('scheduler', 's2', true),
      c.start('scheduler', 's3', true),
    ]);
    await waitUntil(async () => (await running()).length === 3, 'three schedulers running');
    const before = await running();

    // Watch the status route and the number of running schedulers all along.
    let polling = true;
    const status = { ok: 0, failed: [] as string[] };
    let fewest = 3;
    const poll = (async () => {
      while (polling) {
        try {
          const res = await fetch(`http://127.0.0.1:${web.webPort}/api/status`);
          if (res.status === 200) status.ok += 1;
          else status.failed.push(`${res.status} ${await res.text()}`);
        } catch (e) {
          status.failed.push(String(e));
        }
        fewest = Math.min(fewest, (await running()).length);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await c.enqueue('flow'));
    const started = Date.now();
    const restart = await drawbridgeOnce(['rolling-restart', '--config', admin, '--timeout', '90']);
    const ended = Date.now();
    expect({ code: restart.code, stderr: restart.stderr }).toEqual({
      code: 0,
      stderr: expect.stringContaining('[3/3]'),
    });
    expect(restart.stdout).toMatch(/^rolling restart rr-\S+ succeeded: restarted 3 scheduler/m);
    expect(restart.stderr).toMatch(/waiting for a new scheduler to replace scheduler-/);

    for (const id of ids) {
      const done = await c.finished('flow', id);
      expect({ id, result: done.result }).toEqual({ id, result: 'SUCCESS' });
      expect(runsOf(c.jobRecords(), id)).toEqual(
        Object.fromEntries(JOBS.map((j) => [j, { start: 1, end: 1 }])),
      );
    }
    polling = false;
    await poll;
    expect(status.failed).toEqual([]);
    expect(status.ok).toBeGreaterThan(10);
    // One drained at a time, and never the last one: two were always running.
    expect(fewest).toBeGreaterThanOrEqual(2);
    // The buildsets really flowed during the restart.
    expect(c.jobRecords().some((r) => r.at > started && r.at < ended)).toBe(true);

    const after = await running();
    expect(after).toHaveLength(3);
    expect(after.filter((id) => before.includes(id))).toEqual([]);
    const record = await readRollingRestart(c.zk, c.paths);
    expect(record).toMatchObject({ state: 'succeeded', kind: 'scheduler', driverAlive: false });
    expect(record!.steps.map((s) => s.state)).toEqual(['done', 'done', 'done']);
    expect(record!.steps.map((s) => s.component).sort()).toEqual([...before].sort());
    expect(new Set(record!.steps.map((s) => s.replacement)).size).toBe(3);
    expect(await c.zk.children(c.paths.controlRequests())).toEqual([]);

    // The supervisors themselves stayed. One killed outright: its child notices and drains.
    for (const s of supervisors) expect(s.daemon.child.exitCode).toBeNull();
    const [killed, ...rest] = supervisors;
    const starts = [...killed.daemon.stderr().matchAll(/started scheduler \(pid (\d+)/g)];
    const orphan = Number(starts.at(-1)?.[1]);
    expect(after).toContain((await c.components('scheduler')).find((s) => s.pid === orphan)?.id);
    killed.daemon.signal('SIGKILL');
    await waitUntil(
      async () => (await c.components('scheduler')).every((s) => s.pid !== orphan),
      'the child of the killed supervisor to drain and deregister',
    );
    // SIGTERM to a supervisor reaches its child, which drains; both exit 0.
    for (const p of [...rest, web]) p.daemon.signal('SIGTERM');
    for (const p of [...rest, web]) expect(await p.daemon.exited).toBe(0);
    expect(await running()).toEqual([]);
  });

  it('never drains the last running scheduler', async () => {
    const solo = await c.start('scheduler', 'solo');
    const [only] = await running();
    const r = await drawbridgeOnce(['rolling-restart', '--config', admin]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`drawbridge: ${only} is the last running scheduler`);
    expect(r.stderr).toContain('DRAWBRIDGE_ERR_OPS_LAST_COMPONENT');
    const d = await drawbridgeOnce(['components', 'drain', only!, '--config', admin]);
    expect(d.code).toBe(2);
    expect(d.stderr).toContain('DRAWBRIDGE_ERR_OPS_LAST_COMPONENT');
    expect(await c.zk.exists(c.paths.controlRequest(only!))).toBeNull();
    expect(await running()).toEqual([only]);
    expect(solo.daemon.child.exitCode).toBeNull();

    const list = await drawbridgeOnce(['components', '--config', admin, '--json']);
    expect(list.code).toBe(0);
    const body = JSON.parse(list.stdout) as {
      components: { id: string; kind: string; state: string; version: string; startedAt: string }[];
      rollingRestart: { state: string } | null;
    };
    expect(body.components.map((x) => [x.kind, x.state]).sort()).toEqual([
      ['executor', 'running'],
      ['scheduler', 'running'],
    ]);
    expect(body.components.every((x) => x.version !== '' && !isNaN(Date.parse(x.startedAt)))).toBe(
      true,
    );
    expect(body.rollingRestart?.state).toBe('succeeded');
    const table = await drawbridgeOnce(['components', '--config', admin]);
    expect(table.stdout).toMatch(new RegExp(`^scheduler\\s+running\\s+${only}\\s`, 'm'));
    expect(table.stdout).toMatch(/^KIND\s+STATE\s+ID\s+VERSION\s+STARTED/m);
  });

  it('stops with a clear message when a drained scheduler does not come back', async () => {
    const [first] = await running();
    const second = await c.start('scheduler', 'second');
    const secondId = (await running()).find((id) => id !== first)!;
    const r = await drawbridgeOnce(['rolling-restart', '--config', admin, '--timeout', '5']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${first}: drained, but no new scheduler was registered and running`,
    );
    expect(r.stderr).toContain('DRAWBRIDGE_ERR_OPS_TIMEOUT');
    expect(r.stderr).toMatch(/waiting for a new scheduler to replace/);
    // The drained one exited asking for a restart; the other was never asked.
    expect(await running()).toEqual([secondId]);
    expect(second.daemon.child.exitCode).toBeNull();
    const record = await readRollingRestart(c.zk, c.paths);
    expect(record).toMatchObject({
      state: 'failed',
      error: { code: 'DRAWBRIDGE_ERR_OPS_TIMEOUT' },
    });
    expect(record!.steps.map((s) => [s.component, s.state])).toEqual([
      [first, 'failed'],
      [secondId, 'pending'],
    ]);
  });

  it('pauses, resumes and drains an executor through its control request', async () => {
    const [exec] = await c.components('executor');
    const id = exec!.id;
    const pause = await drawbridgeOnce(['components', 'pause', id, '--config', admin]);
    expect({ code: pause.code, out: pause.stdout }).toEqual({ code: 0, out: `${id}: paused\n` });
    expect((await c.components('executor'))[0]?.state).toBe('paused');
    const resume = await drawbridgeOnce(['components', 'resume', id, '--config', admin]);
    expect({ code: resume.code, out: resume.stdout }).toEqual({ code: 0, out: `${id}: running\n` });
    const bs = await c.enqueue('flow');
    expect((await c.finished('flow', bs)).result).toBe('SUCCESS');

    const drain = await drawbridgeOnce(['components', 'drain', id, '--config', admin]);
    expect({ code: drain.code, out: drain.stdout }).toEqual({
      code: 0,
      out: `${id}: drained and gone\n`,
    });
    // Unsupervised, it exits with the code that asks a supervisor for a restart.
    expect(await executor.daemon.exited).toBe(3);
    expect(await c.zk.exists(c.paths.controlRequest(id))).toBeNull();
  });
});
