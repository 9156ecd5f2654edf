/**
 * Codes of the daemon config's own diagnostics, and the error a caller throws
 * when it needs a config and the load failed. Problems shared with the layout
 * (malformed YAML, wrong type, unknown key...) keep the layout's codes.
 */
import { DrawbridgeError } from '../errors.js';
import { formatDiagnostic } from './layout-diagnostics.js';
import type { Diagnostic } from './layout-types.js';

export const DAEMON_E = {
  /** `${NAME}` names an unset variable, or the reference itself is malformed. */
  env: 'DRAWBRIDGE_ERR_CONFIG_DAEMON_ENV',
  /** A string of the wrong shape: host:port, host-key pin, ZooKeeper root, URL, hash. */
  format: 'DRAWBRIDGE_ERR_CONFIG_DAEMON_FORMAT',
  /** A number outside its allowed range. */
  range: 'DRAWBRIDGE_ERR_CONFIG_DAEMON_RANGE',
  /** Options that are fine alone but cannot be combined. */
  conflict: 'DRAWBRIDGE_ERR_CONFIG_DAEMON_CONFLICT',
} as const;

export const DAEMON_W = {
  /** A secret written into the file instead of taken from the environment. */
  literalSecret: 'DRAWBRIDGE_WARN_CONFIG_DAEMON_LITERAL_SECRET',
} as const;

/** A daemon config did not load; `errors` holds every problem found. */
export class DaemonConfigInvalidError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_CONFIG_DAEMON_INVALID';
  constructor(
    readonly file: string,
    readonly errors: readonly Diagnostic[],
  ) {
    const shown = errors.slice(0, 20).map(formatDiagnostic);
    const more = errors.length > 20 ? [`... and ${errors.length - 20} more`] : [];
    super([`${file}: daemon config has ${errors.length} error(s):`, ...shown, ...more].join('\n'));
  }
}
