/**
 * Build requests and their results: the records schedulers and executors
 * exchange through ZooKeeper. Validated on every decode, because a record
 * written by another version of Drawbridge must fail loudly, not half-work.
 */
import { z } from 'zod';

export const BUILD_REQUEST_STATES = ['requested', 'running', 'completed'] as const;
export type BuildRequestState = (typeof BUILD_REQUEST_STATES)[number];

/**
 * How one attempt ended, as the executor saw it. The scheduler turns this
 * into a job state: a retryable result with attempts left becomes RETRY.
 * - ABORTED: the executor stopped before the build finished; always retried.
 * - LOST: written by a scheduler when the executor's lock vanished; retried.
 * - ERROR: Drawbridge could not run the playbook (bad workspace, missing
 *   playbook); retried only when `retryable` says so (connection problems).
 */
export const BUILD_RESULTS = [
  'SUCCESS',
  'FAILURE',
  'TIMED_OUT',
  'ERROR',
  'ABORTED',
  'LOST',
  'CANCELED',
] as const;
export type BuildResult = (typeof BUILD_RESULTS)[number];

const sha = z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-character commit sha');
const epochMs = z.number().int().nonnegative();

export const buildOutcomeSchema = z.object({
  result: z.enum(BUILD_RESULTS),
  /** True when the playbook never started (or the executor stopped): safe to run again. */
  retryable: z.boolean(),
  /** For people: why it ended so ("exit status 2", "ssh connection lost before start"). */
  reason: z.string(),
  startedAt: epochMs.nullable(),
  endedAt: epochMs,
  exitCode: z.number().int().nullable(),
  /** Where the executor wrote the log, on the executor's host. */
  logPath: z.string().nullable(),
});
export type BuildOutcome = z.infer<typeof buildOutcomeSchema>;

export const buildRequestSchema = z.object({
  id: z.string().min(1),
  /** `checkout` is the buildset's implicit first step; `job` runs a playbook. */
  kind: z.enum(['checkout', 'job']),
  pipeline: z.string().min(1),
  buildsetId: z.string().min(1),
  /** The job's name; `checkout` for the checkout step. */
  job: z.string().min(1),
  attempt: z.number().int().positive(),
  ref: z.string().min(1),
  commit: sha,
  /** Relative to the repository root; empty for the checkout step. */
  playbook: z.string(),
  vars: z.record(z.string(), z.unknown()),
  timeoutMs: z.number().int().positive().nullable(),
  precedence: z.enum(['high', 'normal', 'low']),
  createdAt: epochMs,
  state: z.enum(BUILD_REQUEST_STATES),
  /** Set by a scheduler (dequeue, cancel); the executor running it aborts the build. */
  cancelRequested: z.boolean(),
  executor: z.string().nullable(),
  startedAt: epochMs.nullable(),
  outcome: buildOutcomeSchema.nullable(),
});
export type BuildRequest = z.infer<typeof buildRequestSchema>;

/** Put on the pipeline's result queue in the same transaction that completes the request. */
export const buildCompletedEventSchema = z.object({
  type: z.literal('build-completed'),
  requestId: z.string().min(1),
  buildsetId: z.string().min(1),
  job: z.string().min(1),
  attempt: z.number().int().positive(),
  outcome: buildOutcomeSchema,
});
export type BuildCompletedEvent = z.infer<typeof buildCompletedEventSchema>;

/** Requests are served high precedence first, then oldest first. */
export function compareRequests(a: BuildRequest, b: BuildRequest): number {
  const rank = { high: 0, normal: 1, low: 2 } as const;
  return (
    rank[a.precedence] - rank[b.precedence] || a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)
  );
}
