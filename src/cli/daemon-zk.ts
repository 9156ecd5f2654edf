/**
 * The ZooKeeper session of a daemon process, from the config's `zookeeper`
 * section. Failing to connect within connectTimeout is a user-facing error
 * that names the ensemble, not a stack trace.
 */
import type { Logger } from 'pino';
import type { ZookeeperConfig } from '../config/daemon-config.js';
import { DrawbridgeError, toError } from '../errors.js';
import { connectZooKeeper, type ZooKeeperClient } from '../zk/index.js';
import { CliConnectError } from './errors.js';

export async function connectFromConfig(
  config: ZookeeperConfig,
  logger: Logger,
): Promise<ZooKeeperClient> {
  const log = logger.child({ component: 'zookeeper' });
  log.info({ hosts: config.connectString, root: config.root }, 'connecting to ZooKeeper');
  try {
    const zk = await connectZooKeeper({
      connectString: config.connectString,
      sessionTimeoutMs: config.sessionTimeoutMs,
      connectTimeoutMs: config.connectTimeoutMs,
      ...(config.auth ? { auth: { user: config.auth.user, password: config.auth.password } } : {}),
      logger: log,
    });
    log.info({ sessionId: zk.sessionId }, 'connected to ZooKeeper');
    return zk;
  } catch (e) {
    const err = toError(e);
    const reason = err instanceof DrawbridgeError ? err.message : `${err.name}: ${err.message}`;
    throw new CliConnectError('ZooKeeper', config.connectString, reason);
  }
}
