/**
 * Reporting a result: ONE transaction sets the request to completed with its
 * outcome (compare-and-set on the version read while it is still ours),
 * appends a BuildCompletedEvent to the pipeline's result queue, and checks
 * that our lock node still exists, so a build whose lock was lost can never
 * report. If the request was deleted or taken over, the result is dropped: a
 * scheduler has already decided about it.
 */
import {
  type BuildCompletedEvent,
  type BuildOutcome,
  buildCompletedEventCodec,
  type BuildRequest,
} from '../model/index.js';
import { commit } from '../zk/document.js';
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

export class Reporter {
  /** Result queues whose nodes exist; transactions need them first. */
  readonly #ready = new Set<string>();

  constructor(
    private readonly client: ZkClient,
    private readonly paths: ZkPaths,
  ) {}

  async report(claim: Claim, outcome: BuildOutcome): Promise<ReportResult> {
    const mine = claim.request;
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
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const lockNode = claim.lock.node;
      if (!lockNode || claim.lock.signal?.aborted !== false)
        return { reported: false, why: 'build lock lost' };
      // A short disconnect is not a lost lock: wait for the session to come back.
      if (this.client.state !== 'connected')
        await this.client.waitConnected({ timeoutMs: this.client.sessionTimeoutMs * 2 });
      const current = await doc.read();
      if (!current) return { reported: false, why: 'request deleted' };
      if (!stillOurs(current.value, mine)) {
        if (sameCompletion(current.value, mine, outcome))
          return { reported: true, eventId: '(committed before a connection loss)' };
        return { reported: false, why: `request changed: ${current.value.state}` };
      }
      const completed: BuildRequest = { ...current.value, state: 'completed', outcome };
      try {
        const created = await commit(this.client, [
          await doc.prepareWrite(completed, current.version),
          await queue.preparePut(event),
          { op: 'check', path: lockNode, version: 0 },
        ]);
        const path = created[0] ?? '';
        return { reported: true, eventId: path.slice(path.lastIndexOf('/') + 1) };
      } catch (e) {
        if (e instanceof ZkNoNodeError && e.path === lockNode)
          return { reported: false, why: 'build lock lost' };
        // A scheduler wrote the request meanwhile (say, cancelRequested), or the
        // connection dropped with the outcome unknown: read again and decide.
        if (!(e instanceof ZkBadVersionError) && !(e instanceof ZkConnectionLossError)) throw e;
      }
    }
    return { reported: false, why: `request kept changing (${ATTEMPTS} attempts)` };
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
