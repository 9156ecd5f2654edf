/**
 * The daemon side of control requests (src/ops/control.ts): each service of
 * the process that is registered in ZooKeeper (scheduler, executor) has its
 * request node watched. `drain` drains the whole process, which then exits
 * with EXIT_DRAINED so that a supervisor starts it again; `pause` and
 * `resume` go to the service if it has them (the executor does). A process
 * with a scheduler also sweeps the requests of dead components (src/ops/control-sweep.ts).
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { toError } from '../errors.js';
import {
  clearControlRequest,
  CONTROL_SWEEP_DEFAULTS,
  startControlSweep,
  watchControlRequests,
  type ControlRequest,
  type ControlSweep,
} from '../ops/index.js';
import { listComponents, type ZkClient, type ZkPaths } from '../zk/index.js';
import type { Daemon } from './daemon-lifecycle.js';

/** Exit code of a process that drained because a control request asked it to: restart me. */
export const EXIT_DRAINED = 3;

interface Controllable {
  pause?: () => Promise<void>;
  resume?: () => Promise<void>;
}

export interface DaemonControl {
  /** The id of the drain request the process obeyed, if one did. */
  readonly drainRequest: string | undefined;
  /** Stops watching and deletes this process's request nodes. */
  close(): Promise<void>;
}

/**
 * Watches the request node of every component this process registered. They
 * are found in the registry by host and pid, since a service may be wrapped
 * (the scheduler is, by its history store) and not show its id.
 */
export async function watchDaemonControl(deps: {
  zk: ZkClient;
  paths: ZkPaths;
  daemon: Daemon;
  logger: Logger;
}): Promise<DaemonControl> {
  const { zk, paths, daemon } = deps;
  const log = deps.logger.child({ component: 'daemon' });
  let drainRequest: string | undefined;
  const listed = await Promise.all(
    (['scheduler', 'executor'] as const).map((k) => listComponents(zk, paths.components(k))),
  ).catch((e: unknown) => {
    log.warn({ err: toError(e) }, 'cannot list components: control requests are not watched');
    return [];
  });
  const mine = listed.flat().filter((c) => c.pid === process.pid && c.hostname === hostname());
  const ids = mine.map((c) => c.id);
  const stops: (() => void)[] = [];
  for (const { id, kind } of mine) {
    const named = daemon.services.find((s) => s.name === kind);
    const target = named?.service as Controllable | undefined;
    const act = async (request: ControlRequest, version: number): Promise<void> => {
      const fields = { service: kind, request: request.id, by: request.requestedBy };
      if (request.action === 'drain') {
        log.info(fields, 'drain requested through ZooKeeper: draining, then exiting for a restart');
        drainRequest ??= request.id;
        void daemon.drain();
        return;
      }
      const method = target?.[request.action];
      if (typeof method !== 'function') {
        log.warn({ ...fields, action: request.action }, 'control request not supported here');
      } else {
        log.info({ ...fields, action: request.action }, 'control request');
        await method.call(target).catch((e: unknown) => {
          log.warn({ ...fields, err: toError(e) }, 'control request failed');
        });
      }
      // Only the request handled: a newer one written meanwhile stays for the next call.
      await clearControlRequest(zk, paths, id, version);
    };
    stops.push(
      watchControlRequests(zk, paths, id, act, (err) =>
        log.warn({ err, service: kind }, 'cannot read a control request'),
      ),
    );
  }
  const sweep: ControlSweep | undefined = mine.some((c) => c.kind === 'scheduler')
    ? startControlSweep(zk, paths, {
        ...CONTROL_SWEEP_DEFAULTS,
        onSwept: (swept) =>
          log.info({ swept }, 'deleted control requests of components no longer registered'),
        onError: (err) => log.warn({ err }, 'cannot sweep control requests; will retry'),
      })
    : undefined;
  return {
    get drainRequest() {
      return drainRequest;
    },
    async close() {
      for (const stop of stops) stop();
      await sweep?.stop();
      if (zk.state !== 'connected') return;
      await Promise.all(ids.map((id) => clearControlRequest(zk, paths, id))).catch((e: unknown) =>
        log.warn({ err: toError(e) }, 'cannot remove control requests'),
      );
    },
  };
}
