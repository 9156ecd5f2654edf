/**
 * Reporting a result: ONE transaction sets the request to completed with its
 * outcome (compare-and-set on the version the claim wrote, or read since),
 * appends a BuildCompletedEvent to the pipeline's result queue, and deletes
 * the build's lease, which fails the whole transaction if the lease is gone:
 * a build whose lease was lost can never report. If the request was deleted
 * or taken over, the result is dropped: a scheduler has already decided.
 */
import {
  type BuildCompletedEvent,
  type BuildOutcome,
  buildCompletedEventCodec,
  type BuildRequest,
} from '../model/index.js';
import { commit, type Stored, type ZkDocument } from '../zk/document.js';
import {
  ZkBadVersionError,
  ZkConnectionLossError,
  ZkNoNodeError,
  type ZkClient,
  type ZkPaths,
} from '../zk/index.js';
import { ZkEventQueue } from '../zk/queue.js';
import { type Claim, requestDocument } from './claim.js';

export type ReportResult =
  | { readonly reported: true; readonly eventId: string }
  | { readonly reported: false; readonly why: string };

const ATTEMPTS = 5;
/** Reads of the request after a report's connection loss, each after waiting for the session. */
const REREADS = 5;

export class Reporter {
  /** Result queues whose nodes exist; transactions need them first. */
  readonly #ready = new Set<string>();

  constructor(
    private readonly client: ZkClient,
    private readonly paths: ZkPaths,
  ) {}

  async report(claim: Claim, outcome: BuildOutcome): Promise<ReportResult> {
    const mine = claim.request;
    const lock = claim.lock;
    const doc = requestDocument(this.client, this.paths, mine.id);
    const queue = await this.#queue(mine.pipeline);
    const event: BuildCompletedEvent = {
      type: 'build-completed',
      requestId: mine.id,
      buildsetId: mine.buildsetId,
      job: mine.job,
      attempt: mine.attempt,
      outcome,
    };
    let at: Stored<BuildRequest> | null = claim.stored;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      // Before the lease check: a report that committed took the lease with it.
      if (at && sameCompletion(at.value, mine, outcome)) {
        lock.returned(true);
        return { reported: true, eventId: '(committed before a connection loss)' };
      }
      if (lock.signal?.aborted !== false) return { reported: false, why: 'build lock lost' };
      if (!at) return { reported: false, why: 'request deleted' };
      if (!stillOurs(at.value, mine))
        return { reported: false, why: `request changed: ${at.value.state}` };
      // A short disconnect is not a lost lock: wait for the session to come back.
      if (this.client.state !== 'connected')
        await this.client.waitConnected({ timeoutMs: this.client.sessionTimeoutMs * 2 });
      const completed: BuildRequest = { ...at.value, state: 'completed', outcome };
      try {
        const created = await commit(this.client, [
          await doc.prepareWrite(completed, at),
          await queue.preparePut(event),
          lock.returnOp(),
        ]);
        lock.returned(true);
        const path = created[0] ?? '';
        return { reported: true, eventId: path.slice(path.lastIndexOf('/') + 1) };
      } catch (e) {
        if (e instanceof ZkNoNodeError && e.path === lock.path) {
          lock.returned(false);
          return { reported: false, why: 'build lock lost' };
        }
        // A scheduler wrote the request meanwhile (say, cancelRequested), or the
        // connection dropped with the outcome unknown: read again and decide.
        const again =
          e instanceof ZkBadVersionError ||
          e instanceof ZkConnectionLossError ||
          e instanceof ZkNoNodeError;
        if (!again) {
          lock.returned(false);
          throw e;
        }
        at = await this.#reread(doc);
        // Committed after all: the lease went with it; otherwise it is still ours.
        if (!at || !sameCompletion(at.value, mine, outcome)) lock.returned(false);
      }
    }
    return { reported: false, why: `request kept changing (${ATTEMPTS} attempts)` };
  }

  /**
   * The request after a failed report, across further connection losses:
   * giving up here would release a lease whose build may have reported, and
   * a scheduler would then run a finished deploy again as LOST.
   */
  async #reread(doc: ZkDocument<BuildRequest>): Promise<Stored<BuildRequest> | null> {
    for (let read = 1; ; read++) {
      try {
        if (this.client.state !== 'connected')
          await this.client.waitConnected({ timeoutMs: this.client.sessionTimeoutMs * 2 });
        return await doc.readStored();
      } catch (e) {
        if (!(e instanceof ZkConnectionLossError) || read >= REREADS) throw e;
      }
    }
  }

  async #queue(pipeline: string): Promise<ZkEventQueue<BuildCompletedEvent>> {
    const queue = new ZkEventQueue(
      this.client,
      this.paths.pipelineResultEvents(pipeline),
      buildCompletedEventCodec,
    );
    if (!this.#ready.has(pipeline)) {
      await queue.init();
      this.#ready.add(pipeline);
    }
    return queue;
  }
}

function stillOurs(r: BuildRequest, mine: BuildRequest): boolean {
  return r.state === 'running' && r.executor === mine.executor && r.startedAt === mine.startedAt;
}

function sameCompletion(r: BuildRequest, mine: BuildRequest, outcome: BuildOutcome): boolean {
  return (
    r.state === 'completed' &&
    r.executor === mine.executor &&
    r.startedAt === mine.startedAt &&
    r.outcome?.endedAt === outcome.endedAt &&
    r.outcome.result === outcome.result
  );
}
