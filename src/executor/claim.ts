/**
 * Claiming a build request: take its lock without waiting, re-read it, and
 * move it REQUESTED → RUNNING by compare-and-set. The lock is then held for
 * the whole build: a scheduler that finds a RUNNING request without a lock
 * holder knows the build is lost.
 */
import { toError } from '../errors.js';
import { type BuildRequest, buildRequestCodec } from '../model/index.js';
import { ZkDocument } from '../zk/document.js';
import {
  ZkMutex,
  ZkNodeExistsError,
  ZkNoNodeError,
  type ZkClient,
  type ZkLockLostError,
  type ZkPaths,
} from '../zk/index.js';

export interface Claim {
  /** The request as this executor wrote it (state running). */
  readonly request: BuildRequest;
  readonly lock: ZkMutex;
}

export interface ClaimOptions {
  readonly client: ZkClient;
  readonly paths: ZkPaths;
  readonly executorId: string;
  readonly now: () => number;
  /** Asked again just before the write: false when the executor stopped claiming meanwhile. */
  readonly stillClaiming: () => boolean;
  readonly onLockLost: (requestId: string, error: ZkLockLostError) => void;
}

export type ClaimResult =
  | { readonly claimed: true; readonly claim: Claim }
  | { readonly claimed: false; readonly why: string };

export function requestDocument(
  client: ZkClient,
  paths: ZkPaths,
  requestId: string,
): ZkDocument<BuildRequest> {
  return new ZkDocument(client, paths.buildRequest(requestId), buildRequestCodec);
}

/** Tries to claim one request; on any failure the lock is released and the reason returned. */
export async function tryClaim(requestId: string, o: ClaimOptions): Promise<ClaimResult> {
  const lock = new ZkMutex(o.client, o.paths.buildLock(requestId), {
    data: Buffer.from(o.executorId),
    onLost: (e) => o.onLockLost(requestId, e),
  });
  let acquired = false;
  try {
    await lockDirectory(o.client, o.paths.buildLock(requestId));
    acquired = await lock.tryAcquire();
    if (!acquired) return { claimed: false, why: 'locked by another executor' };
    const doc = requestDocument(o.client, o.paths, requestId);
    const current = await doc.read();
    if (!current) return await giveUp(lock, 'request deleted');
    const r = current.value;
    if (r.state !== 'requested') return await giveUp(lock, `request is ${r.state}`);
    if (r.cancelRequested) return await giveUp(lock, 'cancel requested');
    if (!o.stillClaiming() || !lock.isHeld()) return await giveUp(lock, 'stopped claiming');
    const running: BuildRequest = {
      ...r,
      state: 'running',
      executor: o.executorId,
      startedAt: o.now(),
    };
    await doc.write(running, current.version);
    return { claimed: true, claim: { request: running, lock } };
  } catch (e) {
    if (acquired) await lock.release().catch(() => undefined);
    return { claimed: false, why: toError(e).message };
  }
}

/**
 * Creates the lock's directory in one step. Left to the mutex, a new request's
 * lock costs a failed create and a mkdirp over every ancestor: each failed
 * create is a transaction ZooKeeper logs and syncs, 6 in all where 2 suffice.
 */
async function lockDirectory(client: ZkClient, path: string): Promise<void> {
  await client.create(path, Buffer.alloc(0), { mode: 'persistent' }).catch((e: unknown) => {
    // Exists: claimed before, or raced. No parent: the mutex's own mkdirp sees to it.
    if (!(e instanceof ZkNodeExistsError) && !(e instanceof ZkNoNodeError)) throw e;
  });
}

async function giveUp(lock: ZkMutex, why: string): Promise<ClaimResult> {
  await lock.release();
  return { claimed: false, why };
}
