/**
 * A short ZooKeeper session for one admin command (enqueue, status): the
 * config's ensemble and root, warnings and errors only on stderr.
 */
import { pino } from 'pino';
import type { DaemonConfig } from '../config/daemon-config.js';
import { ZkPaths, type ZooKeeperClient } from '../zk/index.js';
import { type Env, loadConfigForCommand } from './daemon-config-load.js';
import { connectFromConfig } from './daemon-zk.js';
import type { Io } from './io.js';

export interface AdminSession {
  readonly config: DaemonConfig;
  readonly zk: ZooKeeperClient;
  readonly paths: ZkPaths;
}

/** Undefined when the config is invalid (its errors are printed). */
export async function openAdminSession(
  file: string,
  env: Env,
  io: Io,
): Promise<AdminSession | undefined> {
  const config = await loadConfigForCommand(file, env, io);
  if (config === undefined) return undefined;
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const zk = await connectFromConfig(config.zookeeper, logger);
  return { config, zk, paths: new ZkPaths(config.zookeeper.root) };
}
