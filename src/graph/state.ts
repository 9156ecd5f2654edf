/** Classification of job states: which are final, which count as success, which block dependents. */
import type { JobState } from './types.js';

/** Final results that keep every dependent from running. */
export type BlockingState =
  'FAILURE' | 'TIMED_OUT' | 'SKIPPED' | 'RETRY_LIMIT' | 'CANCELED' | 'ERROR';

const BLOCKING: ReadonlySet<JobState> = new Set<JobState>([
  'FAILURE',
  'TIMED_OUT',
  'SKIPPED',
  'RETRY_LIMIT',
  'CANCELED',
  'ERROR',
]);

/** How a skip reason describes a blocking parent: `skipped: <job> <phrase>`. */
const PHRASE: Readonly<Record<BlockingState, string>> = {
  FAILURE: 'failed',
  TIMED_OUT: 'timed out',
  SKIPPED: 'was skipped',
  RETRY_LIMIT: 'hit its retry limit',
  CANCELED: 'was canceled',
  ERROR: 'ended in error',
};

/** The job will not change state again. RETRY is not final: another attempt follows. */
export function isTerminal(state: JobState): boolean {
  return state === 'SUCCESS' || BLOCKING.has(state);
}

export function isSuccess(state: JobState): boolean {
  return state === 'SUCCESS';
}

/** A final result other than success: every dependent, transitively, is skipped. */
export function isBlocking(state: JobState): state is BlockingState {
  return BLOCKING.has(state);
}

/** `skipped: infra-prod-base failed` */
export function skipReason(cause: string, causeState: BlockingState): string {
  return `skipped: ${cause} ${PHRASE[causeState]}`;
}
