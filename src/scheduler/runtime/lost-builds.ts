/**
 * Lost builds: a request an executor claimed (state running) whose build
 * lease (one ephemeral node, taken in the claim's own transaction and given
 * back in the report's) is gone; the executor died or lost its session. The
 * request is completed as LOST together with a result event, in one
 * transaction that is compare-and-set on the request, exactly as an
 * executor reports; the pipeline pass then retries the build. Any scheduler
 * may do this at any time: only one of racing writers wins the version.
 */
import type { Logger } from 'pino';
import { toError } from '../../errors.js';
import {
  buildCompletedEventCodec,
  buildRequestCodec,
  type BuildCompletedEvent,
  type BuildRequest,
} from '../../model/index.js';
import type { ZkClient } from '../../zk/client.js';
import { commit, ZkDocument } from '../../zk/document.js';
import { ZkBadVersionError, ZkNoNodeError } from '../../zk/errors.js';
import type { ZkPaths } from '../../zk/paths.js';
import { ZkEventQueue } from '../../zk/queue.js';
import { sweepOrphanShards, unlessMissing } from '../../zk/shard.js';

/** A generation this old that no request points at was left by a delete in a transaction. */
const ORPHAN_SHARDS_AGE_MS = 10 * 60_000;

export class LostBuildDetector {
  /** Requests read completed: terminal, never read again while they exist. */
  #completed = new Set<string>();

  constructor(
    private readonly zk: ZkClient,
    private readonly paths: ZkPaths,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /**
   * Completes every lost build as LOST; returns the request ids this scheduler
   * completed. A request holding its lease cannot be lost and is not read: a
   * sweep costs two listings plus a read per request without one.
   */
  async sweep(): Promise<string[]> {
    const [names, leases] = await Promise.all([
      unlessMissing(this.zk.children(this.paths.buildRequests()), []),
      unlessMissing(this.zk.children(this.paths.buildLocks()), []),
    ]);
    // Names starting with "." are the documents' shard storage, not requests.
    const ids = names.filter((n) => !n.startsWith('.'));
    this.#completed = new Set(ids.filter((id) => this.#completed.has(id)));
    const held = new Set(leases);
    const lost: string[] = [];
    for (const id of ids) {
      if (held.has(id) || this.#completed.has(id)) continue;
      try {
        if (await this.#check(id)) lost.push(id);
      } catch (e) {
        this.log.warn({ err: toError(e), request: id }, 'lost-build check failed');
      }
    }
    // Finished requests are deleted in the pass's transaction, which cannot drop their shards.
    const blobs = `${this.paths.buildRequests()}/.shards`;
    if ((await unlessMissing(this.zk.children(blobs), [])).length > 0)
      await sweepOrphanShards(this.zk, blobs, ORPHAN_SHARDS_AGE_MS);
    return lost;
  }

  async #check(id: string): Promise<boolean> {
    const doc = new ZkDocument(this.zk, this.paths.buildRequest(id), buildRequestCodec);
    const current = await doc.read();
    if (current?.value.state === 'completed') this.#completed.add(id);
    if (current?.value.state !== 'running') return false;
    // Claimed since the listing: the claim took the lease with the state, so look again.
    if ((await this.zk.exists(this.paths.buildLock(id))) !== null) return false;
    const r = current.value;
    const outcome = {
      result: 'LOST' as const,
      retryable: true,
      reason: `executor ${r.executor ?? '(unknown)'} lost its build lock`,
      startedAt: r.startedAt,
      endedAt: this.now(),
      exitCode: null,
      logPath: null,
    };
    const event: BuildCompletedEvent = {
      type: 'build-completed',
      requestId: r.id,
      buildsetId: r.buildsetId,
      job: r.job,
      attempt: r.attempt,
      outcome,
    };
    const completed: BuildRequest = { ...r, state: 'completed', outcome };
    const queue = new ZkEventQueue(
      this.zk,
      this.paths.pipelineResultEvents(r.pipeline),
      buildCompletedEventCodec,
    );
    await queue.init();
    try {
      await commit(this.zk, [
        await doc.prepareWrite(completed, current.version),
        await queue.preparePut(event),
      ]);
    } catch (e) {
      // The executor reported after all, or another scheduler got there first.
      if (e instanceof ZkBadVersionError || e instanceof ZkNoNodeError) return false;
      throw e;
    }
    this.log.warn(
      {
        request: id,
        pipeline: r.pipeline,
        buildset: r.buildsetId,
        job: r.job,
        executor: r.executor,
      },
      'build lost: its executor lock vanished; completed as LOST',
    );
    return true;
  }
}
