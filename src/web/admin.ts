/**
 * What the admin routes ask of the rest of Drawbridge, as a port: web
 * stays free of scheduler code, and an action nobody has wired yet
 * (an optional method left out) is answered with 501 by its route.
 * `zkAdminActions` implements the pipeline actions as management events.
 */
import { randomUUID } from 'node:crypto';
import { managementEventCodec, type ManagementEvent } from '../model/index.js';
import { ZkEventQueue, type ZkClient, type ZkPaths } from '../zk/index.js';

export interface Requester {
  /** For people: `rest (token ci-bot)`. */
  readonly by: string;
}

export interface Accepted {
  /** The id of the event or operation the request became. */
  readonly id: string;
}

export type ExecutorAction = 'pause' | 'resume' | 'drain';

export interface Operation {
  readonly id: string;
  readonly kind: string;
  readonly state: string;
  /** Free-form progress the implementation reports (step, component, counts). */
  readonly detail?: Record<string, unknown>;
}

export interface AdminActions {
  enqueue(req: Requester & { pipeline: string; ref: string; commit: string }): Promise<Accepted>;
  dequeue(req: Requester & { pipeline: string; buildsetId: string }): Promise<Accepted>;
  promote(req: Requester & { pipeline: string; buildsetId: string }): Promise<Accepted>;
  reconfigure?(req: Requester): Promise<Operation>;
  rollingRestart?(req: Requester): Promise<Operation>;
  /** Undefined when there is no operation with this id. */
  operation?(id: string): Promise<Operation | undefined>;
  executor?(req: Requester & { executorId: string; action: ExecutorAction }): Promise<Accepted>;
}

/** The pipeline actions, as events on the pipeline's management queue (what the CLI puts). */
export function zkAdminActions(zk: ZkClient, paths: ZkPaths): AdminActions {
  const put = async (
    pipeline: string,
    event: (who: { id: string; requestedBy: string; requestedAt: number }) => ManagementEvent,
    by: string,
  ): Promise<Accepted> => {
    const id = `rest-${randomUUID()}`;
    const queue = new ZkEventQueue(
      zk,
      paths.pipelineManagementEvents(pipeline),
      managementEventCodec,
    );
    await queue.put(event({ id, requestedBy: by, requestedAt: Date.now() }));
    return { id };
  };
  return {
    enqueue: ({ pipeline, ref, commit, by }) =>
      put(pipeline, (who) => ({ type: 'enqueue', pipeline, ref, commit, ...who }), by),
    dequeue: ({ pipeline, buildsetId, by }) =>
      put(pipeline, (who) => ({ type: 'dequeue', pipeline, buildsetId, ...who }), by),
    promote: ({ pipeline, buildsetId, by }) =>
      put(pipeline, (who) => ({ type: 'promote', pipeline, buildsetId, ...who }), by),
  };
}
