import { CronArgumentError } from './errors.js';
import { matches } from './next.js';
import type { CronSchedule } from './parse.js';

/**
 * A deterministic delay in [0, jitterSeconds * 1000) ms derived from `seed`
 * (for example pipeline name plus slot id): every scheduler computes the
 * same delay for the same slot, so they agree on when it is due.
 */
export function jitterMs(s: CronSchedule, seed: string): number {
  const bound = s.jitterSeconds * 1000;
  if (bound === 0) return 0;
  return hash53(seed) % bound;
}

/**
 * A key for one firing of the schedule, identical in every process:
 * `<UTC time, basic ISO>-<hash of the schedule's fields>`, e.g.
 * `20261124T020000Z-2870co3t3b2`. It sorts by time and contains only
 * [0-9A-Za-z-], so it can name a ZooKeeper node. `fireMs` must be an exact
 * fire time (no jitter added): anything else would yield a key no other
 * scheduler computes, so it throws CronArgumentError.
 */
export function slotId(s: CronSchedule, fireMs: number): string {
  if (!matches(s, fireMs)) {
    throw new CronArgumentError(
      s.expression,
      'fireMs',
      `${fireMs} is not a fire time of this timer (pass the value nextFireAfter returned, without jitter)`,
    );
  }
  const iso = new Date(fireMs).toISOString(); // 2026-11-23T02:00:00.000Z
  const basic = iso.slice(0, 19).replace(/[-:]/g, '') + 'Z';
  return `${basic}-${hash53(canonical(s)).toString(36)}`;
}

// Built from the parsed fields rather than the text, so `0 2 * * *` and
// `0 2 * * * 0 30` (same instants, other jitter) share their slots.
function canonical(s: CronSchedule): string {
  return [s.seconds, s.minutes, s.hours, s.daysOfMonth, s.months, s.daysOfWeek]
    .map((f) => f.join(','))
    .join(' ');
}

/**
 * A 53-bit string hash: two 32-bit multiply-xorshift lanes over the UTF-16
 * code units, mixed at the end. Stable across processes and platforms.
 */
export function hash53(text: string): number {
  let a = 0x9e3779b9;
  let b = 0x85ebca6b;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0xcc9e2d51);
    a = (a << 13) | (a >>> 19);
    b = Math.imul(b ^ c, 0x1b873593);
    b = (b << 15) | (b >>> 17);
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b) ^ Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b = Math.imul(b ^ (b >>> 16), 0x27d4eb2f) ^ Math.imul(a ^ (a >>> 15), 0x165667b1);
  return (b >>> 0) * 0x200000 + ((a >>> 0) & 0x1fffff);
}
