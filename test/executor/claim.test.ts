/**
 * The claim and report transactions against a real ZooKeeper: a claim takes
 * the build's lease in the same transaction that makes the request RUNNING,
 * a report gives it back in the one that completes it, and a lost lease is
 * completed LOST by a scheduler's sweep.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import {
  BATCH_CLAIMS,
  tryClaim,
  tryClaimBatch,
  type ClaimOptions,
  type Claim,
} from '../../src/executor/claim.js';
import { Reporter } from '../../src/executor/report.js';
import {
  buildCompletedEventCodec,
  buildRequestCodec,
  type BuildOutcome,
  type BuildRequest,
} from '../../src/model/index.js';
import { LostBuildDetector } from '../../src/scheduler/runtime/lost-builds.js';
import { ZkDocument } from '../../src/zk/document.js';
import type { ZkLease } from '../../src/zk/lease.js';
import { ZkConnectionLossError } from '../../src/zk/errors.js';
import { ZkPaths } from '../../src/zk/paths.js';
import { ZkEventQueue } from '../../src/zk/queue.js';
import type { ZooKeeperClient } from '../../src/zk/zk-client.js';
import { newChroot, type TestChroot } from '../fixtures/zookeeper.js';
import { request as buildRequest } from './support.js';
import { closeAll, connect, expireSession, waitFor } from '../zk/recipe-helpers.js';

const paths = new ZkPaths('/drawbridge');
const request = (over: Partial<BuildRequest> = {}): BuildRequest =>
  buildRequest({ sha: 'a'.repeat(40) }, over);

const outcome = (result: BuildOutcome['result'] = 'SUCCESS'): BuildOutcome => ({
  result,
  retryable: false,
  reason: 'exit status 0',
  startedAt: Date.now(),
  endedAt: Date.now(),
  exitCode: 0,
  logPath: null,
});

describe('claim and report transactions', () => {
  let chroot: TestChroot;
  let zk: ZooKeeperClient;
  /** Requests whose lease the executor would have been told it lost. */
  const lost: string[] = [];
  const doc = (id: string) => new ZkDocument(zk, paths.buildRequest(id), buildRequestCodec);
  const results = () =>
    new ZkEventQueue(zk, paths.pipelineResultEvents('deploy'), buildCompletedEventCodec);
  const options = (client: ZooKeeperClient, executorId = 'exec-1'): ClaimOptions => ({
    client,
    paths,
    executorId,
    now: Date.now,
    stillClaiming: () => true,
    onLockLost: (id) => lost.push(id),
  });
  const put = async (r: BuildRequest) => (await doc(r.id).create(r), r);
  /** Each request still unleased and `requested` after a batch that did not commit; then deleted. */
  const leftAloneThenRemoved = async (rs: readonly BuildRequest[]) => {
    for (const r of rs) {
      expect(await zk.exists(paths.buildLock(r.id))).toBeNull();
      expect((await doc(r.id).read())?.value.state).toBe('requested');
      await doc(r.id).delete();
    }
  };
  const claimed = async (id: string, client = zk): Promise<Claim> => {
    const result = await tryClaim(id, options(client));
    if (!result.claimed) throw new Error(`not claimed: ${result.why}`);
    return result.claim;
  };

  beforeAll(async () => {
    chroot = await newChroot('claim');
    zk = await connect(chroot.connectString);
    await zk.mkdirp(paths.buildRequests());
    await zk.mkdirp(paths.buildLocks());
  });
  afterAll(async () => {
    try {
      expect(await zk.children(paths.buildLocks())).toEqual([]);
    } finally {
      await closeAll();
    }
  });

  it('takes the lease and makes the request RUNNING in one transaction', async () => {
    const r = await put(request());
    const claim = await claimed(r.id);
    const lease = await zk.exists(paths.buildLock(r.id));
    expect(lease?.ephemeralOwner).toBe(zk.sessionId);
    expect((await doc(r.id).read())?.value).toMatchObject({ state: 'running', executor: 'exec-1' });
    // The report writes over the version the claim wrote: no read in between.
    expect(claim.stored.version).toBe(1);
    const reported = await new Reporter(zk, paths).report(claim, outcome());
    expect(reported.reported).toBe(true);
    expect(await zk.exists(paths.buildLock(r.id))).toBeNull();
    expect((await doc(r.id).read())?.value.state).toBe('completed');
    const events = await results().read();
    expect(events.map((e) => e.value.requestId)).toEqual([r.id]);
    expect(claim.lock.state).toBe('returned');
    // Deleted by our own report: not a loss (the build would be aborted for nothing).
    expect(lost).toEqual([]);
    await zk.deleteRecursive(paths.pipelineResultEvents('deploy'));
    await doc(r.id).delete();
  });

  it('keeps a claim that committed though the connection dropped twice before it was read back', async () => {
    const r = await put(request());
    // The claim's transaction commits, then its answer and the first read back are lost.
    let failTransaction = true;
    let failReads = 1;
    const flaky = new Proxy(zk, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        const fn = (value as (...a: unknown[]) => Promise<unknown>).bind(target);
        if (prop === 'transaction')
          return async (...a: unknown[]) => {
            const created = await fn(...a);
            if (!failTransaction) return created;
            failTransaction = false;
            throw new ZkConnectionLossError(paths.buildLock(r.id));
          };
        if (prop === 'get')
          return async (...a: unknown[]) => {
            if (!failTransaction && failReads-- > 0) throw new ZkConnectionLossError(String(a[0]));
            return fn(...a);
          };
        return fn;
      },
    });
    const result = await tryClaim(r.id, options(flaky));
    expect(result.claimed).toBe(true);
    expect(failReads).toBeLessThan(0);
    const lease = await zk.exists(paths.buildLock(r.id));
    expect(lease?.ephemeralOwner).toBe(zk.sessionId);
    if (!result.claimed) return;
    expect((await new Reporter(zk, paths).report(result.claim, outcome())).reported).toBe(true);
    expect(await zk.exists(paths.buildLock(r.id))).toBeNull();
    await zk.deleteRecursive(paths.pipelineResultEvents('deploy'));
    await doc(r.id).delete();
  });

  it('leaves no lease behind when the request was cancelled between read and claim', async () => {
    const r = await put(request());
    const known = await doc(r.id).readStored();
    // A scheduler cancels the unclaimed request: it deletes it.
    await doc(r.id).delete(0);
    const result = await tryClaim(r.id, options(zk), known!);
    expect(result).toEqual({ claimed: false, why: 'request deleted' });
    expect(await zk.exists(paths.buildLock(r.id))).toBeNull();
  });

  it('reads a stale request again and claims nothing a cancel reached first', async () => {
    const r = await put(request());
    const known = await doc(r.id).readStored();
    await doc(r.id).write({ ...r, cancelRequested: true }, 0);
    const result = await tryClaim(r.id, options(zk), known!);
    expect(result).toEqual({ claimed: false, why: 'cancel requested' });
    expect(await zk.exists(paths.buildLock(r.id))).toBeNull();
    expect((await doc(r.id).read())?.value.state).toBe('requested');
    await doc(r.id).delete();
  });

  it('claims nothing whose lease another executor holds, and leaves the request alone', async () => {
    const r = await put(request());
    const other = await connect(chroot.connectString);
    await other.create(paths.buildLock(r.id), Buffer.from('exec-2'), { mode: 'ephemeral' });
    const result = await tryClaim(r.id, options(zk));
    expect(result).toEqual({ claimed: false, why: 'locked by another executor' });
    expect(await doc(r.id).read()).toMatchObject({ version: 0, value: { state: 'requested' } });
    await other.close();
    await doc(r.id).delete();
  });

  it('claims a batch in one transaction: every lease taken, every request RUNNING', async () => {
    const rs = await Promise.all([request(), request(), request()].map(put));
    const known = await Promise.all(rs.map((r) => doc(r.id).readStored()));
    const claims = await tryClaimBatch(
      known.map((k) => k!),
      options(zk),
    );
    expect(claims?.map((c) => c.request.id)).toEqual(rs.map((r) => r.id));
    for (const c of claims ?? []) {
      expect((await zk.exists(paths.buildLock(c.request.id)))?.ephemeralOwner).toBe(zk.sessionId);
      expect((await doc(c.request.id).read())?.value).toMatchObject({ state: 'running' });
      expect(c.lock.state).toBe('held');
      expect((await new Reporter(zk, paths).report(c, outcome())).reported).toBe(true);
    }
    await zk.deleteRecursive(paths.pipelineResultEvents('deploy'));
    for (const r of rs) await doc(r.id).delete();
  });

  it('claims nothing of a batch when one request is taken or changed, and leaves all alone', async () => {
    const rs = await Promise.all([request(), request(), request()].map(put));
    const known = (await Promise.all(rs.map((r) => doc(r.id).readStored()))).map((k) => k!);
    const other = await connect(chroot.connectString);
    await other.create(paths.buildLock(rs[1]!.id), Buffer.from('exec-2'), { mode: 'ephemeral' });
    expect(await tryClaimBatch(known, options(zk))).toBeNull();
    await other.close();
    // Another writer (a scheduler's cancel) since the read: the versions no longer match.
    await doc(rs[2]!.id).write({ ...rs[2]!, cancelRequested: true }, 0);
    expect(await tryClaimBatch(known, options(zk))).toBeNull();
    await leftAloneThenRemoved(rs);
  });

  it('does not try a batch it could not claim as read, nor one over the count or byte limit', async () => {
    const r = await put(request({ cancelRequested: true }));
    const known = await doc(r.id).readStored();
    expect(await tryClaimBatch([known!], options(zk))).toBeNull();
    expect(await tryClaimBatch([], options(zk))).toBeNull();
    const many = Array.from({ length: BATCH_CLAIMS + 1 }, () => known!);
    expect(await tryClaimBatch(many, options(zk))).toBeNull();
    expect(await zk.exists(paths.buildLock(r.id))).toBeNull();
    await doc(r.id).delete();
    // Two requests of 300 kB each: over the batch's 512 kB, each fits a transaction alone.
    const big = await Promise.all(
      [request(), request()].map((x) => put({ ...x, vars: { blob: 'x'.repeat(300_000) } })),
    );
    const bigKnown = (await Promise.all(big.map((b) => doc(b.id).readStored()))).map((k) => k!);
    expect(await tryClaimBatch(bigKnown, options(zk))).toBeNull();
    await leftAloneThenRemoved(big);
  });

  it('does not complete a build whose lease was deleted', async () => {
    const r = await put(request());
    const claim = await claimed(r.id);
    await zk.delete(paths.buildLock(r.id));
    await waitFor(() => claim.lock.signal?.aborted === true, 'the lease to be seen lost');
    const reported = await new Reporter(zk, paths).report(claim, outcome());
    expect(reported).toEqual({ reported: false, why: 'build lock lost' });
    expect((await doc(r.id).read())?.value.state).toBe('running');
    expect(await results().ids()).toEqual([]);
    await doc(r.id).delete();
  });

  it('is refused by the transaction itself when the lease vanished unseen', async () => {
    const r = await put(request());
    const claim = await claimed(r.id);
    // A reporter whose lease never heard of the loss: only the transaction can refuse.
    const unaware = {
      path: claim.lock.path,
      signal: new AbortController().signal,
      returnOp: () => claim.lock.returnOp(),
      returned: () => undefined,
    } as unknown as ZkLease;
    await zk.delete(paths.buildLock(r.id));
    const reported = await new Reporter(zk, paths).report({ ...claim, lock: unaware }, outcome());
    expect(reported).toEqual({ reported: false, why: 'build lock lost' });
    expect((await doc(r.id).read())?.value.state).toBe('running');
    expect(await results().ids()).toEqual([]);
    await doc(r.id).delete();
  });

  it('finds the build lost when the executor’s session dies, and completes it LOST once', async () => {
    const r = await put(request());
    const executorZk = await connect(chroot.connectString, 2_000);
    const claim = await claimed(r.id, executorZk);
    await expireSession(executorZk, chroot.serverConnectString);
    await waitFor(() => claim.lock.signal?.aborted === true, 'the lease to be seen lost');
    await waitFor(
      async () => (await zk.exists(paths.buildLock(r.id))) === null,
      'the lease to go with the session',
    );
    const log = pino({ level: 'silent' });
    const sweeps = [1, 2].map(() => new LostBuildDetector(zk, paths, log, Date.now));
    expect(await sweeps[0]!.sweep()).toEqual([r.id]);
    expect(await sweeps[1]!.sweep()).toEqual([]);
    const done = (await doc(r.id).read())?.value;
    expect(done).toMatchObject({
      state: 'completed',
      outcome: { result: 'LOST', retryable: true },
    });
    const events = await results().read();
    expect(events.map((e) => [e.value.requestId, e.value.outcome.result])).toEqual([
      [r.id, 'LOST'],
    ]);
    // The executor's late report changes nothing.
    expect((await new Reporter(executorZk, paths).report(claim, outcome())).reported).toBe(false);
    await zk.deleteRecursive(paths.pipelineResultEvents('deploy'));
    await doc(r.id).delete();
  });
});
