import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { RunExecutorConfig } from './run-executor.js';
import {
  completed,
  createWorld,
  heldLocks,
  processesMatching,
  put,
  read,
  request,
  waitState,
  waitUntil,
  type World,
} from './support.js';

interface Started {
  readonly child: ChildProcess;
  readonly id: string;
  readonly exited: Promise<void>;
}

/** Starts run-executor.ts in a process of its own and waits until it runs. */
async function spawnExecutor(config: RunExecutorConfig): Promise<Started> {
  const script = join(import.meta.dirname, 'run-executor.ts');
  const child = spawn(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', script, JSON.stringify(config)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stderr: string[] = [];
  child.stderr.on('data', (d: Buffer) => stderr.push(d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const first = await Promise.race([
    new Promise<string>((resolve) => lines.once('line', resolve)),
    exited.then(() => {
      throw new Error(`run-executor exited before running: ${stderr.join('')}`);
    }),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('run-executor did not start within 30 s')), 30_000).unref(),
    ),
  ]);
  lines.close();
  const { id } = JSON.parse(first) as { id: string };
  return { child, id, exited };
}

describe('executor process killed mid-build', () => {
  let world: World;
  let started: Started | undefined;

  beforeAll(async () => {
    world = await createWorld('crash');
  });
  afterAll(async () => {
    if (started?.child.exitCode === null) {
      started.child.kill('SIGKILL');
      await started.exited;
    }
    if (world) expect(await heldLocks(world.zk, world.paths)).toEqual([]);
    await world?.dispose();
  });

  it('loses its build lock with its session while the request stays RUNNING', async () => {
    const sessionTimeoutMs = 2_000;
    started = await spawnExecutor({
      zookeeper: world.chroot.connectString,
      sessionTimeoutMs,
      bastion: {
        host: world.sshd.host,
        port: world.sshd.port,
        user: world.sshd.user,
        privateKeyPath: world.sshd.privateKeyPath,
        hostKey: world.sshd.hostKeyFingerprint,
      },
      workspaceRoot: world.workspaceRoot,
      logRoot: world.logRoot,
      source: { kind: 'fetch', url: world.repo.url },
      slots: 2,
    });
    const r = await put(
      world,
      request(world, {
        playbook: 'playbooks/gate.yml',
        vars: { record_dir: world.records, name: 'crash' },
      }),
    );
    await waitUntil(() => existsSync(join(world.records, 'crash.pid')), 'the playbook to start');
    const running = await waitState(world, r.id, 'running');
    expect(running.executor).toBe(started.id);
    const lock = world.paths.buildLock(r.id);
    expect(await world.zk.children(lock)).toHaveLength(1);

    started.child.kill('SIGKILL');
    await started.exited;
    const killedAt = Date.now();
    await waitUntil(
      async () => (await world.zk.children(lock)).length === 0,
      'the dead executor’s build lock to vanish',
      sessionTimeoutMs * 5,
    );
    // Gone within the session timeout (plus the server's tick granularity).
    expect(Date.now() - killedAt).toBeLessThan(sessionTimeoutMs * 3);
    const after = await read(world, r.id);
    expect(after).toMatchObject({ state: 'running', executor: started.id, outcome: null });
    // The bastion's watchdog ended the orphaned playbook when the SSH connection closed.
    const pid = Number(readFileSync(join(world.records, 'crash.pid'), 'utf8'));
    await waitUntil(
      () => !processesMatching('crash.go').includes(pid),
      'the orphaned playbook to be ended',
    );
    await world.zk.deleteRecursive(world.paths.buildRequest(r.id));
  });

  it('ends a build ERROR, retryable, when the bastion is unreachable before the playbook starts', async () => {
    const executor = await world.startExecutor({
      slots: 1,
      bastion: { ...world.executorOptions().bastion, waitForReadyMs: 500 },
    });
    await world.sshd.kill();
    try {
      await waitUntil(() => executor.bastion.state === 'reconnecting', 'the connection to drop');
      const r = await put(world, request(world));
      const done = await completed(world, r.id);
      expect(done.outcome).toMatchObject({ result: 'ERROR', retryable: true, startedAt: null });
      expect(done.outcome!.reason).toMatch(/not connected/);
    } finally {
      await world.sshd.start();
    }
    await waitUntil(() => executor.bastion.state === 'ready', 'the connection to come back');
    const again = await put(world, request(world));
    expect((await completed(world, again.id)).outcome?.result).toBe('SUCCESS');
    await executor.stop();
  });
});
