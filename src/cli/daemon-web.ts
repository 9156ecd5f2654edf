/** The web server of a daemon process, from the config's `web` section. */
import type { Logger } from 'pino';
import type { DaemonConfig } from '../config/daemon-config.js';
import { WebServer } from '../web/index.js';
import type { ZkClient, ZkPaths } from '../zk/index.js';

export function createWebServer(
  config: DaemonConfig,
  version: string,
  deps: { zk: ZkClient; paths: ZkPaths; logger: Logger },
): WebServer {
  const { listen, readProtected } = config.web;
  return new WebServer({ host: listen.host, port: listen.port, version, readProtected }, deps);
}
