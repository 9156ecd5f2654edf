/**
 * The executor of a daemon process, built from the config's `bastion`,
 * `executor` and `repository` sections: the one place config units and
 * names are mapped onto ExecutorOptions.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { DaemonConfig } from '../config/daemon-config.js';
import { toError } from '../errors.js';
import { Executor, type ExecutorOptions } from '../executor/index.js';
import type { ZkClient, ZkPaths } from '../zk/index.js';
import { CliInputFileError } from './errors.js';

export async function executorOptionsFrom(
  config: DaemonConfig,
  version: string,
): Promise<ExecutorOptions> {
  const { bastion, executor, repository } = config;
  let privateKey: Buffer;
  try {
    privateKey = await readFile(bastion.privateKey);
  } catch (e) {
    throw new CliInputFileError(
      bastion.privateKey,
      `cannot read bastion.privateKey: ${toError(e).message}`,
    );
  }
  return {
    slots: executor.slots,
    version,
    bastion: {
      host: bastion.host,
      port: bastion.port,
      username: bastion.user,
      privateKey,
      hostKey: bastion.hostKeys,
      maxSessions: bastion.sessionLimit,
      keepaliveIntervalMs: bastion.keepaliveMs,
    },
    workspaceRoot: bastion.workspaceRoot,
    source:
      bastion.commitSource === 'fetch'
        ? { kind: 'fetch', url: repository.url }
        : { kind: 'push', localRepo: repository.localPath },
    logRoot: executor.logRoot,
    logStream: { host: executor.logStream.host, port: executor.logStream.port },
    keepWorkspaces: bastion.keepWorkspaces,
    killGraceMs: executor.killGraceMs,
    jobNice: executor.jobNice,
    jobCpuPolicy: executor.jobCpuPolicy,
  };
}

export async function createExecutor(
  config: DaemonConfig,
  version: string,
  deps: { zk: ZkClient; paths: ZkPaths; logger: Logger },
): Promise<Executor> {
  return new Executor(await executorOptionsFrom(config, version), deps);
}
