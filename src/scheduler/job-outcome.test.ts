import { describe, expect, it } from '@jest/globals';
import { isRetryable, jobStateFor } from './job-outcome.js';
import { outcome } from './test-fixtures.js';

describe('jobStateFor', () => {
  it.each([
    ['SUCCESS', false, 1, 3, 'SUCCESS'],
    ['SUCCESS', true, 3, 3, 'SUCCESS'],
    ['FAILURE', false, 1, 3, 'FAILURE'],
    // A playbook failure is never retried, whatever the flag says.
    ['FAILURE', true, 1, 3, 'FAILURE'],
    ['TIMED_OUT', false, 1, 3, 'TIMED_OUT'],
    ['CANCELED', false, 1, 3, 'CANCELED'],
    ['ERROR', false, 1, 3, 'ERROR'],
    ['ERROR', true, 1, 3, 'RETRY'],
    ['ERROR', true, 3, 3, 'RETRY_LIMIT'],
    ['ABORTED', false, 2, 3, 'RETRY'],
    ['ABORTED', false, 3, 3, 'RETRY_LIMIT'],
    ['LOST', false, 1, 2, 'RETRY'],
    ['LOST', true, 1, 1, 'RETRY_LIMIT'],
  ] as const)('%s (retryable %s) at attempt %i of %i is %s', (result, flag, attempt, of, want) => {
    expect(jobStateFor(outcome(result, { retryable: flag }), attempt, of)).toBe(want);
  });

  it('retryable means ABORTED, LOST, or ERROR marked retryable', () => {
    expect(isRetryable(outcome('ABORTED'))).toBe(true);
    expect(isRetryable(outcome('LOST'))).toBe(true);
    expect(isRetryable(outcome('ERROR', { retryable: true }))).toBe(true);
    expect(isRetryable(outcome('ERROR'))).toBe(false);
    expect(isRetryable(outcome('TIMED_OUT', { retryable: true }))).toBe(false);
  });
});
