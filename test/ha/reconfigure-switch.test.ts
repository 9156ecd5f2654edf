/**
 * Schedulers following the stored layout, in this process against the
 * shared ZooKeeper and a real git repository (for the timers' poller): the
 * first scheduler stores its layout, a joining one adopts the stored one,
 * both switch between rounds (pipelines and timers re-planned), and a
 * stored version one of them cannot load leaves it on its layout.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadLayoutFromSources } from '../../src/config/index.js';
import { filesVersion } from '../../src/config/layout-sources.js';
import { LayoutStore, toStoredLayout, type StoredLayout } from '../../src/model/layout-store.js';
import { Scheduler } from '../../src/scheduler/runtime/index.js';
import { ZkPaths } from '../../src/zk/paths.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { createGitRepo, type GitRepoFixture } from '../fixtures/git-repo.js';
import { waitUntil } from '../fixtures/wait.js';
import { newChroot, type TestChroot } from '../fixtures/zookeeper.js';

const paths = new ZkPaths('/drawbridge');
let chroot: TestChroot;
let admin: ZooKeeperClient;
let repo: GitRepoFixture;
let dir: string;
const clients: ZooKeeperClient[] = [];
/** Every log line of every scheduler, to see what they refused. */
const logLines: string[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
const schedulers: Scheduler[] = [];

const manual = (name: string) =>
  `- pipeline:\n    name: ${name}\n    manager: serial\n    trigger:\n      manual: true\n`;
const timer = (name: string, time: string) =>
  `- pipeline:\n    name: ${name}\n    manager: supercedent\n    trigger:\n      timer:\n        - time: '${time}'\n`;
const jobs = (pipeline: string) =>
  `- job:\n    name: j\n    run: playbooks/j.yml\n- project:\n    ${pipeline}:\n      jobs: [j]\n`;

function stored(text: string): StoredLayout {
  const sources = [{ file: 'zuul.d/layout.yaml', text }];
  return toStoredLayout({
    version: filesVersion(sources),
    commit: null,
    sources,
    loadOptions: {},
    storedBy: 'test',
    now: Date.now(),
  });
}

async function startScheduler(initial: StoredLayout): Promise<Scheduler> {
  const loaded = loadLayoutFromSources(initial.sources);
  if (!loaded.layout) throw new Error(loaded.errors.map((e) => e.message).join('; '));
  const zk = await connectZooKeeper({
    connectString: chroot.connectString,
    sessionTimeoutMs: 4_000,
  });
  clients.push(zk);
  const s = new Scheduler(
    {
      version: 'test',
      safetyIntervalMs: 300,
      triggers: {
        timers: true,
        repository: {
          url: repo.url,
          branch: 'main',
          localPath: join(dir, `clone-${schedulers.length}`),
          pollIntervalMs: 0,
        },
      },
    },
    {
      zk,
      paths,
      layout: loaded.layout,
      layoutVersion: initial.version,
      followLayout: { initial },
      logger,
    },
  );
  schedulers.push(s);
  await s.start();
  return s;
}

const timerPipelines = (s: Scheduler) =>
  [...new Set(s.triggers?.timer?.upcoming().map((f) => f.pipeline))].sort();

async function bothOn(version: string, what: string): Promise<void> {
  await waitUntil(
    () => schedulers.every((s) => s.layoutVersion === version),
    `${what} (they run ${schedulers.map((s) => s.layoutVersion).join(', ')})`,
  );
}

beforeAll(async () => {
  chroot = await newChroot('ha-reconfigure-switch');
  admin = await connectZooKeeper({ connectString: chroot.connectString, sessionTimeoutMs: 4_000 });
  repo = await createGitRepo();
  dir = mkdtempSync(join(tmpdir(), 'drawbridge-switch-'));
});
afterAll(async () => {
  await Promise.all(schedulers.map((s) => s.stop()));
  await Promise.all(clients.map((c) => c.close()));
  await admin?.close();
  repo?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('schedulers following the stored layout', () => {
  it('first stores, joiner adopts, both switch pipelines and timers, a bad version is refused', async () => {
    const store = new LayoutStore(admin, paths);
    const a = stored(`${manual('deploy')}${timer('nightly', '0 3 * * *')}${jobs('deploy')}`);
    const s1 = await startScheduler(a);
    expect((await store.current())?.value.version).toBe(a.version);
    expect(timerPipelines(s1)).toEqual(['nightly']);

    // Joining with other files: it runs what the running scheduler runs.
    const other = stored(`${manual('other')}${jobs('other')}`);
    const s2 = await startScheduler(other);
    expect(s2.layoutVersion).toBe(a.version);
    expect(timerPipelines(s2)).toEqual(['nightly']);
    expect((await store.current())?.value.version).toBe(a.version);

    // A new version: one timer pipeline replaced by another, a manual one added.
    const b = stored(
      `${manual('deploy')}${manual('extra')}${timer('hourly', '0 * * * *')}${jobs('deploy')}`,
    );
    await store.publish(b);
    await bothOn(b.version, 'both schedulers to switch to b');
    for (const s of [s1, s2]) expect(timerPipelines(s)).toEqual(['hourly']);
    // The new pipeline's queues exist: its scheduler created them when switching.
    expect(await admin.exists(paths.pipelineManagementEvents('extra'))).not.toBeNull();

    // Stored by something that did not validate it: refused, b keeps running.
    const broken = stored('- job: [\n');
    await store.publish(broken);
    const c = stored(`${manual('deploy')}${jobs('deploy')}`);
    const refusals = () =>
      logLines.filter((l) => l.includes('the stored layout does not load here')).length;
    await waitUntil(() => refusals() === 2, 'both schedulers to refuse the broken version');
    expect(schedulers.map((s) => s.layoutVersion)).toEqual([b.version, b.version]);
    // Publishing c after the broken one shows the schedulers were still following.
    await store.publish(c);
    await bothOn(c.version, 'both schedulers to skip the broken version and switch to c');
    for (const s of [s1, s2]) {
      expect(s.state).toBe('running');
      expect(timerPipelines(s)).toEqual([]);
    }
  });
});
