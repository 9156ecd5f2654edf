import { CronArgumentError } from './errors.js';
import type { CronSchedule } from './parse.js';

const SECOND_MS = 1000;

// Each pass of the search either returns or jumps to the start of the next
// candidate month, day, hour or minute, so even a leap-day-on-a-weekday
// timer (decades apart) resolves in a few hundred passes.
const MAX_PASSES = 100_000;

/** Zuul's weekday numbering (0 = Monday) for a UTC instant. */
export function weekdayOf(ms: number): number {
  return (new Date(ms).getUTCDay() + 6) % 7;
}

/** Whether the schedule fires at exactly this instant (UTC, whole second). */
export function matches(s: CronSchedule, ms: number): boolean {
  if (!Number.isFinite(ms) || ms % SECOND_MS !== 0) return false;
  const d = new Date(ms);
  return (
    s.seconds.includes(d.getUTCSeconds()) &&
    s.minutes.includes(d.getUTCMinutes()) &&
    s.hours.includes(d.getUTCHours()) &&
    s.daysOfMonth.includes(d.getUTCDate()) &&
    s.months.includes(d.getUTCMonth() + 1) &&
    s.daysOfWeek.includes(weekdayOf(ms))
  );
}

/**
 * The first instant strictly after `afterMs` (epoch ms) at which the
 * schedule fires, computed in UTC and without jitter.
 */
export function nextFireAfter(s: CronSchedule, afterMs: number): number {
  if (!Number.isFinite(afterMs)) {
    throw new CronArgumentError(
      s.expression,
      'afterMs',
      `expected a finite number, got ${afterMs}`,
    );
  }
  let t = Math.floor(afterMs / SECOND_MS) * SECOND_MS + SECOND_MS;
  for (let pass = 0; pass < MAX_PASSES && Number.isFinite(t); pass++) {
    const jump = nextCandidate(s, t);
    if (jump === t) return t;
    t = jump;
  }
  throw new CronArgumentError(
    s.expression,
    'afterMs',
    `no fire time found after ${afterMs} within the representable date range`,
  );
}

/** `t` itself when it matches, otherwise a later instant no match precedes. */
function nextCandidate(s: CronSchedule, t: number): number {
  const d = new Date(t);
  const y = d.getUTCFullYear();
  const mo = d.getUTCMonth();
  const day = d.getUTCDate();
  const h = d.getUTCHours();
  const mi = d.getUTCMinutes();
  const sec = d.getUTCSeconds();

  if (!s.months.includes(mo + 1)) {
    const m = firstAtLeast(s.months, mo + 1);
    return m === undefined ? utc(y + 1, s.months[0]! - 1, 1) : utc(y, m - 1, 1);
  }
  if (!s.daysOfMonth.includes(day)) {
    const next = firstAtLeast(s.daysOfMonth, day);
    // Date.UTC rolls a day past the month's end into the next month, which
    // is exactly where the search should continue.
    return next === undefined || next > daysIn(y, mo) ? utc(y, mo + 1, 1) : utc(y, mo, next);
  }
  if (!s.daysOfWeek.includes(weekdayOf(t))) return utc(y, mo, day + 1);
  if (!s.hours.includes(h)) {
    const next = firstAtLeast(s.hours, h);
    return next === undefined ? utc(y, mo, day + 1) : utc(y, mo, day, next);
  }
  if (!s.minutes.includes(mi)) {
    const next = firstAtLeast(s.minutes, mi);
    return next === undefined ? utc(y, mo, day, h + 1) : utc(y, mo, day, h, next);
  }
  if (!s.seconds.includes(sec)) {
    const next = firstAtLeast(s.seconds, sec);
    return next === undefined ? utc(y, mo, day, h, mi + 1) : utc(y, mo, day, h, mi, next);
  }
  return t;
}

function firstAtLeast(sorted: readonly number[], v: number): number | undefined {
  return sorted.find((x) => x >= v);
}

function daysIn(year: number, month0: number): number {
  return new Date(utc(year, month0 + 1, 0)).getUTCDate();
}

// Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear keeps them literal.
function utc(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(y, mo, d);
  date.setUTCHours(h, mi, s, 0);
  return date.getTime();
}
