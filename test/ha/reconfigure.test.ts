/**
 * Reconfiguration without downtime, with real processes: two schedulers and
 * an executor run layout 1 while a buildset is in flight. `drawbridge
 * reconfigure` refuses a broken layout (every error printed, nothing
 * changes), then stores a valid one that adds a pipeline and a job: both
 * schedulers switch, the buildset in flight finishes with the graph it was
 * frozen with, new buildsets get the new one. SIGHUP to a scheduler does
 * the same: a pipeline it removes still finishes its buildset in flight,
 * and a broken layout is logged and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { join } from 'node:path';
import { drawbridgeOnce } from '../processes/support.js';
import { newChroot } from '../fixtures/zookeeper.js';
import {
  createCluster,
  jobStanza,
  manualPipeline,
  projectStanza,
  waitUntil,
  type Cluster,
  type Daemon,
} from './reconfigure-support.js';

// Real processes start slowly on a loaded machine (each compiles the sources).
jest.setTimeout(240_000);

let cluster: Cluster;
let schedulers: Daemon[];

const layoutV1 = (records: string) => ({
  'deploy.yaml': [
    manualPipeline('deploy'),
    jobStanza('base', records, '', { gate: true }),
    projectStanza({ deploy: ['base'] }),
  ].join(''),
});

const layoutV2 = (records: string) => ({
  'deploy.yaml': [
    manualPipeline('deploy'),
    manualPipeline('extra'),
    jobStanza('base', records),
    jobStanza('svc', records, '    dependencies:\n      - base\n'),
    projectStanza({ deploy: ['base', 'svc'], extra: ['svc-extra'] }),
  ].join(''),
  'extra.yaml': jobStanza('svc-extra', records),
});

/** Every scheduler reports `version` in its registration. */
async function allOn(version: string): Promise<void> {
  let seen = {};
  await waitUntil(
    async () => {
      seen = await cluster.schedulerLayouts();
      const values = Object.values(seen);
      return values.length === 2 && values.every((v) => v === version);
    },
    `both schedulers to run layout ${version} (they report ${JSON.stringify(seen)})`,
    30_000,
  );
}

beforeAll(async () => {
  const chroot = await newChroot('ha-reconfigure');
  cluster = await createCluster('reconfigure', {
    zkHosts: chroot.serverConnectString,
    root: `${chroot.chroot}/drawbridge`,
    sessionTimeout: 4,
  });
  cluster.writeLayout(layoutV1(cluster.records));
  schedulers = [];
  // The first starts alone and stores its layout; the second joins and adopts it.
  schedulers.push(await cluster.start('scheduler', 's1'));
  await cluster.start('executor', 'e1');
  schedulers.push(await cluster.start('scheduler', 's2'));
});
afterAll(async () => {
  await cluster?.dispose();
});

describe('reconfiguration with real processes', () => {
  it('refuses a broken layout, switches to a valid one, keeps buildsets in flight as frozen', async () => {
    const v1 = (await cluster.zk.get(cluster.paths.layoutCurrent())).data.toString();
    const version1 = (JSON.parse(v1) as { version: string }).version;
    await allOn(version1);

    // A buildset in flight on layout 1: its only job waits at a gate.
    const first = await cluster.enqueue('deploy');
    await waitUntil(
      () => cluster.jobRecords().some((r) => r.job === 'base' && r.event === 'start'),
      'job base of the first buildset to start',
      60_000,
    );

    // Broken: a bad timeout and a job listed that no file defines.
    cluster.writeLayout({
      'deploy.yaml': [
        manualPipeline('deploy'),
        jobStanza('base', cluster.records, '    timeout: soon\n'),
        projectStanza({ deploy: ['base', 'nowhere'] }),
      ].join(''),
    });
    const bad = await drawbridgeOnce(['reconfigure', '--config', cluster.configOf('s1')]);
    expect(bad.code).toBe(1);
    const file = join(cluster.layoutDir, 'deploy.yaml');
    const errorLines = bad.stderr.split('\n').filter((l) => l.includes(': error: '));
    expect(errorLines).toHaveLength(2);
    expect(errorLines[0]).toMatch(new RegExp(`^${file}:\\d+: error: .*timeout`));
    expect(errorLines[1]).toMatch(new RegExp(`^${file}:\\d+: error: .*nowhere`));
    expect(bad.stderr).toMatch(/nothing stored, the schedulers keep their layout/);
    expect(Object.values(await cluster.schedulerLayouts())).toEqual([version1, version1]);

    // Valid: a second job in deploy, and a new pipeline.
    cluster.writeLayout(layoutV2(cluster.records));
    const good = await drawbridgeOnce([
      'reconfigure',
      '--config',
      cluster.configOf('s2'),
      '--wait',
      '--json',
    ]);
    expect({ code: good.code, stderr: good.stderr }).toMatchObject({ code: 0 });
    const outcome = JSON.parse(good.stdout) as { status: string; version: string };
    expect(outcome).toMatchObject({ status: 'stored', previous: version1, switched: true });
    expect(good.stderr).toMatch(/2\/2 scheduler\(s\) on /);
    await allOn(outcome.version);

    // The buildset in flight keeps its frozen graph: one job, layout 1.
    cluster.open('base');
    const done1 = await cluster.finished('deploy', first);
    expect(done1.result).toBe('SUCCESS');
    expect(done1.layoutVersion).toBe(version1);
    expect(done1.jobs.map((j) => j.name)).toEqual(['base']);

    // New buildsets get the new layout, in the old pipeline and in the new one.
    const [second, extra] = await Promise.all([
      cluster.enqueue('deploy'),
      cluster.enqueue('extra'),
    ]);
    const [done2, doneExtra] = await Promise.all([
      cluster.finished('deploy', second),
      cluster.finished('extra', extra),
    ]);
    expect(done2).toMatchObject({ result: 'SUCCESS', layoutVersion: outcome.version });
    expect(done2.jobs.map((j) => j.name).sort()).toEqual(['base', 'svc']);
    expect(doneExtra).toMatchObject({ result: 'SUCCESS', layoutVersion: outcome.version });
  });

  it('reconfigures on SIGHUP; a removed pipeline finishes its buildset; a broken layout changes nothing', async () => {
    // Through SIGHUP: the extra pipeline gets a job that waits at a gate.
    const v3 = layoutV2(cluster.records);
    v3['extra.yaml'] = [
      jobStanza('svc-extra', cluster.records),
      jobStanza('extra-hold', cluster.records, '', { gate: true }),
      projectStanza({ extra: ['extra-hold'] }),
    ].join('');
    cluster.writeLayout(v3);
    const before = Object.values(await cluster.schedulerLayouts())[0];
    schedulers[0]!.signal('SIGHUP');
    const version3 = await switched(before, 'both schedulers to switch after SIGHUP');
    expect(schedulers[0]!.stdout()).toMatch(/"msg":"new layout stored"/);
    const held = await cluster.enqueue('extra');
    await waitUntil(
      () => cluster.jobRecords().some((r) => r.job === 'extra-hold' && r.event === 'start'),
      'extra-hold to start',
      60_000,
    );

    // Remove the pipeline while its buildset runs: the buildset still finishes.
    cluster.writeLayout({
      'deploy.yaml': [
        manualPipeline('deploy'),
        jobStanza('base', cluster.records),
        projectStanza({ deploy: ['base'] }),
      ].join(''),
    });
    schedulers[1]!.signal('SIGHUP');
    const version4 = await switched(version3, 'both schedulers to switch after the second SIGHUP');
    expect(schedulers[1]!.stdout()).toMatch(/"retiring":\["extra"\].*"msg":"layout switched"/);
    // An enqueue reaching the retiring pipeline (put before web or the CLI
    // could see the switch) is dropped with an error, never run.
    const late = await cluster.enqueue('extra');
    await waitUntil(
      () =>
        schedulers.some((s) =>
          s.stdout().includes('"msg":"enqueue for a pipeline removed from the layout; dropped"'),
        ),
      'the late enqueue to be dropped',
      30_000,
    );
    expect(await cluster.buildset('extra', late)).toBeNull();
    cluster.open('extra-hold');
    const doneHeld = await cluster.finished('extra', held);
    expect(doneHeld).toMatchObject({ result: 'SUCCESS', layoutVersion: version3 });
    expect(doneHeld.jobs.map((j) => j.name)).toEqual(['svc-extra', 'extra-hold']);
    await waitUntil(
      () =>
        schedulers.some((s) =>
          s.stdout().includes('"msg":"pipeline removed from the layout has finished"'),
        ),
      'the retired pipeline to be dropped once empty',
      30_000,
    );

    // A broken layout on SIGHUP is logged with its errors and changes nothing.
    cluster.writeLayout({ 'deploy.yaml': '- job: [\n' });
    schedulers[0]!.signal('SIGHUP');
    await waitUntil(
      () => schedulers[0]!.stdout().includes('new layout is invalid; keeping the running layout'),
      'the invalid layout to be logged',
      30_000,
    );
    expect(schedulers[0]!.stdout()).toMatch(/deploy\.yaml:\d+: error: /);
    expect(Object.values(await cluster.schedulerLayouts())).toEqual([version4, version4]);
    // Both processes are still there.
    expect(schedulers.map((s) => s.child.exitCode)).toEqual([null, null]);
  });
});

/** Waits until both schedulers run one version other than `from`; returns it. */
async function switched(from: unknown, what: string): Promise<string> {
  let version = '';
  await waitUntil(
    async () => {
      const values = Object.values(await cluster.schedulerLayouts());
      version = typeof values[0] === 'string' ? values[0] : '';
      return version !== from && values.length === 2 && values.every((v) => v === version);
    },
    what,
    30_000,
  );
  return version;
}
