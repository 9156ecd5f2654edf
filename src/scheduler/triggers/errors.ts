/**
 * Errors of the trigger sources (timer slots, git polling). Each names the
 * input it refused or the remote it could not reach; codes are listed in
 * docs/errors.md under "Triggers".
 */
import { DrawbridgeError } from '../../errors.js';

/** A branch or ref name that git or a znode name would misread. */
export class TriggerInvalidRefError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_TRIGGER_INVALID_REF';
  constructor(
    readonly ref: string,
    readonly reason: string,
  ) {
    super(`invalid branch or ref ${JSON.stringify(ref)}: ${reason}`);
  }
}

/** A repository URL that is not one of the accepted forms. */
export class TriggerInvalidUrlError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_TRIGGER_INVALID_URL';
  constructor(
    /** The URL with any password removed. */
    readonly url: string,
    readonly reason: string,
  ) {
    super(`invalid repository URL ${JSON.stringify(url)}: ${reason}`);
  }
}

/** A trigger option out of range (negative poll interval, relative clone path...). */
export class TriggerOptionError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_TRIGGER_OPTION';
  constructor(
    readonly option: string,
    readonly reason: string,
  ) {
    super(`trigger option ${option}: ${reason}`);
  }
}

/** A timer expression of a pipeline that does not parse (the layout loader should have said so). */
export class TriggerTimerError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_TRIGGER_TIMER';
  constructor(
    readonly pipeline: string,
    readonly time: string,
    options: { cause: unknown },
  ) {
    super(
      `pipeline ${pipeline}: timer "${time}" cannot be scheduled: ${String((options.cause as Error)?.message ?? options.cause)}`,
      options,
    );
  }
}

/** Fetching the branch from the repository failed; no event was put. */
export class TriggerFetchError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_TRIGGER_FETCH';
  constructor(
    /** The URL with any password removed. */
    readonly url: string,
    readonly ref: string,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    const tail = stderr.trim().split('\n').slice(-3).join(' / ');
    super(`cannot fetch ${ref} from ${url}${tail ? `: ${tail}` : ''}`, options);
  }
}
