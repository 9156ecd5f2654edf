/** The web server of a daemon process, from the config's `web` section. */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { DaemonConfig } from '../config/daemon-config.js';
import { createHistoryStore, expectedDurations } from '../history/index.js';
import { Authenticator, WebServer } from '../web/index.js';
import type { ZkClient, ZkPaths } from '../zk/index.js';
import { daemonAdminActions } from './daemon-admin.js';
import type { Service } from './daemon-lifecycle.js';
import { withHistoryStore } from './daemon-scheduler.js';

export function createWebServer(
  config: DaemonConfig,
  version: string,
  deps: { zk: ZkClient; paths: ZkPaths; logger: Logger; sharesProcessWithScheduler?: boolean },
): Service {
  const { listen, readProtected, tokens, jwt, webhooks, publicUrl } = config.web;
  // Read once at start: a key that cannot be read stops the process rather than every request.
  const pem =
    jwt?.rs256PublicKey === undefined ? undefined : readFileSync(jwt.rs256PublicKey, 'utf8');
  const auth = new Authenticator({
    readProtected,
    tokens,
    jwt,
    ...(pem === undefined ? {} : { rs256PublicKeyPem: pem }),
  });
  const history = createHistoryStore(config.history, deps.logger);
  // The admin actions need the server's close signal; the server needs them first.
  let closing: () => AbortSignal | undefined = () => undefined;
  const admin = daemonAdminActions({ ...deps, config, closing: () => closing() });
  const server = new WebServer(
    { host: listen.host, port: listen.port, version },
    {
      ...deps,
      history,
      admin,
      expectedMs: expectedDurations(history),
      // Logs of finished builds are read from here when web shares the executors' disk.
      logRoot: config.executor.logRoot,
      auth,
      webhooks,
      defaultBranch: config.repository.branch,
      ...(publicUrl === undefined ? {} : { publicUrl }),
    },
  );
  closing = () => server.closing;
  return withHistoryStore(server, history, deps.logger);
}
