import { DrawbridgeError } from '../errors.js';

/** The part of a timer expression an error is about. */
export type CronField =
  'expression' | 'minute' | 'hour' | 'day-of-month' | 'month' | 'day-of-week' | 'second' | 'jitter';

/** A timer expression that does not parse, or that can never fire. */
export class CronSyntaxError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_CRON_SYNTAX';
  constructor(
    readonly expression: string,
    readonly field: CronField,
    readonly reason: string,
  ) {
    super(`timer "${expression}": ${field}: ${reason}`);
  }
}

/** A schedule function was called with an argument it cannot work with. */
export class CronArgumentError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_CRON_ARGUMENT';
  constructor(
    readonly expression: string,
    readonly argument: string,
    readonly reason: string,
  ) {
    super(`timer "${expression}": ${argument}: ${reason}`);
  }
}
