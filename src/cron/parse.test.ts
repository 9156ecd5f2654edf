import { describe, expect, it } from '@jest/globals';
import { CronSyntaxError, parseCron } from './index.js';

function syntaxError(expr: string): CronSyntaxError {
  try {
    parseCron(expr);
  } catch (e) {
    if (e instanceof CronSyntaxError) return e;
    throw e;
  }
  throw new Error(`expected "${expr}" to be rejected`);
}

describe('parseCron: accepted forms', () => {
  it('expands * to the whole field', () => {
    const s = parseCron('* * * * *');
    expect(s.minutes).toHaveLength(60);
    expect(s.hours).toHaveLength(24);
    expect(s.daysOfMonth[0]).toBe(1);
    expect(s.daysOfMonth).toHaveLength(31);
    expect(s.months).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(s.daysOfWeek).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('defaults seconds to 0 and jitter to none', () => {
    const s = parseCron('0 2 * * *');
    expect(s.seconds).toEqual([0]);
    expect(s.jitterSeconds).toBe(0);
  });

  it('reads single values', () => {
    const s = parseCron('5 2 10 7 3');
    expect([s.minutes, s.hours, s.daysOfMonth, s.months, s.daysOfWeek]).toEqual([
      [5],
      [2],
      [10],
      [7],
      [3],
    ]);
  });

  it('reads steps over the whole field from its minimum', () => {
    expect(parseCron('*/15 * * * *').minutes).toEqual([0, 15, 30, 45]);
    expect(parseCron('0 */5 * * *').hours).toEqual([0, 5, 10, 15, 20]);
    expect(parseCron('0 0 */10 * *').daysOfMonth).toEqual([1, 11, 21, 31]);
    expect(parseCron('0 0 1 */4 *').months).toEqual([1, 5, 9]);
  });

  it('reads ranges and stepped ranges', () => {
    expect(parseCron('10-13 * * * *').minutes).toEqual([10, 11, 12, 13]);
    expect(parseCron('0 0 1-30/5 * *').daysOfMonth).toEqual([1, 6, 11, 16, 21, 26]);
    expect(parseCron('0 0 * * 0-4').daysOfWeek).toEqual([0, 1, 2, 3, 4]);
  });

  it('reads a start with a step as running to the end of the field', () => {
    expect(parseCron('5/20 * * * *').minutes).toEqual([5, 25, 45]);
  });

  it('reads lists mixing forms, sorted and without duplicates', () => {
    expect(parseCron('30,0-2,*/20,1 * * * *').minutes).toEqual([0, 1, 2, 20, 30, 40]);
  });

  it('accepts a step longer than its range (it keeps the start)', () => {
    expect(parseCron('0 3-5/10 * * *').hours).toEqual([3]);
  });

  it('reads the sixth field as seconds and the seventh as jitter', () => {
    const s = parseCron('0 0 * * * */30 60');
    expect(s.seconds).toEqual([0, 30]);
    expect(s.jitterSeconds).toBe(60);
  });

  it('collapses whitespace in the stored expression', () => {
    expect(parseCron('  0   2 * *\t* ').expression).toBe('0 2 * * *');
  });

  it('accepts 29 February alone (leap years exist)', () => {
    expect(parseCron('0 0 29 2 *').daysOfMonth).toEqual([29]);
  });

  it('accepts 31 when at least one listed month has it', () => {
    expect(parseCron('0 0 31 2,4,7 *').months).toEqual([2, 4, 7]);
  });

  it('returns a frozen schedule', () => {
    const s = parseCron('0 2 * * *');
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.minutes)).toBe(true);
  });
});

describe('parseCron: errors name the field and what was expected', () => {
  it.each([
    ['0 2 * *', 'expression', /expected 5 to 7 fields.*got 4/],
    ['0 2 * * * 0 0 0', 'expression', /got 8/],
    ['', 'expression', /got 0/],
    ['60 * * * *', 'minute', /60 is out of range: expected 0 to 59/],
    ['0 24 * * *', 'hour', /24 is out of range: expected 0 to 23/],
    ['0 0 0 * *', 'day-of-month', /0 is out of range: expected 1 to 31/],
    ['0 0 32 * *', 'day-of-month', /32 is out of range/],
    ['0 0 * 13 *', 'month', /13 is out of range: expected 1 to 12/],
    ['0 0 * 0 *', 'month', /0 is out of range/],
    ['0 0 * * 7', 'day-of-week', /7 is out of range: expected 0 to 6/],
    ['0 0 * * * 60', 'second', /60 is out of range/],
    ['0 0 * * * 0 -5', 'jitter', /not a whole number of seconds/],
    ['0 0 * * * 0 1.5', 'jitter', /not a whole number of seconds/],
    ['0 0 * * mon', 'day-of-week', /names are not supported/],
    ['0 0 * jan *', 'month', /names are not supported/],
    ['0 5-2 * * *', 'hour', /range 5-2 runs backwards/],
    ['*/0 * * * *', 'minute', /step must be at least 1/],
    ['1,,2 * * * *', 'minute', /"" is not a number/],
    ['-1 * * * *', 'minute', /"-1" is not a number/],
    ['1-2-3 * * * *', 'minute', /"1-2-3"/],
    ['*/ * * * *', 'minute', /"\*\/"/],
    ['? * * * *', 'minute', /a step such as \*\/15 or 1-30\/5/],
  ])('%j is rejected at %s', (expr, field, reason) => {
    const e = syntaxError(expr);
    expect(e.field).toBe(field);
    expect(e.reason).toMatch(reason);
    expect(e.code).toBe('DRAWBRIDGE_ERR_CRON_SYNTAX');
    expect(e.message).toContain(`${field}: `);
    expect(e.expression).toBe(expr.trim().replace(/\s+/g, ' '));
  });

  it.each(['0 0 30 2 *', '0 0 31 4,6,9,11 *', '0 0 30,31 2 *'])(
    '%j can never fire and is rejected',
    (expr) => {
      const e = syntaxError(expr);
      expect(e.field).toBe('day-of-month');
      expect(e.reason).toMatch(/can never fire/);
    },
  );

  it('puts the expression, the field and the reason in the message', () => {
    expect(syntaxError('0 25 * * *').message).toBe(
      'timer "0 25 * * *": hour: 25 is out of range: expected 0 to 23',
    );
  });
});
