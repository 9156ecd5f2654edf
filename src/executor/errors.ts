/**
 * Errors of the executor. Build failures are not errors here: they end as a
 * BuildOutcome. These classes name what the executor itself refused or why
 * it cut a build short.
 */
import { DrawbridgeError } from '../errors.js';

/** An executor option is missing or out of range. */
export class ExecutorConfigError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_EXECUTOR_CONFIG';
  constructor(
    readonly key: string,
    readonly expected: string,
  ) {
    super(`executor option ${key}: expected ${expected}`);
  }
}

/** A buildset id, job name or attempt cannot become part of a log file path. */
export class ExecutorLogNameError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_EXECUTOR_LOG_NAME';
  constructor(
    readonly kind: string,
    readonly value: string,
  ) {
    super(
      `invalid ${kind} ${JSON.stringify(value)} for a log file name: use 1-200 of [A-Za-z0-9._-], starting with a letter or digit`,
    );
  }
}

/** The job's playbook does not exist in the buildset's checkout. */
export class ExecutorPlaybookMissingError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_EXECUTOR_PLAYBOOK_MISSING';
  constructor(
    readonly buildset: string,
    readonly sha: string,
    readonly playbook: string,
  ) {
    super(`playbook ${playbook} does not exist in the checkout of buildset ${buildset} at ${sha}`);
  }
}

/** Why a running build was cut short; used as the reason of its AbortSignal. */
export type AbortCause = 'cancel' | 'stop' | 'lock-lost';

/** The abort reason of a build the executor ended early (cancel, stop, lost lock). */
export class BuildAbortedError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_EXECUTOR_BUILD_ABORTED';
  constructor(
    readonly why: AbortCause,
    readonly detail: string,
  ) {
    super(`build aborted (${why}): ${detail}`);
  }
}

/** The live log server could not listen on its configured address. */
export class ExecutorLogStreamError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_EXECUTOR_LOG_STREAM';
  constructor(
    readonly host: string,
    readonly port: number,
    cause: Error,
  ) {
    super(`cannot serve live logs on ${host}:${port}: ${cause.message}`, { cause });
  }
}
