/**
 * Claiming a build request: ONE transaction creates the request's lease (an
 * ephemeral node, `buildLock`) and moves the request REQUESTED → RUNNING by
 * compare-and-set. So a RUNNING request had its lease the moment it became
 * RUNNING, and a claim that lost a race leaves nothing behind. The lease is
 * held for the whole build: a scheduler that finds a RUNNING request without
 * it knows the build is lost.
 */
import { toError } from '../errors.js';
import { type BuildRequest, buildRequestCodec } from '../model/index.js';
import { commit, opBytes, type Stored, ZkDocument } from '../zk/document.js';
import {
  ZkBadVersionError,
  ZkConnectionLossError,
  ZkLease,
  ZkNodeExistsError,
  ZkNoNodeError,
  ZkSessionLostError,
  type ZkClient,
  type ZkLockLostError,
  type ZkPaths,
} from '../zk/index.js';

export interface Claim {
  /** The request as this executor wrote it (state running). */
  readonly request: BuildRequest;
  /** Its version and generation as written: the report writes over it without reading. */
  readonly stored: Stored<BuildRequest>;
  readonly lock: ZkLease;
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

/** One stale read costs one more: a request that changed under us is read again once. */
const ATTEMPTS = 2;
/** Reads after a claim's connection loss before the executor gives its lease back unused. */
const AFTER_LOSS_READS = 5;

export function requestDocument(
  client: ZkClient,
  paths: ZkPaths,
  requestId: string,
): ZkDocument<BuildRequest> {
  return new ZkDocument(client, paths.buildRequest(requestId), buildRequestCodec);
}

/** Why `current` cannot be claimed now, or null when it can. */
function unclaimable(current: Stored<BuildRequest> | null, o: ClaimOptions): string | null {
  if (!current) return 'request deleted';
  const r = current.value;
  if (r.state !== 'requested') return `request is ${r.state}`;
  if (r.cancelRequested) return 'cancel requested';
  if (!o.stillClaiming() || o.client.state !== 'connected') return 'stopped claiming';
  return null;
}

/** The lease and the compare-and-set write that claim `current`, for one transaction. */
async function prepareClaim(current: Stored<BuildRequest>, o: ClaimOptions) {
  const r = current.value;
  const running: BuildRequest = {
    ...r,
    state: 'running',
    executor: o.executorId,
    startedAt: o.now(),
  };
  const lock = new ZkLease(o.client, o.paths.buildLock(r.id), {
    data: Buffer.from(o.executorId),
    onLost: (e) => o.onLockLost(r.id, e),
  });
  const write = await requestDocument(o.client, o.paths, r.id).prepareWrite(running, current);
  const stored = { value: running, version: current.version + 1, header: write.header ?? null };
  return { claim: { request: running, stored, lock }, write, ops: [lock.takeOp(), write] };
}

/**
 * Tries to claim one request. `known` is the request as last read (a scan's
 * read): the claim then costs one round trip, and a stale one a read more.
 */
export async function tryClaim(
  requestId: string,
  o: ClaimOptions,
  known?: Stored<BuildRequest>,
): Promise<ClaimResult> {
  const doc = requestDocument(o.client, o.paths, requestId);
  try {
    let current = known ?? (await doc.readStored());
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const why = unclaimable(current, o);
      if (why !== null || !current) return { claimed: false, why: why ?? 'request deleted' };
      const { claim, ops } = await prepareClaim(current, o);
      const { lock, stored } = claim;
      const session = o.client.sessionId;
      try {
        await commit(o.client, ops);
        lock.taken(session);
        return { claimed: true, claim };
      } catch (e) {
        if (e instanceof ZkNodeExistsError)
          return { claimed: false, why: 'locked by another executor' };
        if (e instanceof ZkConnectionLossError) return await afterLoss(o, lock, stored, session);
        // Changed or deleted since it was read: read it again and decide.
        if (!(e instanceof ZkBadVersionError) && !(e instanceof ZkNoNodeError)) throw e;
      }
      current = await doc.readStored();
    }
    return { claimed: false, why: 'request kept changing' };
  } catch (e) {
    return { claimed: false, why: toError(e).message };
  }
}

/** Most requests one transaction claims; well below ZooKeeper's 1 MiB request limit. */
export const BATCH_CLAIMS = 32;
const BATCH_BYTES = 512 * 1024;

/**
 * Claims the requests as last read in ONE transaction, all or nothing: a
 * fan-out's requests claimed one transaction each reached ZooKeeper one after
 * the other (28 claims took 12 ms, and the first job could not start before
 * its claim's turn). Null when the transaction did not commit (another
 * executor took one, one changed, or they would not fit): the caller then
 * claims them one by one. After a connection loss, the claims the requests
 * show as ours (all or none, the transaction being atomic).
 */
export async function tryClaimBatch(
  known: readonly Stored<BuildRequest>[],
  o: ClaimOptions,
): Promise<Claim[] | null> {
  if (known.length === 0 || known.length > BATCH_CLAIMS) return null;
  if (known.some((k) => unclaimable(k, o) !== null)) return null;
  const settled = await Promise.allSettled(known.map((k) => prepareClaim(k, o)));
  const prepared = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const ops = prepared.flatMap((p) => p.ops);
  // Not sent: what preparing a write stored aside (a large value's shards) goes.
  if (prepared.length < known.length || opBytes(ops) > BATCH_BYTES) {
    await Promise.all(prepared.map((p) => p.write.aborted().catch(() => undefined)));
    return null;
  }
  const session = o.client.sessionId;
  try {
    await commit(o.client, ops);
  } catch (e) {
    if (!(e instanceof ZkConnectionLossError)) return null;
    const after = await Promise.all(
      prepared.map((p) => afterLoss(o, p.claim.lock, p.claim.stored, session)),
    );
    return after.flatMap((r) => (r.claimed ? [r.claim] : []));
  }
  for (const p of prepared) p.claim.lock.taken(session);
  return prepared.map((p) => p.claim);
}

/**
 * The connection dropped with the transaction's outcome unknown. Committed
 * and the session alive: the claim is ours. Anything else: not claimed, and
 * a lease of ours that might exist is given back, so a request left RUNNING
 * is seen as lost and retried rather than held by nobody forever.
 */
async function afterLoss(
  o: ClaimOptions,
  lock: ZkLease,
  stored: Stored<BuildRequest>,
  session: string | undefined,
): Promise<ClaimResult> {
  const why = 'connection lost while claiming';
  const doc = requestDocument(o.client, o.paths, stored.value.id);
  // Read until decided: giving up while the session lives could leave our
  // lease on a RUNNING request that no build runs and no sweep sees as lost.
  for (let read = 1; read <= AFTER_LOSS_READS; read++) {
    try {
      await o.client.waitConnected({ timeoutMs: o.client.sessionTimeoutMs * 2 });
      // Another session: a lease we took went with the old one; the sweep retries the request.
      if (o.client.sessionId !== session) return { claimed: false, why };
      const now = await doc.readStored();
      const ours =
        now?.value.state === 'running' &&
        now.value.executor === stored.value.executor &&
        now.value.startedAt === stored.value.startedAt;
      // Not committed: the transaction took no lease either.
      if (!ours) return { claimed: false, why };
      lock.taken(session);
      if (o.stillClaiming())
        return { claimed: true, claim: { request: now.value, stored: now, lock } };
      break;
    } catch (e) {
      if (e instanceof ZkSessionLostError) return { claimed: false, why };
      if (!(e instanceof ZkConnectionLossError)) break;
    }
  }
  // Undecided, or decided against running it: a lease of ours, if any, goes,
  // so a request left RUNNING is seen as lost and retried.
  if (lock.state === 'idle') lock.taken(session);
  await lock.release().catch(() => undefined);
  return { claimed: false, why };
}
