/**
 * How a build's end becomes a BuildOutcome. Pure: the clock and the log path
 * are passed in. The rule of thumb for `retryable`: true only when nothing
 * of the playbook can have run, or when the executor itself gave up (stop).
 */
import type { PlaybookOutcome } from '../bastion/index.js';
import { BastionError } from '../bastion/index.js';
import type { BuildOutcome } from '../model/index.js';
import { BuildAbortedError, ExecutorLogNameError, ExecutorPlaybookMissingError } from './errors.js';

export interface OutcomeContext {
  /** When the playbook (or checkout) started on the bastion; null if it never did. */
  readonly startedAt: number | null;
  readonly endedAt: number;
  readonly logPath: string | null;
}

/** The outcome of a build cut short by the executor (cancel, stop, lost lock). */
export function abortedOutcome(
  reason: BuildAbortedError,
  exitCode: number | null,
  ctx: OutcomeContext,
): BuildOutcome {
  const canceled = reason.why === 'cancel';
  return {
    result: canceled ? 'CANCELED' : 'ABORTED',
    retryable: !canceled,
    reason: reason.message,
    startedAt: ctx.startedAt,
    endedAt: ctx.endedAt,
    exitCode,
    logPath: ctx.logPath,
  };
}

/** The outcome of a playbook that ran (or was stopped) on the bastion. */
export function playbookOutcome(
  run: PlaybookOutcome,
  abortReason: unknown,
  logPath: string | null,
  timeoutMs: number | null,
): BuildOutcome {
  const ctx = { startedAt: run.startedAt, endedAt: run.endedAt, logPath };
  const base = { retryable: false, exitCode: run.exitCode, ...ctx };
  switch (run.result) {
    case 'SUCCESS':
      return { ...base, result: 'SUCCESS', reason: 'exit status 0' };
    case 'FAILURE':
      return { ...base, result: 'FAILURE', reason: `exit status ${run.exitCode ?? 'unknown'}` };
    case 'TIMED_OUT':
      return {
        ...base,
        result: 'TIMED_OUT',
        reason: timeoutMs === null ? 'timed out' : `timed out after ${timeoutMs} ms`,
      };
    case 'CANCELED':
      if (abortReason instanceof BuildAbortedError)
        return abortedOutcome(abortReason, run.exitCode, ctx);
      return { ...base, result: 'CANCELED', reason: 'canceled' };
  }
}

/** The outcome of a build that ended with an error instead of a playbook result. */
export function errorOutcome(
  error: Error,
  abortReason: unknown,
  ctx: OutcomeContext,
): BuildOutcome {
  // An abort shows up as whatever the interrupted step threw; the abort is the real story.
  if (abortReason instanceof BuildAbortedError) return abortedOutcome(abortReason, null, ctx);
  let retryable: boolean;
  if (error instanceof ExecutorPlaybookMissingError || error instanceof ExecutorLogNameError)
    retryable = false;
  else if (error instanceof BastionError) retryable = error.retryable;
  else retryable = ctx.startedAt === null;
  return {
    result: 'ERROR',
    retryable,
    reason: error.message,
    startedAt: ctx.startedAt,
    endedAt: ctx.endedAt,
    exitCode: null,
    logPath: ctx.logPath,
  };
}
