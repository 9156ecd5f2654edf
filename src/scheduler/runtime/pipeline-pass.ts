/**
 * One scheduler's passes over one pipeline, under the pipeline's lock
 * (taken without waiting: a pipeline another scheduler is processing is
 * skipped). The pass order is the one docs/scheduling.md prescribes: read,
 * reconcile when another writer was here since our last pass, apply events,
 * remove finished buildsets, start, dispatch, write everything in one
 * transaction, THEN perform the actions, THEN ack the events, then status.
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
import type { ZkClient } from '../../zk/client.js';
import { ZkBadVersionError, ZkError, ZkNoNodeError, ZkNodeExistsError } from '../../zk/errors.js';
import { ZkMutex } from '../../zk/lock.js';
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
import { ActionPerformer } from './perform-actions.js';
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
 * buildsets leave the queue one pass later; semaphores were given back that
 * another pipeline may be waiting for).
 */
export type PassResult = 'busy' | 'idle' | 'done' | 'again' | 'conflict';

const WRITE_ROUNDS = 3;

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

  async init(): Promise<void> {
    await Promise.all([
      this.management.init(),
      this.results.init(),
      this.triggers.init(),
      this.#store.init(),
      this.deps.zk.mkdirp(this.deps.paths.pipelineLock(this.pipeline.name)),
    ]);
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
    const snap = await this.#store.load();
    const reconciled = this.#cleanVersion !== snap.stateVersion || snap.stateVersion === null;
    if (reconciled) await this.#reconcile(snap);
    const limit = this.deps.options.eventsPerPass;
    const [management, results, triggers] = await Promise.all([
      this.management.read(limit),
      this.results.read(limit),
      this.triggers.read(limit),
    ]);
    const d = new PassDraft(snap.state, new Map(snap.records));
    await this.#applyEvents(d, now, management, results, triggers);
    const ctx = this.#dispatchContext(now);
    // One listing instead of a read per queued request each pass: a claimed request has a lock directory.
    const locked = new Set(
      await unlessMissing(this.deps.zk.children(this.deps.paths.buildLocks()), []),
    );
    await noteStarted(d, ctx, async (id) =>
      locked.has(id) ? this.#actions.readRequest(id) : null,
    );
    // Only buildsets already done when loaded: their final actions were performed.
    const done = removeDone(d.state, d.records, (id) => snap.records.get(id)?.state === 'done');
    d.setState(done.state);
    await startBuildsets(d, ctx);
    await dispatchJobs(d, ctx);

    let version = snap.stateVersion;
    if (d.dirty || snap.stateVersion === null) {
      const written = await this.#write(snap, d);
      if (!written) return 'conflict';
      version = snap.stateVersion === null ? 0 : snap.stateVersion + 1;
    }
    await this.#actions.perform(d.actions);
    for (const id of d.finishedRequests) await this.#actions.forget(id);
    await Promise.all([
      ...management.map((e) => this.management.ack(e.id)),
      ...results.map((e) => this.results.ack(e.id)),
      ...triggers.map((e) => this.triggers.ack(e.id)),
    ]);
    this.#countLatency(management, results, triggers);
    await this.#afterWrite(d, done.removed, now, reconciled);
    this.#cleanVersion = version;
    const events = management.length + results.length + triggers.length;
    if (d.state.queue.some((id) => d.records.get(id)?.state === 'done')) return 'again';
    if (d.actions.some((a) => a.type === 'release-semaphores' && a.semaphores.length > 0))
      return 'again';
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
    for (const e of management)
      await guarded('management', e.id, () => applyManagement(d, e.value, ctx));
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

  /** False when another writer got in first; the semaphores taken are then given back. */
  async #write(snap: Snapshot, d: PassDraft): Promise<boolean> {
    try {
      await this.#assertLock();
      await this.#store.write(snap, d);
      return true;
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
