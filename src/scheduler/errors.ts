/**
 * Errors of the scheduler's pure core. User configuration never throws here
 * (a bad graph becomes a buildset that ends in ERROR); these are raised when
 * the shell hands the core inconsistent input, which is a programming error.
 */
import { DrawbridgeError } from '../errors.js';

/** markDispatched was called for a job that is not ready to run now. */
export class NotDispatchableError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_SCHEDULER_NOT_DISPATCHABLE';
  constructor(
    readonly buildsetId: string,
    readonly job: string,
    /** The job's state, `unknown` for a job not in the buildset, or the buildset's state. */
    readonly state: string,
  ) {
    super(`buildset ${buildsetId}: job ${job} cannot be dispatched (${state})`);
  }
}

/** An input names another buildset or pipeline than the record it was applied to. */
export class WrongBuildsetError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_SCHEDULER_WRONG_BUILDSET';
  constructor(
    readonly expected: string,
    readonly got: string,
  ) {
    super(`input for ${got} applied to ${expected}`);
  }
}

/** The pipeline queue lists a buildset whose record the caller did not provide. */
export class MissingBuildsetError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_SCHEDULER_MISSING_BUILDSET';
  constructor(
    readonly pipeline: string,
    readonly buildsetId: string,
  ) {
    super(`pipeline ${pipeline}: queued buildset ${buildsetId} has no record`);
  }
}
