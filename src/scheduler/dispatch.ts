/**
 * Dispatch: which jobs may start now, and recording that one was started.
 * Between the two the shell takes the job's semaphores, all or nothing;
 * a job whose semaphores are busy simply stays WAITING until a later pass.
 */
import { isTerminal, readyJobs } from '../graph/index.js';
import type { Buildset, JobProgress } from '../model/buildset.js';
import {
  CHECKOUT_JOB,
  checkoutRequest,
  jobRequest,
  type BuildsetAction,
  type Transition,
} from './actions.js';
import { NotDispatchableError } from './errors.js';
import { draftOf, graphOf, statesOf } from './graph-view.js';
import { buildsetRelease } from './settle.js';

export interface DispatchCandidate {
  readonly job: string;
  /** Take all of these (possibly none) before calling markDispatched. */
  readonly semaphores: readonly string[];
}

/** Ready jobs of a running buildset (every dependency succeeded), in graph order. */
export function dispatchable(bs: Buildset): DispatchCandidate[] {
  if (bs.state !== 'running') return [];
  const byName = new Map(bs.graph.jobs.map((j) => [j.name, j]));
  return readyJobs(graphOf(bs), statesOf(bs)).map((job) => ({
    job,
    semaphores: [...(byName.get(job)?.semaphores ?? [])],
  }));
}

/**
 * The shell holds the job's semaphores under holder id `requestId` and wants
 * the build requested: the job becomes QUEUED and a `request-build` action
 * follows. Replaying the same call changes nothing; any other call for a job
 * that is not dispatchable throws NotDispatchableError (a shell bug: it must
 * then release what it acquired).
 */
export function markDispatched(
  bs: Buildset,
  job: string,
  requestId: string,
  now: number,
): Transition {
  return markAllDispatched(bs, [{ job, requestId }], now);
}

/**
 * markDispatched for several jobs at once, with one copy of the buildset
 * (a fan-out of 28 copied a 60-job buildset 28 times). Marking one job
 * QUEUED changes no other job's readiness, so readiness is computed once.
 */
export function markAllDispatched(
  bs: Buildset,
  jobs: readonly { readonly job: string; readonly requestId: string }[],
  now: number,
): Transition {
  const ready = new Set(dispatchable(bs).map((c) => c.job));
  const marks: { index: number; requestId: string }[] = [];
  for (const { job, requestId } of jobs) {
    const index = bs.jobs.findIndex((j) => j.name === job);
    const current = bs.jobs[index];
    if (current === undefined || bs.graph.jobs[index] === undefined)
      throw new NotDispatchableError(bs.id, job, 'unknown');
    if (current.requestBase === requestId) continue;
    const twice = marks.find((m) => m.index === index);
    if (twice?.requestId === requestId) continue;
    // Named twice with two ids: the second call of one at a time would find it QUEUED.
    if (twice) throw new NotDispatchableError(bs.id, job, 'QUEUED');
    if (!ready.has(job))
      throw new NotDispatchableError(bs.id, job, bs.state === 'running' ? current.state : bs.state);
    marks.push({ index, requestId });
  }
  if (marks.length === 0) return { buildset: bs, actions: [] };
  const draft = draftOf(bs);
  const actions: BuildsetAction[] = [];
  for (const { index, requestId } of marks) {
    const frozen = draft.graph.jobs[index]!;
    const queued: JobProgress = {
      ...draft.jobs[index]!,
      state: 'QUEUED',
      attempt: 1,
      requestBase: requestId,
      requestId,
      queuedAt: now,
      heldSemaphores: [...frozen.semaphores],
    };
    draft.jobs[index] = queued;
    actions.push({ type: 'request-build', request: jobRequest(draft, frozen, queued) });
  }
  return { buildset: draft, actions };
}

/**
 * The actions the stored state implies, for a scheduler taking over after
 * one died between writing a buildset and performing its actions: requests
 * that must exist, cancels that must be set, semaphores that must be free
 * (a done buildset's own included: it stays queued for one more pass so
 * that this can happen; see removeDone).
 * All are idempotent, so performing them again is harmless.
 */
export function reconcile(bs: Buildset): BuildsetAction[] {
  const out: BuildsetAction[] = [];
  if (bs.checkout.state === 'QUEUED')
    out.push({ type: 'request-checkout', request: checkoutRequest(bs) });
  bs.jobs.forEach((job, i) => {
    const frozen = bs.graph.jobs[i];
    if (frozen === undefined) return;
    if (job.state === 'QUEUED')
      out.push({ type: 'request-build', request: jobRequest(bs, frozen, job) });
    if (job.state === 'CANCELED' && job.requestId !== null)
      out.push({ type: 'cancel-build', job: job.name, requestId: job.requestId });
    if (isTerminal(job.state) && job.requestBase !== null && frozen.semaphores.length > 0)
      out.push({
        type: 'release-semaphores',
        job: job.name,
        holder: job.requestBase,
        semaphores: [...frozen.semaphores],
      });
  });
  if (bs.checkout.state === 'CANCELED' && bs.checkout.requestId !== null)
    out.push({ type: 'cancel-build', job: CHECKOUT_JOB, requestId: bs.checkout.requestId });
  const release = buildsetRelease(bs);
  if (release !== undefined) out.push(release);
  return out;
}
