/**
 * `drawbridge scheduler` and `drawbridge run` as real processes: the
 * scheduler loads its layout (local files, or the repository's branch head),
 * registers, writes each pipeline's status for web, and leaves on SIGTERM.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZkPaths } from '../../src/zk/index.js';
import { listComponents } from '../../src/zk/registry.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { startSshd, type SshdFixture } from '../fixtures/sshd.js';
import { newChroot, type TestChroot } from '../fixtures/zookeeper.js';
import {
  type Daemon,
  drawbridge,
  drawbridgeOnce,
  freePort,
  getJson,
  reap,
  root,
  waitForLog,
  waitUntil,
  writeConfig,
} from './support.js';

// Real processes start slowly on a loaded machine (each compiles the sources).
jest.setTimeout(120_000);

const example = join(root, 'config/example');
let chroot: TestChroot;
let zk: ZooKeeperClient;
let dir: string;
let daemon: Daemon | undefined;
let count = 0;

beforeAll(async () => {
  chroot = await newChroot('processes-scheduler');
  zk = await connectZooKeeper({ connectString: chroot.connectString, sessionTimeoutMs: 4_000 });
  dir = mkdtempSync(join(tmpdir(), 'drawbridge-proc-sched-'));
});
afterEach(async () => {
  await reap(daemon);
  daemon = undefined;
});
afterAll(async () => {
  await zk?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh znode root per test, under this file's chroot. */
function fresh(): { root: string; paths: ZkPaths; dir: string } {
  count += 1;
  const sub = mkdtempSync(join(dir, `t${count}-`));
  return { root: `${chroot.chroot}/t${count}`, paths: new ZkPaths(`/t${count}`), dir: sub };
}

const kinds = async (paths: ZkPaths) =>
  (
    await Promise.all(
      (['scheduler', 'executor', 'web'] as const).map((k) =>
        listComponents(zk, paths.components(k)),
      ),
    )
  )
    .flat()
    .map((c) => `${c.kind}:${c.state}`)
    .sort();

describe('drawbridge scheduler', () => {
  it('loads a local layout, registers, writes pipeline status, exits 0 on SIGTERM', async () => {
    const t = fresh();
    const config = writeConfig(t.dir, {
      zookeeper: chroot.serverConnectString,
      root: t.root,
      logRoot: join(t.dir, 'logs'),
      webPort: await freePort(),
      logPort: await freePort(),
      layout: `  paths: [${join(example, 'zuul.d')}]\n  fromRepository: false`,
    });
    const d = drawbridge(['scheduler', '--config', config]);
    daemon = d;
    await waitForLog(d, /"msg":"daemon running"/, 'the scheduler to run');
    expect(d.stdout()).toMatch(/"layoutVersion":"files-[0-9a-f]{16}"/);
    expect(await kinds(t.paths)).toEqual(['scheduler:running']);
    await waitUntil(
      async () => (await zk.exists(t.paths.pipelineStatus('deploy'))) !== null,
      'the deploy pipeline status',
    );
    d.signal('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(await kinds(t.paths)).toEqual([]);
  });

  it('exits 1 with file:line errors for a broken layout', async () => {
    const t = fresh();
    const bad = join(t.dir, 'zuul.yaml');
    writeFileSync(bad, '- job:\n    name: a\n    parent: nope\n');
    const config = writeConfig(t.dir, {
      zookeeper: chroot.serverConnectString,
      root: t.root,
      logRoot: join(t.dir, 'logs'),
      webPort: await freePort(),
      logPort: await freePort(),
      layout: `  paths: [${bad}]\n  fromRepository: false`,
    });
    const r = await drawbridgeOnce(['scheduler', '--config', config]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${bad}:3: error: .*nope`, 'm'));
    expect(r.stderr).toMatch(/^drawbridge: layout has 1 error\(s\)/m);
  });
});

describe('drawbridge run', () => {
  let sshd: SshdFixture;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => sshd?.dispose());

  it('runs scheduler, executor and web in one process on the repository layout', async () => {
    const t = fresh();
    // The deployed repository: config/example committed on master, as the local stack makes it.
    const work = join(t.dir, 'work');
    cpSync(example, work, { recursive: true });
    const git = (...args: string[]) => execFileSync('git', args, { cwd: work, stdio: 'pipe' });
    git('init', '-q', '-b', 'master');
    git('add', '-A');
    git('-c', 'user.name=t', '-c', 'user.email=t@localhost', 'commit', '-qm', 'example');
    const sha = git('rev-parse', 'HEAD').toString().trim();
    const webPort = await freePort();
    const config = writeConfig(t.dir, {
      zookeeper: chroot.serverConnectString,
      root: t.root,
      bastion: {
        port: sshd.port,
        user: sshd.user,
        privateKey: sshd.privateKeyPath,
        hostKey: sshd.hostKeyFingerprint,
        workspaceRoot: join(t.dir, 'workspaces'),
      },
      repositoryUrl: work,
      branch: 'master',
      logRoot: join(t.dir, 'logs'),
      webPort,
      logPort: await freePort(),
    });
    const d = drawbridge(['run', '--config', config]);
    daemon = d;
    await waitForLog(d, /"msg":"daemon running"/, 'all three to run');
    // The commit, and a hash of the paths and options it was read with.
    expect(d.stdout()).toMatch(new RegExp(`"layoutVersion":"${sha}-[0-9a-f]{8}"`));
    expect(await kinds(t.paths)).toEqual(['executor:running', 'scheduler:running', 'web:running']);
    const base = `http://127.0.0.1:${webPort}`;
    await waitUntil(
      async () =>
        ((await getJson(`${base}/api/status`)).body as { pipelines: unknown[] }).pipelines
          .length === 3,
      'web to serve the three pipelines of the example layout',
    );
    d.signal('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(await kinds(t.paths)).toEqual([]);
  });
});
