import { describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { DurationEstimates } from './durations.js';

const silent = pino({ level: 'silent' });

/** A source whose answers the test releases by hand, counting the queries. */
function controlled() {
  const asked: string[] = [];
  const waiting: ((ms: number | undefined) => void)[] = [];
  return {
    asked,
    source: (job: string) => {
      asked.push(job);
      return new Promise<number | undefined>((resolve) => waiting.push(resolve));
    },
    answer: async (ms: number | undefined) => {
      waiting.shift()?.(ms);
      // Let the estimate's then/finally run.
      for (let i = 0; i < 3; i++) await Promise.resolve();
    },
  };
}

describe('DurationEstimates', () => {
  it('answers 0 at once, asks once, then answers what the source said', async () => {
    const src = controlled();
    const estimates = new DurationEstimates(src.source, () => 0, silent);
    expect(estimates.expected('base')).toBe(0);
    expect(estimates.expected('base')).toBe(0);
    expect(src.asked).toEqual(['base']);
    await src.answer(42_000);
    expect(estimates.expected('base')).toBe(42_000);
    expect(src.asked).toEqual(['base']);
  });

  it('asks again once the estimate is older than its maximum age, keeping the old one meanwhile', async () => {
    let now = 0;
    const src = controlled();
    const estimates = new DurationEstimates(src.source, () => now, silent, 1_000);
    estimates.expected('dns');
    await src.answer(5_000);
    now = 999;
    expect(estimates.expected('dns')).toBe(5_000);
    expect(src.asked).toHaveLength(1);
    now = 1_000;
    expect(estimates.expected('dns')).toBe(5_000);
    expect(src.asked).toHaveLength(2);
    await src.answer(7_000);
    expect(estimates.expected('dns')).toBe(7_000);
  });

  it('treats a failing source as unknown and without one answers 0 without asking', async () => {
    const estimates = new DurationEstimates(
      () => Promise.reject(new Error('db down')),
      () => 0,
      silent,
    );
    expect(estimates.expected('mail')).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(estimates.expected('mail')).toBe(0);
    expect(new DurationEstimates(undefined, () => 0, silent).expected('mail')).toBe(0);
  });
});
