/**
 * Applying a pipeline's pending events to a pass draft, in the order the
 * core's doc prescribes: management events, then build results, then
 * trigger events. A buildset an event would create again (a replay after a
 * crash between write and ack) is recognised by its deterministic id.
 */
import type { Logger } from 'pino';
import { pipelineJobs, type Layout, type Pipeline } from '../../config/index.js';
import type {
  BuildCompletedEvent,
  BuildsetTrigger,
  ManagementEvent,
  TriggerEvent,
} from '../../model/index.js';
import { applyInput, createBuildset, dequeue, enqueue, promote } from '../index.js';
import type { PassDraft } from './draft.js';
import { buildsetIdFor } from './ids.js';

export interface EventContext {
  readonly pipeline: Pipeline;
  readonly layout: Layout;
  readonly layoutVersion: string;
  readonly now: number;
  readonly log: Logger;
  /** True when a record of this buildset exists (kept in history after it left the queue). */
  readonly known: (buildsetId: string) => Promise<boolean>;
}

interface NewBuildset {
  readonly id: string;
  readonly ref: string;
  readonly commit: string;
  readonly oldCommit: string | null;
  readonly trigger: BuildsetTrigger;
  readonly changedFiles: readonly string[] | null;
}

export async function applyManagement(
  d: PassDraft,
  e: ManagementEvent,
  ctx: EventContext,
): Promise<void> {
  switch (e.type) {
    case 'enqueue':
      return create(d, ctx, {
        id: buildsetIdFor(ctx.pipeline.name, 'manual', e.id),
        ref: e.ref,
        commit: e.commit,
        oldCommit: null,
        trigger: { kind: 'manual', detail: `enqueued by ${e.requestedBy}` },
        changedFiles: null,
      });
    case 'dequeue':
      d.takeQueue(
        dequeue(d.state, e.buildsetId, `dequeued by ${e.requestedBy}`, d.records, ctx.now),
      );
      return;
    case 'promote':
      d.setState(promote(d.state, e.buildsetId, d.records));
      return;
  }
}

/** Applies a build result; its request is deleted once the new state is stored. */
export function applyResult(d: PassDraft, e: BuildCompletedEvent, ctx: EventContext): void {
  d.finishedRequests.push(e.requestId);
  const bs = d.records.get(e.buildsetId);
  // A result for a buildset no longer queued (canceled, finished) changes nothing.
  if (bs === undefined) return;
  d.take(bs, applyInput(bs, e, ctx.now));
}

export async function applyTrigger(
  d: PassDraft,
  e: TriggerEvent,
  ctx: EventContext,
): Promise<void> {
  if (e.type === 'timer') {
    return create(d, ctx, {
      id: buildsetIdFor(ctx.pipeline.name, 'timer', e.id),
      ref: e.ref,
      commit: e.commit,
      oldCommit: null,
      trigger: { kind: 'timer', detail: `timer slot ${e.slot}` },
      changedFiles: null,
    });
  }
  return create(d, ctx, {
    id: buildsetIdFor(ctx.pipeline.name, 'ref', e.id),
    ref: e.ref,
    commit: e.newCommit,
    oldCommit: e.oldCommit,
    trigger: { kind: 'ref-updated', detail: e.detail },
    changedFiles: e.changedFiles,
  });
}

async function create(d: PassDraft, ctx: EventContext, n: NewBuildset): Promise<void> {
  const log = ctx.log.child({ buildset: n.id });
  if (d.records.has(n.id) || (await ctx.known(n.id))) {
    log.debug('buildset exists already (event replayed)');
    return;
  }
  const result = createBuildset({
    ...n,
    pipeline: ctx.pipeline.name,
    layoutVersion: ctx.layoutVersion,
    precedence: ctx.pipeline.precedence,
    semaphores: ctx.pipeline.semaphores,
    jobs: pipelineJobs(ctx.layout, ctx.pipeline.name),
    now: ctx.now,
  });
  if (result.kind === 'nothing-to-do') {
    log.info(
      { ref: n.ref, commit: n.commit, selection: result.selection.map((s) => s.message) },
      'nothing to do: the change selects no job',
    );
    return;
  }
  const bs = result.buildset;
  d.takeQueue(enqueue(d.state, ctx.pipeline.manager, bs, d.records, ctx.now));
  d.add(bs);
  log.info(
    {
      ref: n.ref,
      commit: n.commit,
      jobs: bs.jobs.length,
      trigger: n.trigger.kind,
      state: bs.state,
    },
    'buildset enqueued',
  );
}
