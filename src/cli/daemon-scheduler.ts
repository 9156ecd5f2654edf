/**
 * The scheduler of a daemon process: the Scheduler component with the
 * layout loaded at startup (daemon-layout.ts), its git poller and, when
 * `scheduler.timers` is on, its timer triggers. A changed layout takes a
 * reconfiguration or a restart; buildsets in flight keep the version they began with.
 */
import type { Logger } from 'pino';
import type { DaemonConfig } from '../config/daemon-config.js';
import { Scheduler } from '../scheduler/runtime/index.js';
import type { ZkClient, ZkPaths } from '../zk/index.js';
import type { LoadedLayout } from './daemon-layout.js';

export function createScheduler(
  config: DaemonConfig,
  loaded: LoadedLayout,
  version: string,
  deps: { zk: ZkClient; paths: ZkPaths; logger: Logger },
): Scheduler {
  const { url, branch, pollIntervalMs, localPath } = config.repository;
  return new Scheduler(
    {
      version,
      // The poller always runs: timers deploy the branch head it fetched, and
      // with pollInterval 0 it fetches only when a timer fires.
      triggers: {
        timers: config.scheduler.timers,
        repository: { url, branch, localPath, pollIntervalMs },
      },
    },
    { ...deps, layout: loaded.layout, layoutVersion: loaded.version },
  );
}
