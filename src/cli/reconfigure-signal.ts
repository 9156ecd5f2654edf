/**
 * SIGHUP to a scheduler (or `run`) process: the same reconfiguration as
 * `drawbridge reconfigure`, with this process's config and ZooKeeper session.
 * The outcome goes to the log: every layout error at error level (the
 * running layout stays), or the stored version, which every scheduler,
 * this one included, then switches to through its watch.
 */
import type { Logger } from 'pino';
import type { DaemonConfig } from '../config/daemon-config.js';
import { formatDiagnostic } from '../config/index.js';
import { toError } from '../errors.js';
import { reconfigureLayout } from '../model/layout-reconfigure.js';
import type { ZkClient, ZkPaths } from '../zk/index.js';
import { onReloadSignal, type SignalSource } from './process-signals.js';

export interface ReloadDeps {
  readonly zk: ZkClient;
  readonly paths: ZkPaths;
  readonly config: DaemonConfig;
  readonly logger: Logger;
}

/** Installs the SIGHUP handler; returns the function that removes it. */
export function reconfigureOnSighup(signals: SignalSource, deps: ReloadDeps): () => void {
  const log = deps.logger.child({ component: 'reconfigure' });
  return onReloadSignal(signals, async () => {
    log.info({ signal: 'SIGHUP' }, 'reconfiguration requested');
    try {
      const result = await reconfigureLayout({
        zk: deps.zk,
        paths: deps.paths,
        config: deps.config,
        requestedBy: `SIGHUP to pid ${process.pid}`,
      });
      if (result.status === 'invalid') {
        for (const d of result.errors) log.error({ code: d.code }, formatDiagnostic(d));
        log.error(
          { errors: result.errors.length, version: result.version },
          'new layout is invalid; keeping the running layout',
        );
        return;
      }
      for (const d of result.warnings) log.warn({ code: d.code }, formatDiagnostic(d));
      log.info(
        { layoutVersion: result.version, previous: result.previous, switched: result.switched },
        result.switched ? 'new layout stored' : 'layout unchanged',
      );
    } catch (e) {
      log.error({ err: toError(e) }, 'reconfiguration failed; keeping the running layout');
    }
  });
}
