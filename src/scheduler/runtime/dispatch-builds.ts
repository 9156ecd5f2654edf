/**
 * Starting buildsets and dispatching jobs, the I/O half: the manager says
 * which buildsets start, the core which jobs are ready; this takes each
 * job's semaphores all or nothing before marking it dispatched.
 *
 * Semaphore holders are named by the request id (the core's rule) and owned
 * by the buildset's record, not by this scheduler's session: a build keeps
 * its slot across scheduler restarts, and a holder left behind by a crash
 * between acquiring and writing is either re-taken under the same id on the
 * next pass or goes stale when the buildset record is deleted.
 */
import type { Logger } from 'pino';
import type { Layout, PipelineManager } from '../../config/index.js';
import type { BuildRequest } from '../../model/index.js';
import type { BuildsetInput } from '../index.js';
import type { ZkClient } from '../../zk/client.js';
import { ZkNoNodeError } from '../../zk/errors.js';
import type { ZkPaths } from '../../zk/paths.js';
import { tryAcquireAll, type SemaphoreSpec } from '../../zk/semaphore.js';
import {
  applyInput,
  applyInputs,
  buildsetHolder,
  dispatchable,
  markAllDispatched,
  startable,
} from '../index.js';
import type { PassDraft } from './draft.js';
import { checkoutRequestId, jobRequestId } from './ids.js';

export interface DispatchContext {
  readonly zk: ZkClient;
  readonly paths: ZkPaths;
  readonly layout: Layout;
  readonly manager: PipelineManager;
  readonly pipeline: string;
  readonly now: number;
  readonly log: Logger;
}

/**
 * Starts every buildset the manager allows now whose pipeline semaphores are
 * free; one whose semaphores are busy stays queued (and says why).
 */
export async function startBuildsets(d: PassDraft, ctx: DispatchContext): Promise<void> {
  for (const id of startable(d.state, ctx.manager, d.records)) {
    const bs = d.records.get(id);
    if (bs === undefined) continue;
    const log = ctx.log.child({ buildset: id });
    if (!(await takeSemaphores(d, ctx, id, buildsetHolder(bs), bs.semaphores))) {
      const reason = `waiting for semaphore ${bs.semaphores.join(', ')}`;
      d.take(bs, applyInput(bs, { type: 'waiting', reason }, ctx.now));
      log.debug({ semaphores: bs.semaphores }, 'pipeline semaphores busy: buildset waits');
      continue;
    }
    d.take(bs, applyInput(bs, { type: 'start', requestId: checkoutRequestId(id) }, ctx.now));
    log.info('buildset started: checkout requested');
  }
}

/**
 * Marks QUEUED steps whose request an executor claimed as RUNNING. The
 * requests are read here because executors signal a claim only on the request.
 */
export async function noteStarted(
  d: PassDraft,
  ctx: DispatchContext,
  readRequest: (id: string) => Promise<BuildRequest | null>,
): Promise<void> {
  const queued = [...d.records.values()]
    .filter((bs) => bs.state === 'checkout' || bs.state === 'running')
    .flatMap((bs) =>
      [bs.checkout, ...bs.jobs].flatMap((step) =>
        step.state === 'QUEUED' && step.requestId !== null
          ? [{ buildsetId: bs.id, requestId: step.requestId }]
          : [],
      ),
    );
  // In parallel: after a fan-out of 28, one read after the other held the pass for 50 ms.
  const read = await Promise.all(queued.map((q) => readRequest(q.requestId)));
  const started = new Map<string, BuildsetInput[]>();
  queued.forEach(({ buildsetId }, i) => {
    const r = read[i];
    if (r?.state !== 'running' && r?.state !== 'completed') return;
    const input = { type: 'build-started', requestId: r.id, at: r.startedAt ?? ctx.now } as const;
    started.set(buildsetId, [...(started.get(buildsetId) ?? []), input]);
  });
  for (const [id, inputs] of started) {
    const current = d.records.get(id);
    if (current) d.take(current, applyInputs(current, inputs, ctx.now));
  }
}

/** Dispatches every ready job whose semaphores are free now. */
export async function dispatchJobs(d: PassDraft, ctx: DispatchContext): Promise<void> {
  for (const id of d.state.queue) {
    const bs = d.records.get(id);
    if (bs === undefined) continue;
    const go: { job: string; requestId: string }[] = [];
    for (const candidate of dispatchable(bs)) {
      const requestId = jobRequestId(id, candidate.job);
      if (!(await takeSemaphores(d, ctx, bs.id, requestId, candidate.semaphores))) {
        ctx.log.debug(
          { buildset: id, job: candidate.job, semaphores: candidate.semaphores },
          'semaphores busy: job waits',
        );
        continue;
      }
      go.push({ job: candidate.job, requestId });
    }
    if (go.length === 0) continue;
    d.take(bs, markAllDispatched(bs, go, ctx.now));
    for (const { job, requestId } of go)
      ctx.log.debug({ buildset: id, job, request: requestId }, 'job dispatched');
  }
}

async function takeSemaphores(
  d: PassDraft,
  ctx: DispatchContext,
  buildsetId: string,
  holder: string,
  names: readonly string[],
): Promise<boolean> {
  if (names.length === 0) return true;
  const specs: SemaphoreSpec[] = names.map((n) => ({
    path: ctx.paths.semaphore(n),
    max: ctx.layout.semaphores.get(n)?.max ?? 1,
  }));
  const owner = ctx.paths.buildset(ctx.pipeline, buildsetId);
  try {
    if (!(await tryAcquireAll(ctx.zk, specs, { id: holder, owner }))) return false;
  } catch (e) {
    // The record is not stored yet: it cannot own a slot; the next pass tries again.
    if (e instanceof ZkNoNodeError) return false;
    throw e;
  }
  d.taken.push({ buildsetId, holder, semaphores: specs.map((s) => s.path) });
  return true;
}
