/**
 * An executor in a process of its own (run-executor.ts), for tests that kill
 * it: started with the world's ZooKeeper chroot, bastion and repository.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { RunExecutorConfig } from './run-executor.js';
import type { World } from './support.js';

export interface ExecutorProcess {
  readonly child: ChildProcess;
  /** Its registry id. */
  readonly id: string;
  readonly exited: Promise<void>;
}

/** An executor in a process of its own (test/executor/run-executor.ts), once it runs. */
export async function spawnExecutor(
  world: World,
  sessionTimeoutMs: number,
): Promise<ExecutorProcess> {
  const config: RunExecutorConfig = {
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
  };
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
  let timer: NodeJS.Timeout | undefined;
  try {
    const first = await Promise.race([
      new Promise<string>((resolve) => lines.once('line', resolve)),
      exited.then(() => {
        throw new Error(`run-executor exited before running: ${stderr.join('')}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error('run-executor did not start within 30 s')),
          30_000,
        );
      }),
    ]);
    return { child, id: (JSON.parse(first) as { id: string }).id, exited };
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    throw e;
  } finally {
    clearTimeout(timer);
    lines.close();
  }
}
