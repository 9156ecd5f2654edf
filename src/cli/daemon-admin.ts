/**
 * The admin actions a web daemon offers over REST: the pipeline actions as
 * management events (web's own), reconfiguration as `drawbridge
 * reconfigure` does it, and rolling restarts and executor control through
 * src/ops. A rolling restart started over REST is driven by the web process
 * that accepted it; its record in ZooKeeper says whether the driver is
 * still alive, and a web shutdown cancels it between steps. A web server that
 * shares its process with a scheduler refuses to drive one (409).
 */
import type { Logger } from 'pino';
import { formatDiagnostic } from '../config/index.js';
import type { LayoutSettings } from '../config/layout-sources.js';
import { toError } from '../errors.js';
import { reconfigureLayout } from '../model/layout-reconfigure.js';
import {
  readRollingRestart,
  requestComponentAction,
  startRollingRestart,
  type RollingRestartRecord,
} from '../ops/index.js';
import {
  WebBadRequestError,
  zkAdminActions,
  type AdminActions,
  type Operation,
} from '../web/index.js';
import type { ZkClient, ZkPaths } from '../zk/index.js';

/** Per scheduler: to drain, and again to be replaced (the CLI's default). */
const RESTART_STEP_TIMEOUT_MS = 300_000;

export function daemonAdminActions(deps: {
  readonly zk: ZkClient;
  readonly paths: ZkPaths;
  /** The daemon config's layout, repository and state sections. */
  readonly config: LayoutSettings;
  readonly logger: Logger;
  /** Aborted when the web server stops: a restart it drives stops between steps. */
  readonly closing: () => AbortSignal | undefined;
  /** True in `drawbridge run`: a scheduler of this process would be drained under its driver. */
  readonly sharesProcessWithScheduler?: boolean;
}): AdminActions {
  const { zk, paths, config, logger } = deps;
  return {
    ...zkAdminActions(zk, paths),
    async reconfigure({ by }) {
      const result = await reconfigureLayout({ zk, paths, config, requestedBy: by });
      if (result.status === 'invalid') {
        const lines = result.errors.map((d) => formatDiagnostic(d));
        throw new WebBadRequestError(
          `the layout ${result.version} is invalid; the running layout stays:\n${lines.join('\n')}`,
          422,
        );
      }
      return {
        id: result.version,
        kind: 'reconfigure',
        state: result.switched ? 'switched' : 'unchanged',
        detail: { previous: result.previous, pipelines: [...result.pipelines] },
      };
    },
    async rollingRestart({ by }) {
      if (deps.sharesProcessWithScheduler === true)
        throw new WebBadRequestError(
          'this web server shares its process with a scheduler, which the rolling restart ' +
            'would drain under its own driver; run `drawbridge rolling-restart` from a CLI, ' +
            'or ask a web-only process',
          409,
        );
      const signal = deps.closing();
      const handle = await startRollingRestart(zk, paths, {
        kind: 'scheduler',
        requestedBy: by,
        timeoutMs: RESTART_STEP_TIMEOUT_MS,
        ...(signal === undefined ? {} : { signal }),
      });
      void handle.done.then(
        (end) => logger.info({ operation: end.id, state: end.state }, 'rolling restart ended'),
        (err: unknown) => logger.warn({ err: toError(err) }, 'rolling restart driver failed'),
      );
      return operationOf(handle.record);
    },
    async operation(id) {
      const current = await readRollingRestart(zk, paths);
      return current?.id === id ? operationOf(current) : undefined;
    },
    async executor({ executorId, action, by }) {
      const { request } = await requestComponentAction(zk, paths, executorId, action, by);
      return { id: request.id };
    },
  };
}

function operationOf(record: RollingRestartRecord & { driverAlive?: boolean }): Operation {
  return { id: record.id, kind: 'rolling-restart', state: record.state, detail: { ...record } };
}
