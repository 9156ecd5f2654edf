/**
 * Errors of the scheduler component (the shell over ZooKeeper). The pure
 * core's own errors live in ./errors.ts; these are about the process:
 * its options, and a pipeline lock lost in the middle of a pass.
 */
import { DrawbridgeError } from '../errors.js';

/** The scheduler's options failed validation; `key` names the option. */
export class SchedulerConfigError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_SCHEDULER_CONFIG';
  constructor(
    readonly key: string,
    readonly expected: string,
  ) {
    super(`scheduler option ${key}: expected ${expected}`);
  }
}

/** The pipeline lock was no longer ours before a write: the pass was abandoned, nothing written. */
export class SchedulerLockLostError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_SCHEDULER_LOCK_LOST';
  constructor(readonly pipeline: string) {
    super(`pipeline ${pipeline}: lock lost during a pass; the pass was abandoned`);
  }
}
