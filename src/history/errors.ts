/**
 * Errors of the history store. A history database that is away is never a
 * reason to stop deploying: the scheduler's recorder catches these, logs
 * them and tries again later; web answers them with a 503.
 */
import { DrawbridgeError } from '../errors.js';

/** The database cannot be reached, or a statement failed or timed out. */
export class HistoryUnavailableError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_HISTORY_UNAVAILABLE';
  constructor(
    readonly backend: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`history database (${backend}) unavailable: ${reason}`, options);
  }
}

/** A schema migration failed; its transaction was rolled back, the version is unchanged. */
export class HistoryMigrationError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_HISTORY_MIGRATION';
  constructor(
    readonly version: number,
    readonly migration: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`history migration ${version} (${migration}) failed: ${reason}`, options);
  }
}

/** The history options are unusable (a password file that cannot be read, a bad URL). */
export class HistoryConfigError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_HISTORY_CONFIG';
  constructor(
    readonly option: string,
    readonly reason: string,
  ) {
    super(`history option ${option}: ${reason}`);
  }
}
