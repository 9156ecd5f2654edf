/**
 * `drawbridge executor|web|scheduler|run`: load the config, build the root
 * logger, connect ZooKeeper, start the services, then wait for signals.
 * Resolves with the exit code once everything has shut down and the
 * signal handlers are gone again.
 */
import type { Logger } from 'pino';
import { type DaemonConfig, describeConfig } from '../config/daemon-config.js';
import { toError } from '../errors.js';
import { ZkPaths, type ZkClient } from '../zk/index.js';
import { EXIT_DRAINED, type DaemonControl, watchDaemonControl } from './components-control.js';
import { createExecutor } from './daemon-executor.js';
import { type Env, loadConfigForCommand } from './daemon-config-load.js';
import { Daemon, type NamedService } from './daemon-lifecycle.js';
import { type LoadedLayout, loadSchedulerLayout } from './daemon-layout.js';
import { createScheduler } from './daemon-scheduler.js';
import { createWebServer } from './daemon-web.js';
import { connectFromConfig } from './daemon-zk.js';
import { CliUsageError } from './errors.js';
import { EXIT, type Io } from './io.js';
import type { LineSink } from './log-pretty.js';
import { buildRootLogger } from './logger.js';
import { onReloadSignal, onShutdownSignals, type SignalSource } from './process-signals.js';
import { reconfigureOnSighup } from './reconfigure-signal.js';

export type ServiceKind = 'executor' | 'scheduler' | 'web';

export interface DaemonCommandOptions {
  readonly config: string;
  /** Seconds, as typed on the command line. */
  readonly grace: string;
}

/** The process around the daemon; main passes the real one, tests their own. */
export interface DaemonRuntime {
  readonly env: Env;
  readonly io: Io;
  readonly signals: SignalSource;
  /** Where logs go (stdout in main). */
  readonly logOut: LineSink;
  readonly version: string;
}

export async function daemonCommand(
  kinds: readonly ServiceKind[],
  options: DaemonCommandOptions,
  rt: DaemonRuntime,
): Promise<number> {
  const graceMs = parseGrace(options.grace);
  const config = await loadConfigForCommand(options.config, rt.env, rt.io);
  if (config === undefined) return EXIT.invalid;
  let layout: LoadedLayout | undefined;
  if (kinds.includes('scheduler')) {
    layout = await loadSchedulerLayout(config, rt.io);
    if (layout === undefined) return EXIT.invalid;
  }
  const logger = buildRootLogger(config.log, rt.logOut);
  logger.info(
    { file: config.file, services: kinds, version: rt.version, layoutVersion: layout?.version },
    'drawbridge starting',
  );
  // describeConfig also masks a password inside repository.url, which redactPaths cannot reach.
  logger.debug({ config: describeConfig(config) }, 'configuration');
  const zk = await connectFromConfig(config.zookeeper, logger);
  let daemon: Daemon;
  try {
    const services = await buildServices(kinds, config, layout, rt.version, zk, logger);
    daemon = new Daemon(services, { graceMs, logger });
  } catch (e) {
    await zk.close();
    throw toError(e);
  }
  const uninstall = onShutdownSignals(rt.signals, {
    drain: (signal) => {
      logger.info({ signal }, 'shutdown requested: draining (signal again to stop at once)');
      void daemon.drain();
    },
    stop: (signal) => {
      logger.info({ signal }, 'second signal: stopping at once');
      void daemon.stop();
    },
  });
  // SIGHUP reconfigures where a scheduler runs; elsewhere it is ignored rather than fatal.
  const uninstallReload =
    layout === undefined
      ? onReloadSignal(rt.signals, () => {
          logger.info('SIGHUP ignored: no scheduler here');
          return Promise.resolve();
        })
      : reconfigureOnSighup(rt.signals, {
          zk,
          paths: new ZkPaths(config.zookeeper.root),
          config,
          logger,
        });
  let control: DaemonControl | undefined;
  try {
    await daemon.start();
    const paths = new ZkPaths(config.zookeeper.root);
    control = await watchDaemonControl({ zk, paths, daemon, logger });
    await daemon.stopped;
  } finally {
    await control?.close();
    uninstallReload();
    uninstall();
    await zk.close();
  }
  logger.info({ failures: daemon.failures.length }, 'drawbridge exited');
  if (daemon.failures.length > 0) return EXIT.usage;
  return control?.drainRequest === undefined ? EXIT.ok : EXIT_DRAINED;
}

async function buildServices(
  kinds: readonly ServiceKind[],
  config: DaemonConfig,
  layout: LoadedLayout | undefined,
  version: string,
  zk: ZkClient,
  logger: Logger,
): Promise<NamedService[]> {
  const deps = { zk, paths: new ZkPaths(config.zookeeper.root), logger };
  const services: NamedService[] = [];
  // Started in this order: web last, so it is ready only once the others run.
  if (kinds.includes('executor'))
    services.push({ name: 'executor', service: await createExecutor(config, version, deps) });
  if (layout !== undefined)
    services.push({ name: 'scheduler', service: createScheduler(config, layout, version, deps) });
  if (kinds.includes('web'))
    services.push({
      name: 'web',
      service: createWebServer(config, version, {
        ...deps,
        sharesProcessWithScheduler: layout !== undefined,
      }),
    });
  return services;
}

function parseGrace(text: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0)
    throw new CliUsageError(`--grace takes a number of seconds, got "${text}"`, '--grace');
  return Math.round(seconds * 1000);
}
