/**
 * `drawbridge executor` as a real process against a real ZooKeeper, sshd
 * bastion and git repository: it registers, drains on SIGTERM (a running
 * build finishes), stops at once on a second SIGTERM (the build is
 * ABORTED), deregisters and exits 0. Bad input exits with one clear line.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { BuildRequest } from '../../src/model/index.js';
import { buildWebApp, type WebApp } from '../../src/web/index.js';
import { ZkPaths } from '../../src/zk/index.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import {
  createWorld,
  heldLocks,
  put,
  read,
  request,
  waitState,
  type World,
} from '../executor/support.js';
import {
  type Daemon,
  drawbridge,
  drawbridgeOnce,
  freePort,
  getJson,
  reap,
  serve,
  waitForLog,
  waitUntil,
  writeConfig,
} from './support.js';

// Real processes start slowly on a loaded machine (each compiles the sources).
jest.setTimeout(120_000);

let world: World;
let dir: string;
let config: string;
/** A client without chroot, as the daemon sees the server, and a web app on it. */
let zk: ZooKeeperClient;
let web: WebApp;
let webUrl: string;
let daemon: Daemon | undefined;

beforeAll(async () => {
  world = await createWorld('processes');
  dir = mkdtempSync(join(tmpdir(), 'drawbridge-proc-exec-'));
  const root = `${world.chroot.chroot}/drawbridge`;
  zk = await connectZooKeeper({ connectString: world.chroot.serverConnectString });
  web = buildWebApp({ zk, paths: new ZkPaths(root), logger: pino({ level: 'silent' }) });
  webUrl = await serve(web);
  config = writeConfig(dir, {
    zookeeper: world.chroot.serverConnectString,
    root,
    bastion: {
      port: world.sshd.port,
      user: world.sshd.user,
      privateKey: world.sshd.privateKeyPath,
      hostKey: world.sshd.hostKeyFingerprint,
      workspaceRoot: world.workspaceRoot,
    },
    repositoryUrl: world.repo.url,
    logRoot: world.logRoot,
    webPort: await freePort(),
    logPort: await freePort(),
  });
});
afterEach(async () => {
  await reap(daemon);
  daemon = undefined;
});
afterAll(async () => {
  if (world) expect(await heldLocks(world.zk, world.paths)).toEqual([]);
  await web?.close();
  await zk?.close();
  await world?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

type Listed = { kind: string; state: string; pid: number; extra: Record<string, unknown> };
async function executors(): Promise<Listed[]> {
  const r = await getJson(`${webUrl}/api/components?kind=executor`);
  expect(r.status).toBe(200);
  return (r.body as { components: Listed[] }).components;
}

const gate = (name: string): BuildRequest =>
  request(world, { playbook: 'playbooks/gate.yml', vars: { record_dir: world.records, name } });
const started = (name: string) =>
  waitUntil(() => existsSync(join(world.records, `${name}.pid`)), `playbook ${name} to start`);

async function startExecutor(grace = '60'): Promise<Daemon> {
  const d = drawbridge(['executor', '--config', config, '--grace', grace]);
  daemon = d;
  await waitForLog(d, /"msg":"daemon running"/, 'the executor to run');
  return d;
}

describe('drawbridge executor', () => {
  it('registers, drains on SIGTERM while a build finishes, deregisters and exits 0', async () => {
    const d = await startExecutor();
    const [me] = await executors();
    expect(me).toMatchObject({ kind: 'executor', state: 'running', pid: d.child.pid });
    expect(d.stdout()).toMatch(/"component":"executor".*"msg":"executor running"/);

    const r = await put(world, gate('drain'));
    await waitState(world, r.id, 'running');
    await started('drain');
    d.signal('SIGTERM');
    await waitUntil(
      async () => (await executors())[0]?.state === 'draining',
      'the executor to show as draining',
    );
    expect(d.child.exitCode).toBeNull(); // still finishing its build
    writeFileSync(join(world.records, 'drain.go'), '');
    expect(await d.exited).toBe(0);
    expect((await read(world, r.id)).outcome).toMatchObject({ result: 'SUCCESS' });
    expect(await executors()).toEqual([]);
    expect(d.stdout()).toMatch(/"msg":"drawbridge exited"/);
    expect(d.stderr()).toBe('');
  });

  it('stops at once on a second SIGTERM: the running build is ABORTED', async () => {
    const d = await startExecutor();
    const r = await put(world, gate('abort'));
    await started('abort');
    d.signal('SIGTERM');
    await waitForLog(d, /"msg":"executor draining"/, 'the drain to begin');
    d.signal('SIGTERM');
    expect(await d.exited).toBe(0);
    expect((await read(world, r.id)).outcome).toMatchObject({ result: 'ABORTED', retryable: true });
    expect(await executors()).toEqual([]);
  });

  it('stops when the grace period ends: the build still running is ABORTED', async () => {
    const d = await startExecutor('0.5');
    const r = await put(world, gate('grace'));
    await started('grace');
    d.signal('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(d.stdout()).toMatch(/"msg":"grace period over: stopping now"/);
    expect((await read(world, r.id)).outcome).toMatchObject({ result: 'ABORTED', retryable: true });
    expect(await executors()).toEqual([]);
  });

  it('exits 1 with file:line errors for a bad config, without starting', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'zookeeper:\n  hosts: [127.0.0.1:99999]\nexecutor:\n  slots: 0\n');
    const r = await drawbridgeOnce(['executor', '--config', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${bad}:2: error: .*port`, 'm'));
    expect(r.stderr).toMatch(new RegExp(`^${bad}:4: error: .*slots`, 'm'));
    expect(r.stderr).toMatch(
      /^drawbridge: .*daemon config has \d+ error\(s\) \(DRAWBRIDGE_ERR_CONFIG_DAEMON_INVALID\)$/m,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 with one line when the bastion host key does not match the pin', async () => {
    const wrongKey = join(dir, 'wrong-key.yaml');
    writeFileSync(
      wrongKey,
      readFileSync(config, 'utf8').replace(
        /hostKey: ".*"/,
        'hostKey: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"',
      ),
    );
    const r = await drawbridgeOnce(['executor', '--config', wrongKey]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^drawbridge: host key of 127\.0\.0\.1 is SHA256:\S+, expected SHA256:A+: .*\(DRAWBRIDGE_ERR_SSH_HOST_KEY_MISMATCH\)\n$/,
    );
    expect(r.stdout).toMatch(/"level":50.*"msg":"service failed to start"/);
    expect(await executors()).toEqual([]);
  });

  it('exits 2 with one line when ZooKeeper cannot be reached', async () => {
    const port = await freePort();
    const unreachable = writeConfig(mkdtempSync(join(dir, 'nozk-')), {
      zookeeper: `127.0.0.1:${port}`,
      root: '/drawbridge',
      logRoot: join(dir, 'logs'),
      webPort: await freePort(),
      logPort: await freePort(),
      connectTimeout: 1,
    });
    const r = await drawbridgeOnce(['executor', '--config', unreachable]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `drawbridge: cannot connect to ZooKeeper at 127.0.0.1:${port}: ` +
        'timed out after 1000 ms waiting for a ZooKeeper connection (DRAWBRIDGE_ERR_CLI_CONNECT)\n',
    );
  });
});
