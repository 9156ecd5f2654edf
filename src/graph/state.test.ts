import { describe, expect, it } from '@jest/globals';
import { isBlocking, isSuccess, isTerminal, skipReason } from './state.js';
import { JOB_STATES } from './types.js';

describe('job state helpers', () => {
  it('classifies every state', () => {
    const table = Object.fromEntries(
      JOB_STATES.map((s) => [s, [isTerminal(s), isSuccess(s), isBlocking(s)]]),
    );
    expect(table).toEqual({
      WAITING: [false, false, false],
      QUEUED: [false, false, false],
      RUNNING: [false, false, false],
      SUCCESS: [true, true, false],
      FAILURE: [true, false, true],
      TIMED_OUT: [true, false, true],
      SKIPPED: [true, false, true],
      RETRY: [false, false, false],
      RETRY_LIMIT: [true, false, true],
      CANCELED: [true, false, true],
      ERROR: [true, false, true],
    });
  });

  it('a terminal state is either success or blocking', () => {
    for (const s of JOB_STATES) expect(isTerminal(s)).toBe(isSuccess(s) || isBlocking(s));
  });

  it('words skip reasons', () => {
    expect(skipReason('infra-prod-base', 'FAILURE')).toBe('skipped: infra-prod-base failed');
    expect(skipReason('x', 'TIMED_OUT')).toBe('skipped: x timed out');
  });
});
