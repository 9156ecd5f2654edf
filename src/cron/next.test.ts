import { describe, expect, it } from '@jest/globals';
import { CronArgumentError, matches, nextFireAfter, parseCron, weekdayOf } from './index.js';

const at = (iso: string): number => Date.parse(iso);
const next = (expr: string, afterIso: string): string =>
  new Date(nextFireAfter(parseCron(expr), at(afterIso))).toISOString();

/** The first n fire times after `afterIso`, each found from the previous one. */
function series(expr: string, afterIso: string, n: number): string[] {
  const s = parseCron(expr);
  const out: string[] = [];
  let t = at(afterIso);
  for (let i = 0; i < n; i++) {
    t = nextFireAfter(s, t);
    out.push(new Date(t).toISOString());
  }
  return out;
}

describe('weekdayOf uses Zuul numbering (0 = Monday)', () => {
  it.each([
    ['2026-11-23T12:00:00Z', 0], // a Monday
    ['2026-11-29T23:59:59Z', 6], // a Sunday
    ['2024-02-29T00:00:00Z', 3], // a Thursday
  ])('%s is day %d', (iso, day) => {
    expect(weekdayOf(at(iso))).toBe(day);
  });
});

describe('nextFireAfter', () => {
  it('finds the daily time later the same day or the next day', () => {
    expect(next('0 2 * * *', '2026-11-23T01:59:59Z')).toBe('2026-11-23T02:00:00.000Z');
    expect(next('0 2 * * *', '2026-11-23T18:00:00Z')).toBe('2026-11-24T02:00:00.000Z');
  });

  it('is strictly after: a fire time itself yields the following one', () => {
    expect(next('0 2 * * *', '2026-11-23T02:00:00Z')).toBe('2026-11-24T02:00:00.000Z');
    expect(next('0 * * * *', '2026-11-23T02:00:00Z')).toBe('2026-11-23T03:00:00.000Z');
  });

  it('treats a fraction of a second past a fire time as after it', () => {
    expect(next('* * * * *', '2026-11-23T02:00:00.001Z')).toBe('2026-11-23T02:01:00.000Z');
    expect(next('* * * * *', '2026-11-23T01:59:59.999Z')).toBe('2026-11-23T02:00:00.000Z');
  });

  it('walks steps within the hour and across it', () => {
    expect(series('*/15 * * * *', '2026-11-23T10:20:00Z', 4)).toEqual([
      '2026-11-23T10:30:00.000Z',
      '2026-11-23T10:45:00.000Z',
      '2026-11-23T11:00:00.000Z',
      '2026-11-23T11:15:00.000Z',
    ]);
  });

  it('walks a stepped range of days and rolls into the next month', () => {
    expect(series('0 0 1-30/10 * *', '2026-11-15T00:00:00Z', 4)).toEqual([
      '2026-11-21T00:00:00.000Z',
      '2026-12-01T00:00:00.000Z',
      '2026-12-11T00:00:00.000Z',
      '2026-12-21T00:00:00.000Z',
    ]);
  });

  it('rolls over the end of the year', () => {
    expect(next('30 23 31 12 *', '2026-12-31T23:30:00Z')).toBe('2027-12-31T23:30:00.000Z');
    expect(next('0 0 1 1 *', '2026-06-01T00:00:00Z')).toBe('2027-01-01T00:00:00.000Z');
  });

  it('skips months that lack the day', () => {
    expect(series('0 12 31 * *', '2026-01-31T12:00:00Z', 3)).toEqual([
      '2026-03-31T12:00:00.000Z',
      '2026-05-31T12:00:00.000Z',
      '2026-07-31T12:00:00.000Z',
    ]);
  });

  it('fires on 29 February only in leap years, skipping 2100', () => {
    expect(series('0 0 29 2 *', '2023-01-01T00:00:00Z', 3)).toEqual([
      '2024-02-29T00:00:00.000Z',
      '2028-02-29T00:00:00.000Z',
      '2032-02-29T00:00:00.000Z',
    ]);
    expect(next('0 0 29 2 *', '2096-03-01T00:00:00Z')).toBe('2104-02-29T00:00:00.000Z');
  });

  it('requires day-of-month and day-of-week both to match', () => {
    // Friday (4) the 13th: Feb, Mar and Nov in 2026, then Aug 2027.
    expect(series('0 9 13 * 4', '2026-01-01T00:00:00Z', 4)).toEqual([
      '2026-02-13T09:00:00.000Z',
      '2026-03-13T09:00:00.000Z',
      '2026-11-13T09:00:00.000Z',
      '2027-08-13T09:00:00.000Z',
    ]);
  });

  it('finds a leap day on a given weekday decades ahead, quickly', () => {
    const s = parseCron('0 0 29 2 0'); // 29 February falling on a Monday
    const started = performance.now();
    expect(new Date(nextFireAfter(s, at('2016-03-01T00:00:00Z'))).toISOString()).toBe(
      '2044-02-29T00:00:00.000Z',
    );
    expect(new Date(nextFireAfter(s, at('2072-03-01T00:00:00Z'))).toISOString()).toBe(
      '2112-02-29T00:00:00.000Z',
    );
    expect(performance.now() - started).toBeLessThan(250);
  });

  it('picks weekdays with Monday = 0', () => {
    // 2026-11-23 is a Monday; 5,6 = Saturday, Sunday.
    expect(series('0 6 * * 5,6', '2026-11-23T00:00:00Z', 3)).toEqual([
      '2026-11-28T06:00:00.000Z',
      '2026-11-29T06:00:00.000Z',
      '2026-12-05T06:00:00.000Z',
    ]);
  });

  it('honours the seconds field', () => {
    expect(series('* * * * * 10,40', '2026-11-23T10:00:30Z', 3)).toEqual([
      '2026-11-23T10:00:40.000Z',
      '2026-11-23T10:01:10.000Z',
      '2026-11-23T10:01:40.000Z',
    ]);
    expect(next('0 0 * * * 59', '2026-11-23T00:00:59Z')).toBe('2026-11-24T00:00:59.000Z');
  });

  it('ignores jitter', () => {
    expect(next('0 2 * * * 0 3600', '2026-11-23T01:00:00Z')).toBe('2026-11-23T02:00:00.000Z');
  });

  it('resets smaller fields when a larger one moves', () => {
    expect(next('15,45 3,20 * * *', '2026-11-23T03:50:00Z')).toBe('2026-11-23T20:15:00.000Z');
    expect(next('15,45 3,20 * * *', '2026-11-23T20:50:00Z')).toBe('2026-11-24T03:15:00.000Z');
  });

  it('works before 1970 and at the epoch', () => {
    expect(next('0 0 1 1 *', '1969-06-01T00:00:00Z')).toBe('1970-01-01T00:00:00.000Z');
    expect(next('0 0 * * *', '1970-01-01T00:00:00Z')).toBe('1970-01-02T00:00:00.000Z');
  });

  it('rejects a non-finite time', () => {
    const s = parseCron('0 2 * * *');
    expect(() => nextFireAfter(s, Number.NaN)).toThrow(CronArgumentError);
    expect(() => nextFireAfter(s, Number.POSITIVE_INFINITY)).toThrow(/finite/);
  });

  it('throws rather than loops past the last representable date', () => {
    const s = parseCron('0 0 1 1 *');
    expect(() => nextFireAfter(s, 8.64e15 - 1000)).toThrow(/representable/);
  });
});

describe('matches', () => {
  const s = parseCron('30 2 * * 0 15');
  it('accepts exactly the listed instant', () => {
    expect(matches(s, at('2026-11-23T02:30:15Z'))).toBe(true);
  });
  it.each([
    '2026-11-23T02:30:16Z', // second
    '2026-11-23T02:31:15Z', // minute
    '2026-11-23T03:30:15Z', // hour
    '2026-11-24T02:30:15Z', // weekday
  ])('rejects %s', (iso) => {
    expect(matches(s, at(iso))).toBe(false);
  });
  it('rejects instants that are not whole seconds, and NaN', () => {
    expect(matches(s, at('2026-11-23T02:30:15Z') + 1)).toBe(false);
    expect(matches(s, Number.NaN)).toBe(false);
  });
});
