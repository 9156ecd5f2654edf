/**
 * What the CLI and web need to act on one component: every registered
 * component, and a control request sent only when it makes sense (the
 * component exists, can take the action, and is not the last running
 * scheduler asked to drain).
 */
import type { ZkClient } from '../zk/client.js';
import { COMPONENT_KINDS, type ZkPaths } from '../zk/paths.js';
import { listComponents, type RegisteredComponent } from '../zk/registry.js';
import { sendControlRequest, type ControlAction, type ControlRequest } from './control.js';
import { OpsLastComponentError, OpsUnknownComponentError } from './errors.js';

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
    const others = all.filter(
      (c) => c.kind === 'scheduler' && c.state === 'running' && c.id !== componentId,
    );
    if (others.length === 0)
      throw new OpsLastComponentError(
        'scheduler',
        componentId,
        'no other scheduler is running; start one first',
      );
  }
  const request = await sendControlRequest(zk, paths, componentId, { action, requestedBy });
  return { request, component };
}

/** Whether the component (undefined: no longer registered) shows the action carried out. */
export function actionCarriedOut(
  action: ControlAction,
  now: RegisteredComponent | undefined,
): boolean {
  if (action === 'drain') return now === undefined;
  return now?.state === (action === 'pause' ? 'paused' : 'running');
}
