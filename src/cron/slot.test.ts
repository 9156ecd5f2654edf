import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CronArgumentError, jitterMs, nextFireAfter, parseCron, slotId } from './index.js';
import { hash53 } from './slot.js';

const at = (iso: string): number => Date.parse(iso);

describe('jitterMs', () => {
  it('is 0 without a jitter field', () => {
    expect(jitterMs(parseCron('0 2 * * *'), 'periodic')).toBe(0);
    expect(jitterMs(parseCron('0 2 * * * 0 0'), 'periodic')).toBe(0);
  });

  it('stays in [0, jitter * 1000) for any seed', () => {
    const s = parseCron('0 2 * * * 0 60');
    fc.assert(
      fc.property(fc.string(), (seed) => {
        const j = jitterMs(s, seed);
        return Number.isInteger(j) && j >= 0 && j < 60_000;
      }),
    );
  });

  it('gives the same delay for the same seed and differing ones across seeds', () => {
    const s = parseCron('0 2 * * * 0 3600');
    expect(jitterMs(s, 'periodic/20261124T020000Z')).toBe(
      jitterMs(parseCron('0 2 * * * 0 3600'), 'periodic/20261124T020000Z'),
    );
    const delays = new Set(Array.from({ length: 200 }, (_, i) => jitterMs(s, `periodic/${i}`)));
    expect(delays.size).toBeGreaterThan(190);
  });

  it('spreads delays over the whole range', () => {
    const s = parseCron('0 2 * * * 0 10');
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 2000; i++) {
      const b = Math.floor(jitterMs(s, `hourly-${i}`) / 1000);
      buckets[b] = (buckets[b] ?? 0) + 1;
    }
    // 200 expected per bucket; a broken hash piles them into a few.
    for (const n of buckets) expect(n).toBeGreaterThan(120);
  });
});

describe('hash53', () => {
  it('is a fixed function of its input (the same in every process)', () => {
    // Pinned values: a change here changes every jitter and slot key and
    // must be treated as a compatibility break for running clusters.
    expect(hash53('periodic')).toBe(282382297508715);
    expect(hash53('a')).not.toBe(hash53('b'));
    expect(Number.isSafeInteger(hash53('x'.repeat(1000)))).toBe(true);
  });
});

describe('slotId', () => {
  const daily = parseCron('0 2 * * *');
  const fire = at('2026-11-24T02:00:00Z');

  it('starts with the basic ISO UTC time and is a valid znode name', () => {
    const id = slotId(daily, fire);
    expect(id).toMatch(/^20261124T020000Z-[0-9a-z]+$/);
  });

  it('is the same for the same schedule and instant, whatever the jitter', () => {
    expect(slotId(parseCron('0  2 * * * 0 600'), fire)).toBe(slotId(daily, fire));
    expect(slotId(parseCron('0 2 * * * 0'), fire)).toBe(slotId(daily, fire));
  });

  it('differs between schedules that share an instant', () => {
    expect(slotId(parseCron('0 2,14 * * *'), fire)).not.toBe(slotId(daily, fire));
  });

  it('sorts by time', () => {
    const a = slotId(daily, fire);
    const b = slotId(daily, nextFireAfter(daily, fire));
    expect(a < b).toBe(true);
  });

  it('rejects an instant that is not a fire time', () => {
    expect(() => slotId(daily, fire + 1500)).toThrow(CronArgumentError);
    expect(() => slotId(daily, at('2026-11-24T03:00:00Z'))).toThrow(/not a fire time/);
  });
});
