// The shared error base carries no I/O; it is the one import pure modules
// need from outside (the lint pattern '../*' is wider than its intent).
import { DrawbridgeError } from '../errors.js';

/** A `files` / `irrelevant-files` regex that is not valid, or that JavaScript cannot express. */
export class InvalidPatternError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_GRAPH_BAD_PATTERN';
  constructor(
    readonly pattern: string,
    readonly reason: string,
  ) {
    super(`bad file pattern ${JSON.stringify(pattern)}: ${reason}`);
  }
}

/** The dependencies form a cycle; `cycle` starts and ends with the same job. */
export class GraphCycleError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_GRAPH_CYCLE';
  constructor(readonly cycle: readonly string[]) {
    super(`dependency cycle: ${cycle.join(' -> ')}`);
  }
}

/** Why a hard dependency cannot be satisfied in a buildset. */
export type MissingDependencyCause = 'not-selected' | 'not-defined';

/** A job hard-depends on a job that will not run in this buildset. */
export class HardDependencyError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_GRAPH_HARD_DEPENDENCY';
  constructor(
    readonly job: string,
    readonly dependency: string,
    readonly dependencyStatus: MissingDependencyCause,
  ) {
    const why =
      dependencyStatus === 'not-selected'
        ? 'which its file matchers did not select for this change'
        : 'which is not a job of this pipeline';
    super(`job ${job} hard-depends on ${dependency}, ${why}`);
  }
}

/** Two jobs handed to the graph share a name (the loader must merge variants first). */
export class DuplicateJobError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_GRAPH_DUPLICATE_JOB';
  constructor(readonly job: string) {
    super(`job ${job} appears more than once in the graph`);
  }
}

/** A duration handed to the critical-path calculation is negative or not a number. */
export class InvalidDurationError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_GRAPH_BAD_DURATION';
  constructor(
    readonly job: string,
    readonly durationMs: number,
  ) {
    super(`job ${job}: duration ${durationMs} ms is not a finite, non-negative number`);
  }
}

/** A buildset-level problem found while freezing; the buildset must not run. */
export type FreezeError = HardDependencyError | GraphCycleError;
