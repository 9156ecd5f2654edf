/**
 * The buildset machine: (buildset, input, now) → (new buildset, actions).
 * Pure and idempotent. Inputs arrive at least once, so an input that names a
 * request other than a step's current one, or a step already final, changes
 * nothing; the same input applied twice equals it applied once.
 *
 *   queued --start--> checkout --checkout SUCCESS--> running --all final--> done
 *      \                 \---checkout failed-------------------------------> done (ERROR)
 *       \---cancel (from any state but done)-------------------------------> done (CANCELED)
 */
import { isTerminal } from '../graph/index.js';
import type { BuildCompletedEvent, BuildOutcome } from '../model/build.js';
import type { Buildset, StepProgress } from '../model/buildset.js';
import {
  CHECKOUT_ATTEMPTS,
  CHECKOUT_JOB,
  attemptRequestId,
  checkoutRequest,
  jobRequest,
  type BuildsetAction,
  type Transition,
} from './actions.js';
import { WrongBuildsetError } from './errors.js';
import { isRetryable, jobStateFor, lostOutcome, summarize } from './job-outcome.js';
import { endBuildset, finishJob, settle } from './settle.js';
import { draftOf } from './graph-view.js';

export type BuildsetInput =
  /** Leave the queue: request the checkout step, whose first request gets `requestId`. */
  | { readonly type: 'start'; readonly requestId: string }
  /** An executor claimed the request (seen on the request record) at `at`. */
  | { readonly type: 'build-started'; readonly requestId: string; readonly at: number }
  | BuildCompletedEvent
  /** The request's executor lock vanished: the build is LOST. */
  | { readonly type: 'lost'; readonly requestId: string }
  /** Dequeue: stop everything, end CANCELED with `reason`. */
  | { readonly type: 'cancel'; readonly reason: string }
  /** Still queued for `reason` (its pipeline semaphores are busy): shown to people. */
  | { readonly type: 'waiting'; readonly reason: string };

export function applyInput(bs: Buildset, input: BuildsetInput, now: number): Transition {
  return applyInputs(bs, [input], now);
}

/**
 * Several inputs in order, as applyInput one after the other would apply
 * them, with one copy of the buildset: a pass that sees 28 builds started
 * copied a 60-job buildset 28 times.
 */
export function applyInputs(
  bs: Buildset,
  inputs: readonly BuildsetInput[],
  now: number,
): Transition {
  for (const input of inputs)
    if (input.type === 'build-completed' && input.buildsetId !== bs.id)
      throw new WrongBuildsetError(bs.id, input.buildsetId);
  const draft = draftOf(bs);
  const actions: BuildsetAction[] = [];
  let changed = false;
  // step() leaves the draft untouched when it returns false, so one draft serves all.
  for (const input of inputs) changed = step(draft, input, now, actions) || changed;
  return changed ? { buildset: draft, actions } : { buildset: bs, actions: [] };
}

/** Applies one input to the draft; false when the input changes nothing. */
function step(bs: Buildset, input: BuildsetInput, now: number, out: BuildsetAction[]): boolean {
  switch (input.type) {
    case 'start':
      return start(bs, input.requestId, now, out);
    case 'build-started':
      return started(bs, input.requestId, input.at);
    case 'build-completed':
      return completed(bs, input.requestId, input.attempt, input.outcome, now, out);
    case 'lost': {
      const current = currentStep(bs, input.requestId);
      if (current === undefined) return false;
      const outcome = lostOutcome(current.startedAt, now);
      return completed(bs, input.requestId, current.attempt, outcome, now, out);
    }
    case 'cancel':
      return cancel(bs, input.reason, now, out);
    case 'waiting':
      if (bs.state !== 'queued' || bs.message === input.reason) return false;
      bs.message = input.reason;
      return true;
  }
}

function start(bs: Buildset, requestId: string, now: number, out: BuildsetAction[]): boolean {
  if (bs.state !== 'queued') return false;
  bs.state = 'checkout';
  bs.startedAt = now;
  bs.message = null;
  bs.checkout.requestBase = requestId;
  requestAttempt(bs.checkout, 1, now);
  out.push({ type: 'request-checkout', request: checkoutRequest(bs) });
  return true;
}

/** The step (checkout or job) whose current request is `requestId` and is not final. */
function currentStep(bs: Buildset, requestId: string): StepProgress | undefined {
  const steps: StepProgress[] = [bs.checkout, ...bs.jobs];
  return steps.find((s) => s.requestId === requestId && !isTerminal(s.state));
}

function started(bs: Buildset, requestId: string, at: number): boolean {
  const current = currentStep(bs, requestId);
  if (current === undefined || current.state !== 'QUEUED') return false;
  current.state = 'RUNNING';
  current.startedAt = at;
  return true;
}

function completed(
  bs: Buildset,
  requestId: string,
  attempt: number,
  outcome: BuildOutcome,
  now: number,
  out: BuildsetAction[],
): boolean {
  const current = currentStep(bs, requestId);
  if (current === undefined || current.attempt !== attempt) return false;
  current.lastOutcome = summarize(outcome, attempt);
  // Without a build-started input the executor's own start time is the best we have.
  current.startedAt ??= outcome.startedAt;
  if (current === bs.checkout) checkoutCompleted(bs, outcome, now, out);
  else jobCompleted(bs, current as Buildset['jobs'][number], outcome, now, out);
  return true;
}

function jobCompleted(
  bs: Buildset,
  job: Buildset['jobs'][number],
  outcome: BuildOutcome,
  now: number,
  out: BuildsetAction[],
): void {
  const frozen = bs.graph.jobs.find((j) => j.name === job.name);
  const attempts = frozen?.attempts ?? 1;
  const next = jobStateFor(outcome, job.attempt, attempts);
  if (next === 'RETRY' && frozen !== undefined) {
    // Semaphores stay held across attempts: the job never left its slot.
    requestAttempt(job, job.attempt + 1, now);
    job.reason = `attempt ${job.attempt} of ${attempts} after: ${outcome.reason}`;
    out.push({ type: 'request-build', request: jobRequest(bs, frozen, job) });
    return;
  }
  const reason =
    next === 'SUCCESS'
      ? null
      : next === 'RETRY_LIMIT'
        ? limitReason(outcome, attempts)
        : outcome.reason;
  finishJob(job, next, reason, now, out);
  settle(bs, now, out);
}

function checkoutCompleted(
  bs: Buildset,
  outcome: BuildOutcome,
  now: number,
  out: BuildsetAction[],
) {
  const checkout = bs.checkout;
  if (outcome.result === 'SUCCESS') {
    checkout.state = 'SUCCESS';
    checkout.endedAt = now;
    bs.state = 'running';
    return;
  }
  if (isRetryable(outcome) && checkout.attempt < CHECKOUT_ATTEMPTS) {
    requestAttempt(checkout, checkout.attempt + 1, now);
    out.push({ type: 'request-checkout', request: checkoutRequest(bs) });
    return;
  }
  const why = isRetryable(outcome) ? limitReason(outcome, CHECKOUT_ATTEMPTS) : outcome.reason;
  checkout.state = isRetryable(outcome) ? 'RETRY_LIMIT' : jobStateFor(outcome, 1, 1);
  checkout.reason = why;
  checkout.endedAt = now;
  const message = `checkout failed: ${why}`;
  for (const job of bs.jobs) finishJob(job, 'SKIPPED', `skipped: ${message}`, now, out);
  endBuildset(bs, 'ERROR', message, now, out);
}

function cancel(bs: Buildset, reason: string, now: number, out: BuildsetAction[]): boolean {
  if (bs.state === 'done') return false;
  const checkout = bs.checkout;
  if (!isTerminal(checkout.state)) {
    stopRequest(checkout, CHECKOUT_JOB, out);
    Object.assign(checkout, { state: 'CANCELED', reason, endedAt: now });
  }
  for (const job of bs.jobs) {
    if (isTerminal(job.state)) continue;
    stopRequest(job, job.name, out);
    finishJob(job, 'CANCELED', reason, now, out);
  }
  endBuildset(bs, 'CANCELED', reason, now, out);
  return true;
}

/** A step with a live request gets it cancelled; one that never had a request just ends. */
function stopRequest(s: StepProgress, name: string, out: BuildsetAction[]): void {
  if ((s.state === 'QUEUED' || s.state === 'RUNNING') && s.requestId !== null)
    out.push({ type: 'cancel-build', job: name, requestId: s.requestId });
}

function requestAttempt(s: StepProgress, attempt: number, now: number): void {
  s.attempt = attempt;
  s.requestId = attemptRequestId(s.requestBase ?? '', attempt);
  s.state = 'QUEUED';
  s.queuedAt = now;
  s.startedAt = null;
  s.endedAt = null;
}

function limitReason(outcome: BuildOutcome, attempts: number): string {
  return `${outcome.reason} (no attempts left after ${attempts})`;
}
