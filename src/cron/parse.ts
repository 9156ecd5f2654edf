import { CronSyntaxError, type CronField } from './errors.js';

/**
 * A parsed timer expression. Every list is sorted ascending without
 * duplicates; day-of-week uses Zuul's numbering (0 = Monday ... 6 = Sunday).
 */
export interface CronSchedule {
  /** The expression as written, with whitespace collapsed. */
  readonly expression: string;
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly number[];
  /** 1 = January ... 12 = December. */
  readonly months: readonly number[];
  /** 0 = Monday ... 6 = Sunday. */
  readonly daysOfWeek: readonly number[];
  /** Upper bound of the random delay, in seconds; 0 when absent. */
  readonly jitterSeconds: number;
}

interface FieldSpec {
  readonly name: Exclude<CronField, 'expression' | 'jitter'>;
  readonly min: number;
  readonly max: number;
}

const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12 };
const DAY_OF_WEEK: FieldSpec = { name: 'day-of-week', min: 0, max: 6 };
const SECOND: FieldSpec = { name: 'second', min: 0, max: 59 };

/** The longest each month can be (February counts its leap day). */
const MAX_DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const ITEM = /^(?:(\*)|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/;

/**
 * Parses a timer expression:
 * `minute hour day-of-month month day-of-week [second [jitter]]`.
 * Throws CronSyntaxError naming the field at fault, including for an
 * expression that can never fire (a day that no listed month has).
 */
export function parseCron(expr: string): CronSchedule {
  const expression = expr.trim().replace(/\s+/g, ' ');
  const parts = expression === '' ? [] : expression.split(' ');
  if (parts.length < 5 || parts.length > 7) {
    throw new CronSyntaxError(
      expression,
      'expression',
      `expected 5 to 7 fields (minute hour day-of-month month day-of-week [second [jitter]]), got ${parts.length}`,
    );
  }
  const [minute, hour, dom, month, dow, second, jitter] = parts as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
    string | undefined,
  ];
  const schedule: CronSchedule = {
    expression,
    seconds: parseField(expression, SECOND, second ?? '0'),
    minutes: parseField(expression, MINUTE, minute),
    hours: parseField(expression, HOUR, hour),
    daysOfMonth: parseField(expression, DAY_OF_MONTH, dom),
    months: parseField(expression, MONTH, month),
    daysOfWeek: parseField(expression, DAY_OF_WEEK, dow),
    jitterSeconds: jitter === undefined ? 0 : parseJitter(expression, jitter),
  };
  assertCanFire(schedule);
  return Object.freeze(schedule);
}

function parseField(expression: string, spec: FieldSpec, text: string): readonly number[] {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    for (const v of parseItem(expression, spec, item)) values.add(v);
  }
  return Object.freeze([...values].sort((a, b) => a - b));
}

function parseItem(expression: string, spec: FieldSpec, item: string): number[] {
  const fail = (reason: string): never => {
    throw new CronSyntaxError(expression, spec.name, reason);
  };
  const m = ITEM.exec(item);
  if (m === null) {
    const hint = /[a-z]/i.test(item) ? ' (names are not supported, use numbers)' : '';
    return fail(
      `"${item}" is not a number from ${spec.min} to ${spec.max}, a range a-b, "*", or a step such as */15 or 1-30/5${hint}`,
    );
  }
  const [, star, first, last, step] = m;
  const inRange = (v: number): number =>
    v >= spec.min && v <= spec.max
      ? v
      : fail(`${v} is out of range: expected ${spec.min} to ${spec.max}`);
  // A bare start with a step (`5/15`) runs to the end of the field, as in
  // the scheduler library Zuul's timer is built on.
  const from = star !== undefined ? spec.min : inRange(Number(first));
  const to =
    star !== undefined || (last === undefined && step !== undefined)
      ? spec.max
      : inRange(Number(last ?? first));
  if (from > to) fail(`range ${from}-${to} runs backwards`);
  const by = step === undefined ? 1 : Number(step);
  if (by < 1) fail(`step must be at least 1, got ${by}`);
  const out: number[] = [];
  for (let v = from; v <= to; v += by) out.push(v);
  return out;
}

function parseJitter(expression: string, text: string): number {
  const seconds = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(seconds * 1000)) {
    throw new CronSyntaxError(expression, 'jitter', `"${text}" is not a whole number of seconds`);
  }
  return seconds;
}

// Day-of-month and day-of-week must both match (Zuul's semantics, unlike
// classic cron's "either"); every date falls on every weekday within 400
// years, so only a day no listed month has can make a schedule dead.
function assertCanFire(s: CronSchedule): void {
  const possible = s.months.some((m) =>
    s.daysOfMonth.some((d) => d <= (MAX_DAYS_IN_MONTH[m - 1] ?? 0)),
  );
  if (!possible) {
    throw new CronSyntaxError(
      s.expression,
      'day-of-month',
      `no listed day (${s.daysOfMonth.join(',')}) exists in the listed months (${s.months.join(',')}): the timer can never fire`,
    );
  }
}
