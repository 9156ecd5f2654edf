/**
 * GitPoller: fetches one branch of the deployed repository into the local
 * clone every `pollIntervalMs` (or on `pollNow()`), and when its head moved
 * since the last report puts a `ref-updated` event. The last reported head
 * lives in ZooKeeper (ref-state.ts) and moves by compare-and-set in the same
 * transaction as the event, so concurrent or restarted pollers report each
 * push once: a poller that loses the race drops its event.
 *
 * initializing → running → stopping → stopped
 */
import { isAbsolute } from 'node:path';
import type { Logger } from 'pino';
import { IllegalStateError, toError } from '../../errors.js';
import { changedFiles } from '../../git/diff.js';
import { type RefUpdatedEvent, type TriggerEvent, triggerEventCodec } from '../../model/events.js';
import type { ZkClient } from '../../zk/client.js';
import { commit, type ZkDocument } from '../../zk/document.js';
import { ZkBadVersionError, ZkNodeExistsError } from '../../zk/errors.js';
import type { ZkPaths } from '../../zk/paths.js';
import { ZkEventQueue } from '../../zk/queue.js';
import { TriggerOptionError } from './errors.js';
import { ensureBareClone, fetchRef, isAncestor } from './local-clone.js';
import { branchOf, branchRef, checkRepositoryUrl, redactUrl } from './names.js';
import { type RefState, refStateDocument, refStatesPath } from './ref-state.js';

export type GitPollerState = 'initializing' | 'running' | 'stopping' | 'stopped';

export interface GitPollerOptions {
  /** `repository.url`: where to fetch from. */
  readonly url: string;
  /** `repository.branch`: `main` or `refs/heads/main`. */
  readonly branch: string;
  /** `repository.localPath`: absolute path of the local bare clone (created if missing). */
  readonly localPath: string;
  /** `repository.pollInterval`; 0 polls only on `pollNow()`. */
  readonly pollIntervalMs: number;
  /** Recorded in the ref document with each report. */
  readonly schedulerId: string;
  /** Bound on one git command; default 120 000 ms. */
  readonly gitTimeoutMs?: number;
}

export interface GitPollerDeps {
  readonly zk: ZkClient;
  readonly paths: ZkPaths;
  readonly logger: Logger;
  /** Epoch ms; Date.now by default. */
  readonly now?: () => number;
}

/**
 * reported: this poller put the event. unchanged: the head is the one last
 * reported. baseline: first sight of the ref, recorded without an event.
 * superseded: another poller reported first; this one dropped its event.
 */
export type PollResult =
  | { readonly kind: 'reported'; readonly commit: string; readonly event: RefUpdatedEvent }
  | { readonly kind: 'unchanged' | 'baseline' | 'superseded'; readonly commit: string };

export type PollOutcome = PollResult | { readonly kind: 'failed'; readonly error: Error };

export class GitPoller {
  readonly ref: string;
  readonly #url: string;
  readonly #localPath: string;
  readonly #intervalMs: number;
  readonly #gitTimeoutMs: number;
  readonly #schedulerId: string;
  readonly #zk: ZkClient;
  readonly #paths: ZkPaths;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #doc: ZkDocument<RefState>;
  readonly #queue: ZkEventQueue<TriggerEvent>;
  readonly #abort = new AbortController();
  readonly #listeners = new Set<(o: PollOutcome) => void>();
  #state: GitPollerState = 'initializing';
  #chain: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #lastError: Error | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: GitPollerOptions, deps: GitPollerDeps) {
    this.#url = checkRepositoryUrl(options.url);
    this.ref = branchRef(options.branch);
    if (!isAbsolute(options.localPath))
      throw new TriggerOptionError(
        'localPath',
        `expected an absolute path, got ${JSON.stringify(options.localPath)}`,
      );
    this.#localPath = options.localPath;
    this.#intervalMs = nonNegative('pollIntervalMs', options.pollIntervalMs);
    this.#gitTimeoutMs = nonNegative('gitTimeoutMs', options.gitTimeoutMs ?? 120_000);
    if (options.schedulerId === '') throw new TriggerOptionError('schedulerId', 'empty');
    this.#schedulerId = options.schedulerId;
    this.#zk = deps.zk;
    this.#paths = deps.paths;
    this.#log = deps.logger.child({
      component: 'git-poller',
      ref: this.ref,
      url: redactUrl(this.#url),
    });
    this.#now = deps.now ?? Date.now;
    this.#doc = refStateDocument(deps.zk, deps.paths, this.ref);
    this.#queue = new ZkEventQueue(deps.zk, deps.paths.triggerEvents(), triggerEventCodec);
  }

  get state(): GitPollerState {
    return this.#state;
  }
  /** The error of the last poll, undefined once a poll succeeds again. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** Called after every poll with what it found. Returns an unsubscribe. */
  onPoll(listener: (o: PollOutcome) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Creates the local clone if needed, then polls at once and every interval. */
  start(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped')
      throw new IllegalStateError('git poller', this.#state, 'start');
    if (this.#starting) return this.#starting;
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    try {
      await ensureBareClone(this.#localPath, this.#abort.signal);
      await this.#zk.mkdirp(refStatesPath(this.#paths));
      await this.#queue.init();
    } catch (e) {
      // A poller that could not start is done; the caller builds a new one.
      if (this.#state === 'initializing') this.#state = 'stopped';
      throw toError(e);
    }
    if (this.#state !== 'initializing') return; // stopped while starting
    this.#state = 'running';
    this.#log.info({ pollIntervalMs: this.#intervalMs }, 'git poller running');
    this.#schedule(0);
  }

  /**
   * Polls now (after any poll in progress); rejects with the poll's error,
   * e.g. a TriggerFetchError for an unreachable repository.
   */
  pollNow(): Promise<PollResult> {
    if (this.#state !== 'running') throw new IllegalStateError('git poller', this.#state, 'poll');
    const run = this.#chain.then(() => this.#pollReported());
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Stops the timer, aborts a fetch in progress and waits for it. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping';
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort(new Error('git poller stopped'));
    await this.#starting?.catch(() => undefined);
    await this.#chain;
    this.#state = 'stopped';
    this.#log.info('git poller stopped');
  }

  #schedule(delayMs: number): void {
    if (this.#state !== 'running' || this.#intervalMs === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#state !== 'running') return;
      this.pollNow()
        .catch(() => undefined) // already logged and reported to listeners
        .finally(() => this.#schedule(this.#intervalMs));
    }, delayMs);
  }

  async #pollReported(): Promise<PollResult> {
    try {
      const result = await this.#poll();
      this.#lastError = undefined;
      this.#emit(result);
      return result;
    } catch (e) {
      const error = toError(e);
      if (!this.#abort.signal.aborted) {
        this.#lastError = error;
        this.#log.error({ err: error }, 'git poll failed; no event put');
        this.#emit({ kind: 'failed', error });
      }
      throw error;
    }
  }

  async #poll(): Promise<PollResult> {
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#gitTimeoutMs)]);
    signal.throwIfAborted();
    // Read before fetching: a report written after this read makes our
    // compare-and-set fail, one written before it saw an older head than ours.
    const stored = await this.#doc.read();
    const head = await fetchRef(this.#localPath, this.#url, this.ref, signal);
    if (!stored) return this.#recordBaseline(head);
    if (stored.value.commit === head) return { kind: 'unchanged', commit: head };
    const old = stored.value.commit;
    const files = (await isAncestor(this.#localPath, old, head, signal))
      ? await changedFiles(this.#localPath, { old, new: head }, signal)
      : null;
    const event: RefUpdatedEvent = {
      type: 'ref-updated',
      id: `poll-${this.ref}-${head}`,
      ref: this.ref,
      oldCommit: old,
      newCommit: head,
      changedFiles: files,
      source: 'poll',
      detail: `${branchOf(this.ref)} moved to ${head.slice(0, 12)} (seen by polling ${redactUrl(this.#url)})`,
      receivedAt: this.#now(),
    };
    signal.throwIfAborted();
    const next = this.#record(head, event.id, event.receivedAt);
    try {
      await commit(this.#zk, [
        await this.#doc.prepareWrite(next, stored.version),
        await this.#queue.preparePut(event),
      ]);
    } catch (e) {
      if (!(e instanceof ZkBadVersionError)) throw e;
      this.#log.debug({ commit: head }, 'another poller reported first; event dropped');
      return { kind: 'superseded', commit: head };
    }
    this.#log.info(
      { oldCommit: old, newCommit: head, files: files?.length ?? null },
      'new head, event put',
    );
    return { kind: 'reported', commit: head, event };
  }

  async #recordBaseline(head: string): Promise<PollResult> {
    try {
      await this.#doc.create(this.#record(head, null, this.#now()));
    } catch (e) {
      if (!(e instanceof ZkNodeExistsError)) throw e;
      return { kind: 'superseded', commit: head };
    }
    this.#log.info({ commit: head }, 'first sight of the ref: head recorded, no event');
    return { kind: 'baseline', commit: head };
  }

  #record(head: string, eventId: string | null, at: number): RefState {
    return { ref: this.ref, commit: head, eventId, reportedAt: at, reportedBy: this.#schedulerId };
  }

  #emit(outcome: PollOutcome): void {
    for (const listener of this.#listeners) {
      try {
        listener(outcome);
      } catch (e) {
        this.#log.warn({ err: toError(e) }, 'poll listener threw');
      }
    }
  }
}

function nonNegative(option: string, value: number): number {
  if (!Number.isFinite(value) || value < 0)
    throw new TriggerOptionError(option, `expected a non-negative number of ms, got ${value}`);
  return value;
}
