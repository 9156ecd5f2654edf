/**
 * Performing what the core asked for. Requests are created in the very
 * transaction that stores the state asking for them, as far as they fit
 * (`prepareCreates`); the rest, and every other action, after the state is
 * stored. Every action is idempotent: requests are created if absent, a
 * cancel on a request nobody claimed deletes it (compare-and-set against a
 * claim in flight), semaphores are released by holder id.
 */
import type { Logger } from 'pino';
import { buildRequestCodec, type BuildRequest } from '../../model/index.js';
import type { ZkClient } from '../../zk/client.js';
import type { TxOp } from '../../zk/client.js';
import { commit, opBytes, type PreparedOps, ZkDocument } from '../../zk/document.js';
import { ZkBadVersionError, ZkNoNodeError, ZkNodeExistsError } from '../../zk/errors.js';
import type { ZkPaths } from '../../zk/paths.js';
import { releaseAll } from '../../zk/semaphore.js';
import { unlessMissing } from '../../zk/shard.js';
import type { BuildsetAction } from '../index.js';

const ATTEMPTS = 10;
/** Requests created at once; bounds the burst a 500-job fan-out sends ZooKeeper. */
const CREATE_CONCURRENCY = 32;
/** The actions that create a build request, and their requests. */
export function requestsOf(actions: readonly BuildsetAction[]): BuildRequest[] {
  return actions.flatMap((a) =>
    a.type === 'request-checkout' || a.type === 'request-build' ? [a.request] : [],
  );
}

export class ActionPerformer {
  constructor(
    private readonly zk: ZkClient,
    private readonly paths: ZkPaths,
    private readonly log: Logger,
  ) {}

  requestDoc(id: string): ZkDocument<BuildRequest> {
    return new ZkDocument(this.zk, this.paths.buildRequest(id), buildRequestCodec);
  }

  async readRequest(id: string): Promise<BuildRequest | null> {
    return (await this.requestDoc(id).read())?.value ?? null;
  }

  /**
   * Creates for the state's own transaction, in order, as long as their ops
   * fit in `budget` bytes; the ids of those it covers go into `covered`.
   */
  async prepareCreates(
    requests: readonly BuildRequest[],
    covered: Set<string>,
    budget: number,
  ): Promise<PreparedOps[]> {
    const out: PreparedOps[] = [];
    let left = budget;
    for (const r of requests) {
      const prepared = await this.requestDoc(r.id).prepareCreate(r);
      const size = opBytes(prepared.ops);
      if (size > left) {
        await prepared.aborted();
        break;
      }
      left -= size;
      out.push(prepared);
      covered.add(r.id);
    }
    return out;
  }

  /** Deletes of finished requests, for the transaction that applies their results. */
  forgetOps(ids: readonly string[]): TxOp[] {
    // A completed request is written by nobody any more: no version to compare.
    return ids.map((id) => ({ op: 'delete', path: this.paths.buildRequest(id) }));
  }

  /** Performs the actions; requests in `created` were created with the state already. */
  async perform(
    actions: readonly BuildsetAction[],
    created: ReadonlySet<string> = new Set(),
  ): Promise<void> {
    const creates = requestsOf(actions).filter((r) => !created.has(r.id));
    if (creates.length > 0) await this.#createAll(creates);
    for (const a of actions) {
      switch (a.type) {
        case 'request-checkout':
        case 'request-build':
          break;
        case 'cancel-build':
          await this.cancel(a.requestId);
          break;
        case 'release-semaphores':
          if (a.holder !== null && a.semaphores.length > 0)
            await this.release(a.holder, a.semaphores);
          break;
      }
    }
  }

  async release(holder: string, semaphores: readonly string[]): Promise<void> {
    const paths = semaphores.map((s) => (s.startsWith('/') ? s : this.paths.semaphore(s)));
    await releaseAll(this.zk, paths, holder);
  }

  /** Deletes a request that is finished with (when it could not go with the state). */
  async forget(id: string): Promise<void> {
    await this.requestDoc(id).delete();
  }

  /**
   * Creates the requests that do not exist yet. One listing first: after a
   * takeover every queued request is asked for again, and a create that
   * fails on an existing node is still a transaction ZooKeeper logs.
   */
  async #createAll(requests: readonly BuildRequest[]): Promise<void> {
    const existing = new Set(await unlessMissing(this.zk.children(this.paths.buildRequests()), []));
    const missing = requests.filter((r) => !existing.has(r.id));
    // Independent of each other: created side by side, a fan-out of n jobs costs
    // about one round trip instead of n (executors order them by precedence and createdAt).
    for (let i = 0; i < missing.length; i += CREATE_CONCURRENCY)
      await Promise.all(missing.slice(i, i + CREATE_CONCURRENCY).map((r) => this.#create(r)));
  }

  async #create(request: BuildRequest): Promise<void> {
    try {
      // The requests directory exists from startup: no mkdirp round trip per request.
      const doc = this.requestDoc(request.id);
      await commit(this.zk, [await doc.prepareCreate(request)]).catch(async (e: unknown) => {
        if (!(e instanceof ZkNoNodeError)) throw e;
        await doc.create(request);
      });
      this.log.debug({ request: request.id, job: request.job }, 'build requested');
    } catch (e) {
      if (!(e instanceof ZkNodeExistsError)) throw e;
    }
  }

  /** Unclaimed: delete it. Claimed: ask its executor to stop. Completed or gone: nothing. */
  async cancel(id: string): Promise<void> {
    const doc = this.requestDoc(id);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await doc.read();
      if (current === null || current.value.state === 'completed') return;
      try {
        // Unclaimed has no lease: a claim in flight makes this delete fail, and we look again.
        if (current.value.state === 'requested') await doc.delete(current.version);
        else if (!current.value.cancelRequested)
          await doc.write({ ...current.value, cancelRequested: true }, current.version);
        return;
      } catch (e) {
        // An executor claimed or finished it meanwhile: look again.
        if (!(e instanceof ZkBadVersionError) && !(e instanceof ZkNoNodeError)) throw e;
      }
    }
    this.log.warn({ request: id }, 'request kept changing; cancel left to the next pass');
  }
}
