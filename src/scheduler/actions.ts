/**
 * What the pure core asks the scheduler shell to do after it has written the
 * new buildset record: create build requests, ask running builds to stop,
 * release semaphores. Every action is safe to perform twice (create-if-absent,
 * set a flag, release a holder that may already be gone).
 */
import type { BuildRequest } from '../model/build.js';
import type { Buildset, FrozenJobRecord, StepProgress } from '../model/buildset.js';

/** The job name build requests carry for the checkout step (their kind says `checkout`). */
export const CHECKOUT_JOB = 'checkout';
/** How many times the checkout step is tried when it fails for a retryable reason. */
export const CHECKOUT_ATTEMPTS = 3;

export type BuildsetAction =
  /** Create this request (create-if-absent: its id is deterministic). */
  | { readonly type: 'request-checkout'; readonly request: BuildRequest }
  | { readonly type: 'request-build'; readonly request: BuildRequest }
  /** Set `cancelRequested` on the request; the executor running it aborts. */
  | { readonly type: 'cancel-build'; readonly job: string; readonly requestId: string }
  /**
   * Emitted once for every job that reaches a final state, and once when a
   * started buildset whose pipeline has semaphores ends. `semaphores` lists
   * only what was held (often nothing); `holder` is the holder id used to
   * acquire them, null if the job was never dispatched.
   */
  | {
      readonly type: 'release-semaphores';
      /** The job, or null for the buildset's own (pipeline) semaphores. */
      readonly job: string | null;
      readonly holder: string | null;
      readonly semaphores: readonly string[];
    };

export interface Transition {
  readonly buildset: Buildset;
  readonly actions: readonly BuildsetAction[];
}

/**
 * The holder id of a buildset's own semaphores: its id, which no request id
 * equals (those always carry a suffix), so it never collides with a job's.
 */
export function buildsetHolder(bs: Pick<Buildset, 'id'>): string {
  return bs.id;
}

/**
 * The request id of an attempt. The first attempt uses the id the shell
 * chose; retries append the attempt so that a replayed transition recreates
 * the same id and the shell's create-if-absent makes it a no-op.
 */
export function attemptRequestId(base: string, attempt: number): string {
  return attempt === 1 ? base : `${base}.${attempt}`;
}

/** The build request for a job's current attempt, as the executor will read it. */
export function jobRequest(bs: Buildset, job: FrozenJobRecord, step: StepProgress): BuildRequest {
  return {
    ...commonRequest(bs, step),
    kind: 'job',
    job: job.name,
    playbook: job.playbook,
    vars: structuredClone(job.vars),
    timeoutMs: job.timeoutMs,
  };
}

/** The build request for the checkout step's current attempt. */
export function checkoutRequest(bs: Buildset): BuildRequest {
  return {
    ...commonRequest(bs, bs.checkout),
    kind: 'checkout',
    job: CHECKOUT_JOB,
    playbook: '',
    vars: {},
    // The executor bounds the checkout itself; the layout has no timeout for it.
    timeoutMs: null,
  };
}

function commonRequest(bs: Buildset, step: StepProgress) {
  return {
    id: step.requestId ?? '',
    pipeline: bs.pipeline,
    buildsetId: bs.id,
    attempt: step.attempt,
    ref: bs.ref,
    commit: bs.commit,
    precedence: bs.precedence,
    createdAt: step.queuedAt ?? 0,
    state: 'requested' as const,
    cancelRequested: false,
    executor: null,
    startedAt: null,
    outcome: null,
  };
}
