/**
 * Control requests: how an operator (CLI, web, a rolling restart) asks one
 * running component to drain, pause or resume. The request is a JSON document
 * at <root>/admin/control/<component id>; the component's process watches its
 * own node and acts once per request id. The node is deleted by the process
 * as it exits, or by the requester once it has seen the request carried out.
 */
import { randomUUID } from 'node:crypto';
import type { ZkClient } from '../zk/client.js';
import { decodeAt, jsonCodec } from '../zk/codec.js';
import { ZkNoNodeError, ZkNodeExistsError } from '../zk/errors.js';
import type { ZkPaths } from '../zk/paths.js';
import { type StopWatch, watchData } from '../zk/watch.js';

export const CONTROL_ACTIONS = ['drain', 'pause', 'resume'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

export interface ControlRequest {
  readonly action: ControlAction;
  /** Unique per request; a rolling restart uses `<operation id>/<step>`. */
  readonly id: string;
  readonly requestedBy: string;
  /** ISO 8601. */
  readonly requestedAt: string;
}

export function parseControlRequest(value: unknown): ControlRequest {
  const r = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const ok =
    typeof r.action === 'string' &&
    (CONTROL_ACTIONS as readonly string[]).includes(r.action) &&
    typeof r.id === 'string' &&
    typeof r.requestedBy === 'string' &&
    typeof r.requestedAt === 'string';
  if (!ok) throw new TypeError('not a control request');
  return r as unknown as ControlRequest;
}

const codec = jsonCodec<ControlRequest>(parseControlRequest);

/** Writes (or replaces) the request for one component; returns what was written. */
export async function sendControlRequest(
  zk: ZkClient,
  paths: ZkPaths,
  componentId: string,
  request: { action: ControlAction; requestedBy: string; id?: string },
): Promise<ControlRequest> {
  const full: ControlRequest = {
    action: request.action,
    id: request.id ?? randomUUID(),
    requestedBy: request.requestedBy,
    requestedAt: new Date().toISOString(),
  };
  const path = paths.controlRequest(componentId);
  await zk.mkdirp(paths.controlRequests());
  try {
    await zk.create(path, codec.encode(full));
  } catch (e) {
    if (!(e instanceof ZkNodeExistsError)) throw e;
    await zk.set(path, codec.encode(full));
  }
  return full;
}

/** The pending request for a component, or null. */
export async function readControlRequest(
  zk: ZkClient,
  paths: ZkPaths,
  componentId: string,
): Promise<ControlRequest | null> {
  const path = paths.controlRequest(componentId);
  try {
    return decodeAt(codec, path, (await zk.get(path)).data);
  } catch (e) {
    if (e instanceof ZkNoNodeError) return null;
    throw e;
  }
}

/** Deletes a component's request node, if any. */
export async function clearControlRequest(
  zk: ZkClient,
  paths: ZkPaths,
  componentId: string,
): Promise<void> {
  await zk.delete(paths.controlRequest(componentId)).catch((e: unknown) => {
    if (!(e instanceof ZkNoNodeError)) throw e;
  });
}

/**
 * Calls `onRequest` once for each new request addressed to `componentId`,
 * including one already waiting when the watch starts. Never throws into
 * ZooKeeper: errors (an unreadable request, say) go to `onError`.
 */
export function watchControlRequests(
  zk: ZkClient,
  paths: ZkPaths,
  componentId: string,
  onRequest: (request: ControlRequest) => void | Promise<void>,
  onError: (err: Error) => void,
): StopWatch {
  const path = paths.controlRequest(componentId);
  const seen = new Set<string>();
  return watchData(
    zk,
    path,
    async (snapshot) => {
      if (snapshot === null) return;
      const request = decodeAt(codec, path, snapshot.data);
      if (seen.has(request.id)) return;
      seen.add(request.id);
      await onRequest(request);
    },
    { onError },
  );
}
