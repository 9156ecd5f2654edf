import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { matches, nextFireAfter, parseCron } from './index.js';

const MINUTE = 60_000;
// 1970 .. 2200: wide enough to cross leap-year exceptions (2100).
const instant = fc.integer({ min: 0, max: 7_258_118_400_000 });

/** One list item of a field: a value, a range, or a step. */
function item(min: number, max: number): fc.Arbitrary<string> {
  const v = fc.integer({ min, max });
  return fc.oneof(
    v.map(String),
    fc.tuple(v, v).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    fc.integer({ min: 1, max: max - min + 1 }).map((s) => `*/${s}`),
    fc
      .tuple(v, v, fc.integer({ min: 1, max: 10 }))
      .map(([a, b, s]) => `${Math.min(a, b)}-${Math.max(a, b)}/${s}`),
  );
}

function field(min: number, max: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constant('*'),
    fc.array(item(min, max), { minLength: 1, maxLength: 3 }).map((xs) => xs.join(',')),
  );
}

/** Any parseable minute-level expression (seconds stay at 0). */
const anyExpr = fc
  .tuple(field(0, 59), field(0, 23), field(1, 31), field(1, 12), field(0, 6))
  .map((fs) => fs.join(' '))
  .filter((e) => {
    try {
      parseCron(e);
      return true;
    } catch {
      return false; // the rare random day/month pair that can never fire
    }
  });

/** Expressions firing at least daily, so a minute-by-minute scan is cheap. */
const dailyExpr = fc.tuple(field(0, 59), field(0, 23)).map(([m, h]) => `${m} ${h} * * *`);

describe('nextFireAfter properties', () => {
  it('returns a time strictly after `after` that matches the schedule', () => {
    fc.assert(
      fc.property(anyExpr, instant, (expr, after) => {
        const s = parseCron(expr);
        const next = nextFireAfter(s, after);
        expect(next).toBeGreaterThan(after);
        expect(matches(s, next)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('skips no matching minute between `after` and the result (sampled)', () => {
    fc.assert(
      fc.property(
        anyExpr,
        instant,
        fc.array(fc.double({ min: 0, max: 1, noNaN: true })),
        (expr, after, fractions) => {
          const s = parseCron(expr);
          const next = nextFireAfter(s, after);
          const first = Math.floor(after / MINUTE) * MINUTE + MINUTE;
          const span = Math.floor((next - first) / MINUTE);
          for (const f of fractions) {
            const sample = first + Math.floor(f * span) * MINUTE;
            if (sample < next) expect(matches(s, sample)).toBe(false);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('equals a minute-by-minute scan for schedules firing daily', () => {
    fc.assert(
      fc.property(dailyExpr, instant, (expr, after) => {
        const s = parseCron(expr);
        let scan = Math.floor(after / MINUTE) * MINUTE + MINUTE;
        while (!matches(s, scan)) scan += MINUTE;
        expect(nextFireAfter(s, after)).toBe(scan);
      }),
      { numRuns: 300 },
    );
  });

  it('walks consecutive fire times in increasing order without repeats', () => {
    fc.assert(
      fc.property(anyExpr, instant, (expr, after) => {
        const s = parseCron(expr);
        let t = after;
        for (let i = 0; i < 5; i++) {
          const n = nextFireAfter(s, t);
          expect(n).toBeGreaterThan(t);
          // From just before n, n is found again: the result is the earliest.
          expect(nextFireAfter(s, n - 1)).toBe(n);
          t = n;
        }
      }),
      { numRuns: 200 },
    );
  });
});
