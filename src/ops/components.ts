/**
 * What the CLI and web need to act on one component: every registered
 * component, and a control request sent only when it makes sense (the
 * component exists, can take the action, and is not the last running
 * scheduler asked to drain).
 */
import type { ZkClient } from '../zk/client.js';
import { COMPONENT_KINDS, type ZkPaths } from '../zk/paths.js';
import { ZkMutex } from '../zk/lock.js';
import { listComponents, type RegisteredComponent } from '../zk/registry.js';
import { sendControlRequest, type ControlAction, type ControlRequest } from './control.js';
import { OpsBusyError, OpsLastComponentError, OpsUnknownComponentError } from './errors.js';
import { rollingRestartLock } from './rolling-restart-record.js';
import { busyError, runningWithoutDrain } from './rolling-restart.js';

/** Every registered scheduler, executor and web, by kind then id. */
export async function listAllComponents(
  zk: ZkClient,
  paths: ZkPaths,
): Promise<RegisteredComponent[]> {
  const lists = await Promise.all(
    COMPONENT_KINDS.map((k) => listComponents(zk, paths.components(k))),
  );
  return lists.flat();
}

/**
 * Validates and sends a control request. Only executors pause and resume;
 * schedulers and executors drain; the last running scheduler is never drained.
 */
export async function requestComponentAction(
  zk: ZkClient,
  paths: ZkPaths,
  componentId: string,
  action: ControlAction,
  requestedBy: string,
): Promise<{ request: ControlRequest; component: RegisteredComponent }> {
  const all = await listAllComponents(zk, paths);
  const component = all.find((c) => c.id === componentId);
  if (component === undefined)
    throw new OpsUnknownComponentError(componentId, 'no such component is registered');
  const can = action === 'drain' ? ['scheduler', 'executor'] : ['executor'];
  if (!can.includes(component.kind))
    throw new OpsUnknownComponentError(
      componentId,
      `a ${component.kind} cannot ${action} (only ${can.join(' and ')}s can)`,
    );
  if (action === 'drain' && component.kind === 'scheduler') {
    const request = await drainScheduler(zk, paths, componentId, requestedBy);
    return { request, component };
  }
  const request = await sendControlRequest(zk, paths, componentId, { action, requestedBy });
  return { request, component };
}

/**
 * Decides and sends a scheduler drain under the operation lock, so that two
 * drains (or a drain and a rolling restart) cannot both stop the last one.
 */
async function drainScheduler(
  zk: ZkClient,
  paths: ZkPaths,
  componentId: string,
  requestedBy: string,
): Promise<ControlRequest> {
  await Promise.all([zk.mkdirp(rollingRestartLock(paths)), zk.mkdirp(paths.controlRequests())]);
  const lock = new ZkMutex(zk, rollingRestartLock(paths), {
    data: Buffer.from(`drain ${componentId} (${requestedBy})`),
  });
  if (!(await lock.tryAcquire())) throw await busyError(zk, paths);
  try {
    const schedulers = await listComponents(zk, paths.components('scheduler'));
    const others = (await runningWithoutDrain(zk, paths, schedulers)).filter(
      (c) => c.id !== componentId,
    );
    if (others.length === 0)
      throw new OpsLastComponentError(
        'scheduler',
        componentId,
        'no other scheduler is running without a drain pending; start one first',
      );
    if (!(await lock.isStillValid()))
      throw new OpsBusyError(null, `lost ${rollingRestartLock(paths)} before draining; try again`);
    return await sendControlRequest(zk, paths, componentId, { action: 'drain', requestedBy });
  } finally {
    await lock.release().catch(() => undefined);
  }
}

/** Whether the component (undefined: no longer registered) shows the action carried out. */
export function actionCarriedOut(
  action: ControlAction,
  now: RegisteredComponent | undefined,
): boolean {
  if (action === 'drain') return now === undefined;
  return now?.state === (action === 'pause' ? 'paused' : 'running');
}
