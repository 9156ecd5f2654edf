/**
 * Starts one executor in a process of its own, for tests that kill it. Usage:
 *   node --import @swc-node/register/esm-register test/executor/run-executor.ts '<json>'
 * The JSON is a RunExecutorConfig. Prints one JSON line on stdout once the
 * executor runs ({"event":"running","id":...,"logStream":...}); SIGTERM
 * drains, SIGINT stops; logs go to stderr.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import type { CommitSource } from '../../src/bastion/index.js';
import { toError } from '../../src/errors.js';
import { Executor } from '../../src/executor/index.js';
import { ZkPaths } from '../../src/zk/paths.js';
import { connectZooKeeper } from '../../src/zk/zk-client.js';

export interface RunExecutorConfig {
  /** `host:port/chroot`. */
  readonly zookeeper: string;
  readonly zkRoot?: string;
  readonly sessionTimeoutMs?: number;
  readonly bastion: {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly privateKeyPath: string;
    /** `SHA256:...` fingerprint or known_hosts line. */
    readonly hostKey: string;
  };
  readonly workspaceRoot: string;
  readonly logRoot: string;
  readonly source: CommitSource;
  readonly slots: number;
  readonly logLevel?: string;
}

async function main(arg: string | undefined): Promise<void> {
  if (!arg) throw new Error('usage: run-executor.ts <json config>');
  const config = JSON.parse(arg) as RunExecutorConfig;
  const logger = pino({ level: config.logLevel ?? 'warn' }, pino.destination(2));
  const zk = await connectZooKeeper({
    connectString: config.zookeeper,
    sessionTimeoutMs: config.sessionTimeoutMs ?? 2_000,
  });
  const executor = new Executor(
    {
      slots: config.slots,
      version: 'run-executor',
      bastion: {
        host: config.bastion.host,
        port: config.bastion.port,
        username: config.bastion.user,
        privateKey: readFileSync(config.bastion.privateKeyPath),
        hostKey: config.bastion.hostKey,
      },
      workspaceRoot: config.workspaceRoot,
      logRoot: config.logRoot,
      source: config.source,
      killGraceMs: 1_000,
    },
    { zk, paths: new ZkPaths(config.zkRoot ?? '/drawbridge'), logger },
  );
  const finish = (how: 'drain' | 'stop') => () => {
    (how === 'drain' ? executor.drain() : executor.stop())
      .then(() => zk.close())
      .then(
        () => process.exit(0),
        (e: unknown) => {
          logger.error({ err: toError(e) }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', finish('drain'));
  process.on('SIGINT', finish('stop'));
  await executor.start();
  process.stdout.write(
    `${JSON.stringify({ event: 'running', id: executor.id, logStream: executor.logStreamUrl })}\n`,
  );
}

main(process.argv[2]).catch((e: unknown) => {
  process.stderr.write(`run-executor: ${toError(e).stack ?? String(e)}\n`);
  process.exit(1);
});
