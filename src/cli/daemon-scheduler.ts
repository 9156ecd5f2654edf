/**
 * The scheduler of a daemon process: the Scheduler component with the
 * layout loaded at startup (daemon-layout.ts), its git poller and, when
 * `scheduler.timers` is on, its timer triggers. It follows the layout stored
 * in ZooKeeper (drawbridge reconfigure, SIGHUP); buildsets in flight keep the
 * graph they were frozen with.
 */
import type { Logger } from 'pino';
import type { DaemonConfig } from '../config/daemon-config.js';
import { toError } from '../errors.js';
import {
  createHistoryStore,
  expectedDurations,
  HistoryRecorder,
  type HistoryStore,
} from '../history/index.js';
import { Scheduler } from '../scheduler/runtime/index.js';
import type { ZkClient, ZkPaths } from '../zk/index.js';
import type { LoadedLayout } from './daemon-layout.js';
import type { Service } from './daemon-lifecycle.js';

export function createScheduler(
  config: DaemonConfig,
  loaded: LoadedLayout,
  version: string,
  deps: { zk: ZkClient; paths: ZkPaths; logger: Logger },
): Service {
  const { url, branch, pollIntervalMs, localPath } = config.repository;
  const history = createHistoryStore(config.history, deps.logger);
  const scheduler = new Scheduler(
    {
      version,
      // The poller always runs: timers deploy the branch head it fetched, and
      // with pollInterval 0 it fetches only when a timer fires.
      triggers: {
        timers: config.scheduler.timers,
        repository: { url, branch, localPath, pollIntervalMs },
      },
    },
    {
      ...deps,
      layout: loaded.layout,
      layoutVersion: loaded.version,
      followLayout: { initial: loaded.stored },
      history: new HistoryRecorder(history, deps.logger),
      expectedMs: expectedDurations(history),
    },
  );
  return withHistoryStore(scheduler, history, deps.logger);
}

/**
 * The service, then the history store closed once it has shut down. The
 * store is opened (migrated) at start but a database that is down only
 * warns: finished buildsets wait in ZooKeeper until it is back.
 */
export function withHistoryStore(service: Service, store: HistoryStore, logger: Logger): Service {
  const log = logger.child({ component: 'history' });
  const after = (done: Promise<void>): Promise<void> =>
    done.finally(() =>
      store.close().catch((e: unknown) => log.warn({ err: toError(e) }, 'closing the history')),
    );
  return {
    start: async () => {
      await service.start();
      await store.open().then(
        () => log.info({ backend: store.backend }, 'history database ready'),
        (e: unknown) => log.warn({ err: toError(e) }, 'history database unavailable at start'),
      );
    },
    drain: () => after(service.drain()),
    stop: () => after(service.stop()),
  };
}
