import { DrawbridgeError } from '../errors.js';

/** Base of the operations errors (rolling restart, control requests). */
export abstract class OpsError extends DrawbridgeError {}

/** Draining this component would leave no other of its kind running. */
export class OpsLastComponentError extends OpsError {
  readonly code = 'DRAWBRIDGE_ERR_OPS_LAST_COMPONENT';
  constructor(
    readonly kind: string,
    readonly component: string,
    detail: string,
  ) {
    super(`${component} is the last running ${kind}: ${detail}`);
  }
}

/** Another rolling restart or scheduler drain holds the lock, or a drain is already pending. */
export class OpsBusyError extends OpsError {
  readonly code = 'DRAWBRIDGE_ERR_OPS_BUSY';
  constructor(
    readonly operation: string | null,
    detail?: string,
  ) {
    super(
      detail ??
        `a rolling restart is already in progress${operation ? ` (${operation})` : ''}; ` +
          'wait for it to end (drawbridge components shows it)',
    );
  }
}

/** The rolling-restart driver lost its lock (session expired, node deleted): it stops. */
export class OpsLockLostError extends OpsError {
  readonly code = 'DRAWBRIDGE_ERR_OPS_LOCK_LOST';
  constructor(readonly operation: string) {
    super(
      `rolling restart ${operation} lost its lock in ZooKeeper and stopped; ` +
        'check the ZooKeeper session, then start it again',
    );
  }
}

/** A component did not drain, or was not replaced, within the allowed time. */
export class OpsTimeoutError extends OpsError {
  readonly code = 'DRAWBRIDGE_ERR_OPS_TIMEOUT';
  constructor(
    readonly component: string,
    readonly waitedMs: number,
    what: string,
  ) {
    super(`${component}: ${what} within ${waitedMs / 1000} s`);
  }
}

/** A control request names a component that is not registered, or an action it cannot take. */
export class OpsUnknownComponentError extends OpsError {
  readonly code = 'DRAWBRIDGE_ERR_OPS_COMPONENT';
  constructor(
    readonly component: string,
    reason: string,
  ) {
    super(`${component}: ${reason}`);
  }
}

/** The operator (or the caller's signal) canceled a rolling restart. */
export class OpsCanceledError extends OpsError {
  readonly code = 'DRAWBRIDGE_ERR_OPS_CANCELED';
  constructor(reason: string) {
    super(`rolling restart canceled: ${reason}`);
  }
}
