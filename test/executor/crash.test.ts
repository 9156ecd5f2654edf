import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnExecutor, type ExecutorProcess } from './spawn.js';
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

describe('executor process killed mid-build', () => {
  let world: World;
  let started: ExecutorProcess | undefined;

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
    started = await spawnExecutor(world, sessionTimeoutMs);
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
    expect(await world.zk.exists(lock)).not.toBeNull();

    started.child.kill('SIGKILL');
    await started.exited;
    const killedAt = Date.now();
    await waitUntil(
      async () => (await world.zk.exists(lock)) === null,
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
