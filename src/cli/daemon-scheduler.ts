/**
 * The scheduler of a daemon process: the Scheduler component with the
 * layout loaded at startup (daemon-layout.ts). A changed layout takes a
 * reconfiguration or a restart; buildsets in flight keep the version they began with.
 */
import type { Logger } from 'pino';
import { Scheduler } from '../scheduler/runtime/index.js';
import type { ZkClient, ZkPaths } from '../zk/index.js';
import type { LoadedLayout } from './daemon-layout.js';

export function createScheduler(
  loaded: LoadedLayout,
  version: string,
  deps: { zk: ZkClient; paths: ZkPaths; logger: Logger },
): Scheduler {
  return new Scheduler(
    { version },
    { ...deps, layout: loaded.layout, layoutVersion: loaded.version },
  );
}
