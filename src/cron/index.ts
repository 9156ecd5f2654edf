/**
 * Timer expressions for `timer` pipeline triggers, in Zuul's dialect.
 * See src/cron/README.md for the accepted syntax and the choices made.
 */
export { parseCron, type CronSchedule } from './parse.js';
export { nextFireAfter, matches, weekdayOf } from './next.js';
export { jitterMs, slotId } from './slot.js';
export { CronSyntaxError, CronArgumentError, type CronField } from './errors.js';
