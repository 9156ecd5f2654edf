/**
 * One scheduler's passes over one pipeline, under the pipeline's lock
 * (taken without waiting: a pipeline another scheduler is processing is
 * skipped). The pass order is the one docs/scheduling.md prescribes: read,
 * reconcile when another writer was here since our last pass, apply events,
 * remove finished buildsets, start, dispatch, then ONE transaction writes
 * the state with the requests it asks for (as far as they fit), acks the
 * events it applied and deletes the requests whose results it applied;
 * THEN the remaining actions are performed, then status.
 */
import type { Logger } from 'pino';
import type { Layout, Pipeline } from '../../config/index.js';
import { toError } from '../../errors.js';
import type { FinishedBuildsetSink } from '../../history/recorder.js';
import {
  buildCompletedEventCodec,
  managementEventCodec,
  triggerEventCodec,
  type BuildCompletedEvent,
  type ManagementEvent,
  type TriggerEvent,
} from '../../model/index.js';
import type { TxOp, ZkClient } from '../../zk/client.js';
import { commit, opBytes } from '../../zk/document.js';
import { ZkBadVersionError, ZkError, ZkNoNodeError, ZkNodeExistsError } from '../../zk/errors.js';
import { ZkDecodeError, ZkShardCorruptError } from '../../zk/recipe-errors.js';
import { contenders, ZkMutex } from '../../zk/lock.js';
import type { ZkPaths } from '../../zk/paths.js';
import { ZkEventQueue, type QueueEntry } from '../../zk/queue.js';
import { unlessMissing } from '../../zk/shard.js';
import { buildsetHolder, reconcile, removeDone } from '../index.js';
import { SchedulerLockLostError } from '../runtime-errors.js';
import {
  dispatchJobs,
  noteStarted,
  startBuildsets,
  type DispatchContext,
} from './dispatch-builds.js';
import { PassDraft } from './draft.js';
import { pruneHistory } from './history.js';
import type { ResolvedSchedulerOptions } from './options.js';
import { ActionPerformer, requestsOf } from './perform-actions.js';
import {
  applyManagement,
  applyResult,
  applyTrigger,
  type EventContext,
} from './pipeline-events.js';
import { PipelineStore, type Snapshot } from './pipeline-store.js';
import type { EventLatency } from '../../model/event-latency.js';
import type { DurationEstimates } from './durations.js';
import { writeStatus } from './status-writer.js';

export interface PassDeps {
  readonly zk: ZkClient;
  readonly paths: ZkPaths;
  readonly layout: Layout;
  readonly layoutVersion: string;
  readonly options: ResolvedSchedulerOptions;
  readonly now: () => number;
  readonly log: Logger;
  /** Stored in the lock node: who holds it, for operators. */
  readonly holder: string;
  /** Where finished buildsets are recorded (src/history); absent: nowhere. */
  readonly history?: FinishedBuildsetSink;
  /** Past build durations for the status summary's ETAs; absent: unknown. */
  readonly durations?: DurationEstimates;
  /** Where each acked event's event-to-processed latency is counted. */
  readonly latency?: EventLatency;
}

/**
 * busy: another scheduler holds the lock; conflict: lost the write race too
 * often; again: done, and the pipeline wants another pass soon (finished
 * buildsets leave the queue one pass later; a full batch of events was
 * read); released: done, and semaphores were given back that a buildset of
 * any pipeline may be waiting for, so every pipeline wants a pass.
 */
export type PassResult = 'busy' | 'idle' | 'done' | 'again' | 'released' | 'conflict';

const WRITE_ROUNDS = 3;

/**
 * Bound on a pass's transaction: ZooKeeper refuses a request over
 * jute.maxbuffer (1 MiB by default), and a multi is one request.
 */
const TX_BYTES = 768 * 1024;

/** Events a pass applied, with the queue to ack them on. */
interface Applied {
  readonly queue: ZkEventQueue<unknown>;
  readonly entries: readonly QueueEntry<unknown>[];
}

interface Written {
  readonly stateWritten: boolean;
  /** Requests created in the transaction: not to be created again after it. */
  readonly created: ReadonlySet<string>;
  /** Finished requests the transaction had no room for (or could not delete): deleted after it. */
  readonly leftToForget: readonly string[];
  /** Events the transaction had no room for: acked after it, the state being stored. */
  readonly leftToAck: readonly { readonly queue: ZkEventQueue<unknown>; readonly id: string }[];
}

export class PipelinePasses {
  readonly management: ZkEventQueue<ManagementEvent>;
  readonly results: ZkEventQueue<BuildCompletedEvent>;
  readonly triggers: ZkEventQueue<TriggerEvent>;
  readonly #store: PipelineStore;
  readonly #actions: ActionPerformer;
  readonly #lock: ZkMutex;
  readonly #log: Logger;
  /** The state version our last complete pass left; anything else means reconcile. */
  #cleanVersion: number | null | undefined;
  #statusWritten = false;
  #retiring = false;
  /** Per queue path: events this scheduler could not read, logged once and skipped since. */
  readonly #unreadable = new Map<string, Set<string>>();

  constructor(
    readonly pipeline: Pipeline,
    private readonly deps: PassDeps,
  ) {
    const { zk, paths } = deps;
    const name = pipeline.name;
    this.#log = deps.log.child({ pipeline: name });
    this.management = new ZkEventQueue(
      zk,
      paths.pipelineManagementEvents(name),
      managementEventCodec,
    );
    this.results = new ZkEventQueue(zk, paths.pipelineResultEvents(name), buildCompletedEventCodec);
    this.triggers = new ZkEventQueue(zk, paths.pipelineTriggerEvents(name), triggerEventCodec);
    this.#store = new PipelineStore(zk, paths, name);
    this.#actions = new ActionPerformer(zk, paths, this.#log);
    this.#lock = new ZkMutex(zk, paths.pipelineLock(name), { data: Buffer.from(deps.holder) });
  }

  /**
   * The current layout dropped this pipeline: it finishes what it holds, but
   * an enqueue that arrives now would start a buildset of a pipeline that no
   * longer exists, so it is logged and dropped instead.
   */
  retire(): void {
    this.#retiring = true;
  }

  async init(): Promise<void> {
    await Promise.all([
      this.management.init(),
      this.results.init(),
      this.triggers.init(),
      this.#store.init(),
      this.deps.zk.mkdirp(this.deps.paths.pipelineLock(this.pipeline.name)),
    ]);
  }

  /** Another scheduler holds the pipeline's lock now: one listing, where trying costs two transactions. */
  async lockHeld(): Promise<boolean> {
    const names = await unlessMissing(
      this.deps.zk.children(this.deps.paths.pipelineLock(this.pipeline.name)),
      [],
    );
    return contenders(names).length > 0;
  }

  /** Events are pending, buildsets are queued, or this scheduler never wrote the status. */
  async hasWork(): Promise<boolean> {
    if (!this.#statusWritten) return true;
    const pending = await Promise.all([
      this.management.ids(),
      this.results.ids(),
      this.triggers.ids(),
    ]);
    if (pending.some((ids) => ids.length > 0)) return true;
    return ((await this.#store.stateDoc().read())?.value.queue.length ?? 0) > 0;
  }

  /** One pass if the lock is free. Throws only what an operator must see. */
  async run(signal: AbortSignal): Promise<PassResult> {
    if (!(await this.#lock.tryAcquire())) return 'busy';
    try {
      for (let round = 1; round <= WRITE_ROUNDS; round++) {
        signal.throwIfAborted();
        const result = await this.#once();
        if (result !== 'conflict') return result;
        this.#log.debug({ round }, 'pipeline changed under us; pass again');
      }
      return 'conflict';
    } catch (e) {
      this.#cleanVersion = undefined;
      throw e;
    } finally {
      await this.#lock.release().catch(() => undefined);
    }
  }

  async #once(): Promise<PassResult> {
    const now = this.deps.now();
    const limit = this.deps.options.eventsPerPass;
    // Side by side: under the lock nobody else writes the state or acks events, so the
    // order of these reads does not matter, and in series they were five round trips.
    const [snap, m, r, t, leases] = await Promise.all([
      this.#store.load(),
      this.#readQueue(this.management, limit),
      this.#readQueue(this.results, limit),
      this.#readQueue(this.triggers, limit),
      // One listing instead of a read per queued request each pass: a claimed request has a lease.
      unlessMissing(this.deps.zk.children(this.deps.paths.buildLocks()), []),
    ]);
    const [management, results, triggers] = [m.entries, r.entries, t.entries];
    const reconciled = this.#cleanVersion !== snap.stateVersion || snap.stateVersion === null;
    if (reconciled) await this.#reconcile(snap);
    const d = new PassDraft(snap.state, new Map(snap.records));
    await this.#applyEvents(d, now, management, results, triggers);
    const ctx = this.#dispatchContext(now);
    const locked = new Set(leases);
    await noteStarted(d, ctx, async (id) =>
      locked.has(id) ? this.#actions.readRequest(id) : null,
    );
    // Only buildsets already done when loaded: their final actions were performed.
    const done = removeDone(d.state, d.records, (id) => snap.records.get(id)?.state === 'done');
    d.setState(done.state);
    await startBuildsets(d, ctx);
    await dispatchJobs(d, ctx);

    const written = await this.#write(snap, d, [
      { queue: this.management, entries: management },
      { queue: this.results, entries: results },
      { queue: this.triggers, entries: triggers },
    ]);
    if (!written) return 'conflict';
    const version = written.stateWritten ? (snap.stateVersion ?? -1) + 1 : snap.stateVersion;
    await this.#actions.perform(d.actions, written.created);
    for (const id of written.leftToForget) await this.#actions.forget(id);
    await Promise.all(written.leftToAck.map(({ queue, id }) => queue.ack(id)));
    this.#countLatency(management, results, triggers);
    await this.#afterWrite(d, done.removed, now, reconciled);
    this.#cleanVersion = version;
    const events = management.length + results.length + triggers.length;
    if (d.actions.some((a) => a.type === 'release-semaphores' && a.semaphores.length > 0))
      return 'released';
    if (d.state.queue.some((id) => d.records.get(id)?.state === 'done')) return 'again';
    // Events left unread: acks wake nobody (see wakeups.ts), so ask for the round.
    if ([m, r, t].some((q) => q.more)) return 'again';
    return d.dirty || events > 0 ? 'done' : 'idle';
  }

  /** From when each event happened to now, when its effect is written and it is acked. */
  #countLatency(
    management: readonly QueueEntry<ManagementEvent>[],
    results: readonly QueueEntry<BuildCompletedEvent>[],
    triggers: readonly QueueEntry<TriggerEvent>[],
  ): void {
    const latency = this.deps.latency;
    if (latency === undefined) return;
    const at = this.deps.now();
    for (const e of management) latency.observe('management', at - e.value.requestedAt);
    for (const e of results) latency.observe('result', at - e.value.outcome.endedAt);
    for (const e of triggers)
      latency.observe(
        'trigger',
        at - (e.value.type === 'timer' ? e.value.firedAt : e.value.receivedAt),
      );
  }

  /**
   * Up to `limit` of the queue's events, oldest first, past any this scheduler
   * cannot decode: one written by a newer version during a rolling upgrade, or
   * damaged, must not stop the pipeline. It stays for a scheduler that can
   * read it (or an operator, who is told its path once) and is not read again.
   */
  async #readQueue<T>(
    queue: ZkEventQueue<T>,
    limit: number,
  ): Promise<{ entries: QueueEntry<T>[]; more: boolean }> {
    const ids = await queue.ids();
    let skip = this.#unreadable.get(queue.entriesPath);
    if (skip !== undefined) {
      const pending = new Set(ids);
      for (const id of skip) if (!pending.has(id)) skip.delete(id);
    }
    const wanted = skip === undefined ? ids : ids.filter((id) => !skip?.has(id));
    const entries: QueueEntry<T>[] = [];
    for (const e of await queue.readEach(wanted.slice(0, limit))) {
      if (!('error' in e)) {
        entries.push(e);
        continue;
      }
      if (!(e.error instanceof ZkDecodeError || e.error instanceof ZkShardCorruptError))
        throw e.error;
      skip ??= new Set();
      this.#unreadable.set(queue.entriesPath, skip);
      skip.add(e.id);
      this.#log.error(
        { err: e.error, znode: `${queue.entriesPath}/${e.id}` },
        'pipeline event cannot be read; skipped and kept (delete the znode if no scheduler can read it)',
      );
    }
    return { entries, more: wanted.length > limit };
  }

  async #applyEvents(
    d: PassDraft,
    now: number,
    management: readonly QueueEntry<ManagementEvent>[],
    results: readonly QueueEntry<BuildCompletedEvent>[],
    triggers: readonly QueueEntry<TriggerEvent>[],
  ): Promise<void> {
    const ctx: EventContext = {
      pipeline: this.pipeline,
      layout: this.deps.layout,
      layoutVersion: this.deps.layoutVersion,
      now,
      log: this.#log,
      known: async (id) =>
        (await this.deps.zk.exists(this.deps.paths.buildset(this.pipeline.name, id))) !== null,
    };
    const guarded = async (what: string, id: string, fn: () => unknown): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        // ZooKeeper trouble ends the pass (the event stays); anything else is a
        // poison event that would block the pipeline forever: log it and drop it.
        if (e instanceof ZkError) throw e;
        this.#log.error({ err: toError(e), event: id }, `${what} event cannot be applied; dropped`);
      }
    };
    for (const e of management) {
      if (this.#retiring && e.value.type === 'enqueue') {
        this.#log.error(
          { event: e.id, requestedBy: e.value.requestedBy, commit: e.value.commit },
          'enqueue for a pipeline removed from the layout; dropped',
        );
        continue;
      }
      await guarded('management', e.id, () => applyManagement(d, e.value, ctx));
    }
    for (const e of results) await guarded('result', e.id, () => applyResult(d, e.value, ctx));
    for (const e of triggers) await guarded('trigger', e.id, () => applyTrigger(d, e.value, ctx));
  }

  #dispatchContext(now: number): DispatchContext {
    return {
      zk: this.deps.zk,
      paths: this.deps.paths,
      layout: this.deps.layout,
      manager: this.pipeline.manager,
      pipeline: this.pipeline.name,
      now,
      log: this.#log,
    };
  }

  /** After another writer: perform what the stored state implies (all idempotent). */
  async #reconcile(snap: Snapshot): Promise<void> {
    const actions = [...snap.records.values()].flatMap((bs) => reconcile(bs));
    if (actions.length === 0) return;
    await this.#assertLock();
    await this.#actions.perform(actions);
    this.#log.info({ actions: actions.length }, 'reconciled after taking the pipeline over');
  }

  /**
   * The pass's one transaction: the state (or, unchanged, a check of its
   * version), the acks of the events it applied, the deletes of the requests
   * whose results it applied and the requests it asks for, as far as they
   * fit; the rest is done after it. False when another writer got in first
   * (or another consumer acked an event); the semaphores taken are then
   * given back.
   */
  async #write(snap: Snapshot, d: PassDraft, events: readonly Applied[]): Promise<Written | false> {
    const finished = [...new Set(d.finishedRequests)];
    const writeState = d.dirty || snap.stateVersion === null;
    if (!writeState && finished.length === 0 && events.every((e) => e.entries.length === 0))
      return { stateWritten: false, created: new Set(), leftToForget: [], leftToAck: [] };
    try {
      await this.#assertLock();
      try {
        return await this.#commit(snap, d, writeState, events, finished, true);
      } catch (e) {
        // A request that exists already, or a finished one gone already (by hand,
        // or before this layout): not a race; those go apart, after the state.
        if (!this.#isRequestNode(e)) throw e;
        this.#log.debug({ err: toError(e) }, 'requests not in the state transaction');
        return await this.#commit(snap, d, writeState, events, finished, false);
      }
    } catch (e) {
      await this.#giveBack(d);
      const raced =
        e instanceof ZkBadVersionError ||
        e instanceof ZkNodeExistsError ||
        e instanceof ZkNoNodeError;
      if (raced) return false;
      throw e;
    }
  }

  /** Fills the transaction in order of need (state, acks, deletes, requests) up to its size. */
  async #commit(
    snap: Snapshot,
    d: PassDraft,
    writeState: boolean,
    events: readonly Applied[],
    finished: readonly string[],
    withRequests: boolean,
  ): Promise<Written> {
    const items = writeState ? await this.#store.prepare(snap, d) : [this.#store.checkOp(snap)];
    let room = TX_BYTES - opBytes(items);
    const fits = (ops: readonly TxOp[]): boolean => {
      const size = opBytes(ops);
      if (size > room) return false;
      room -= size;
      return true;
    };
    const leftToAck: { queue: ZkEventQueue<unknown>; id: string }[] = [];
    for (const { queue, entries } of events) {
      const acked = entries.filter((e) => fits(queue.prepareAck([e]).ops));
      items.push(queue.prepareAck(acked));
      for (const e of entries) if (!acked.includes(e)) leftToAck.push({ queue, id: e.id });
    }
    const forgets = withRequests
      ? finished.filter((id) => fits(this.#actions.forgetOps([id])))
      : [];
    items.push(...this.#actions.forgetOps(forgets));
    const created = new Set<string>();
    if (withRequests)
      items.push(...(await this.#actions.prepareCreates(requestsOf(d.actions), created, room)));
    await commit(this.deps.zk, items);
    const leftToForget = finished.filter((id) => !forgets.includes(id));
    return { stateWritten: writeState, created, leftToForget, leftToAck };
  }

  #isRequestNode(e: unknown): boolean {
    const requests = `${this.deps.paths.buildRequests()}/`;
    return (
      (e instanceof ZkNodeExistsError || e instanceof ZkNoNodeError) &&
      e.path?.startsWith(requests) === true
    );
  }

  /**
   * After a failed write: release what this pass took, unless the writer that
   * won dispatched the same job (request ids are deterministic, so its
   * holder has the same id and releasing it would free a running job's slot).
   */
  async #giveBack(d: PassDraft): Promise<void> {
    for (const t of d.taken) {
      const stored = (await this.#store.buildsetDoc(t.buildsetId).read())?.value;
      if (stored?.jobs.some((j) => j.requestBase === t.holder)) continue;
      // The winner started the same buildset: the pipeline semaphores are its now.
      if (stored && t.holder === buildsetHolder(stored) && stored.state !== 'queued') continue;
      await this.#actions.release(t.holder, t.semaphores);
    }
  }

  async #assertLock(): Promise<void> {
    if (!(await this.#lock.isStillValid())) throw new SchedulerLockLostError(this.pipeline.name);
  }

  async #afterWrite(
    d: PassDraft,
    removed: readonly string[],
    now: number,
    reconciled: boolean,
  ): Promise<void> {
    for (const id of removed) {
      const bs = d.records.get(id);
      this.#log.info(
        { buildset: id, result: bs?.result, message: bs?.message },
        'buildset finished',
      );
    }
    const queued = new Map(
      d.state.queue.flatMap((id) => {
        const bs = d.records.get(id);
        return bs ? [[id, bs] as const] : [];
      }),
    );
    await writeStatus(this.deps.zk, this.deps.paths, {
      state: d.state,
      manager: this.pipeline.manager,
      buildsets: queued,
      now,
      ...(this.deps.durations ? { expectedMs: (job) => this.deps.durations!.expected(job) } : {}),
    });
    this.#statusWritten = true;
    const { zk, paths, options, history } = this.deps;
    // Records the history has not taken yet (its database is down) are not pruned.
    const unrecorded = await history?.record({
      pipeline: this.pipeline.name,
      finished: removed,
      catchUp: reconciled,
      listDone: async () =>
        (await unlessMissing(zk.children(paths.pipelineBuildsets(this.pipeline.name)), [])).filter(
          (n) => !n.startsWith('.') && !d.state.queue.includes(n),
        ),
      read: async (id) =>
        d.records.get(id) ?? (await this.#store.buildsetDoc(id).read())?.value ?? null,
    });
    if (removed.length > 0 || reconciled) {
      const keep = [...d.state.queue, ...(unrecorded ?? [])];
      await pruneHistory(zk, paths, this.#store, keep, options.keepDoneBuildsets);
    }
  }
}
