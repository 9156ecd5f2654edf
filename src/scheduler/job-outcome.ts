/**
 * How one attempt's outcome becomes a step's next state. A playbook that
 * ran and failed is final; a build that never got to run its playbook (the
 * executor stopped, its lock vanished, the connection broke) is tried again
 * while attempts are left.
 */
import type { JobState } from '../graph/index.js';
import type { BuildOutcome } from '../model/build.js';
import type { OutcomeSummary } from '../model/buildset.js';

/** ABORTED and LOST always; ERROR only when the executor says it is safe. */
export function isRetryable(outcome: BuildOutcome): boolean {
  if (outcome.result === 'ABORTED' || outcome.result === 'LOST') return true;
  return outcome.result === 'ERROR' && outcome.retryable;
}

/**
 * The state a job takes after `attempt` of `attempts` ended with `outcome`:
 * RETRY means "request attempt + 1 now" and is never stored.
 */
export function jobStateFor(outcome: BuildOutcome, attempt: number, attempts: number): JobState {
  if (isRetryable(outcome)) return attempt < attempts ? 'RETRY' : 'RETRY_LIMIT';
  switch (outcome.result) {
    case 'SUCCESS':
      return 'SUCCESS';
    case 'FAILURE':
      return 'FAILURE';
    case 'TIMED_OUT':
      return 'TIMED_OUT';
    case 'CANCELED':
      return 'CANCELED';
    default:
      return 'ERROR';
  }
}

export function summarize(outcome: BuildOutcome, attempt: number): OutcomeSummary {
  return {
    attempt,
    result: outcome.result,
    retryable: outcome.retryable,
    reason: outcome.reason,
    startedAt: outcome.startedAt,
    endedAt: outcome.endedAt,
    exitCode: outcome.exitCode,
    logPath: outcome.logPath,
  };
}

/** The outcome a scheduler records for a build whose executor vanished. */
export function lostOutcome(startedAt: number | null, now: number): BuildOutcome {
  return {
    result: 'LOST',
    retryable: true,
    reason: "the executor's lock vanished (executor died or lost its session)",
    startedAt,
    endedAt: now,
    exitCode: null,
    logPath: null,
  };
}
