/**
 * Control requests: how an operator (CLI, web, a rolling restart) asks one
 * running component to drain, pause or resume. The request is a JSON document
 * at <root>/admin/control/<component id>; the component's process watches its
 * own node and acts once per request id. The node is deleted by the process
 * as it exits, or by the requester once it has seen the request carried out.
 * Writes and deletes are versioned, and a pending drain is never replaced.
 */
import { randomUUID } from 'node:crypto';
import type { ZkClient } from '../zk/client.js';
import { decodeAt, jsonCodec } from '../zk/codec.js';
import { ZkBadVersionError, ZkNoNodeError, ZkNodeExistsError } from '../zk/errors.js';
import { OpsBusyError } from './errors.js';
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
  for (;;) {
    try {
      await zk.create(path, codec.encode(full));
      return full;
    } catch (e) {
      if (!(e instanceof ZkNodeExistsError)) throw e;
    }
    const pending = await readPending(zk, path);
    if (pending === null) continue;
    // A pending drain is never replaced: the process would miss it and another drain could pile up.
    if (pending.request?.action === 'drain')
      throw new OpsBusyError(
        null,
        `${componentId} has a drain pending already (${pending.request.id}); wait for it to exit`,
      );
    try {
      await zk.set(path, codec.encode(full), pending.version);
      return full;
    } catch (e) {
      // Someone wrote or deleted it since it was read: decide again on what is there now.
      if (!(e instanceof ZkBadVersionError) && !(e instanceof ZkNoNodeError)) throw e;
    }
  }
}

/** The request at `path` (null if unreadable) and its version; null if there is none. */
async function readPending(
  zk: ZkClient,
  path: string,
): Promise<{ request: ControlRequest | null; version: number } | null> {
  try {
    const { data, stat } = await zk.get(path);
    let request: ControlRequest | null = null;
    try {
      request = decodeAt(codec, path, data);
    } catch {
      // An unreadable request is not a drain: it may be replaced.
    }
    return { request, version: stat.version };
  } catch (e) {
    if (e instanceof ZkNoNodeError) return null;
    throw e;
  }
}

/** Whether a drain request is waiting at the component's node. */
export async function hasPendingDrain(
  zk: ZkClient,
  paths: ZkPaths,
  componentId: string,
): Promise<boolean> {
  const pending = await readPending(zk, paths.controlRequest(componentId));
  return pending?.request?.action === 'drain';
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

/**
 * Deletes a component's request node, if any. With `version` (the one of the
 * request handled) a newer request written since stays.
 */
export async function clearControlRequest(
  zk: ZkClient,
  paths: ZkPaths,
  componentId: string,
  version?: number,
): Promise<void> {
  await zk.delete(paths.controlRequest(componentId), version).catch((e: unknown) => {
    if (!(e instanceof ZkNoNodeError) && !(e instanceof ZkBadVersionError)) throw e;
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
  onRequest: (request: ControlRequest, version: number) => void | Promise<void>,
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
      await onRequest(request, snapshot.stat.version);
    },
    { onError },
  );
}
