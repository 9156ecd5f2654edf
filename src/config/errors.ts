import { DrawbridgeError } from '../errors.js';
import type { Diagnostic } from './layout-types.js';
import { formatDiagnostic } from './layout-diagnostics.js';

/** A layout did not load; `errors` holds every problem found, each with file and line. */
export class LayoutInvalidError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_CONFIG_LAYOUT_INVALID';
  constructor(readonly errors: readonly Diagnostic[]) {
    const shown = errors.slice(0, 20).map(formatDiagnostic);
    const more = errors.length > 20 ? [`... and ${errors.length - 20} more`] : [];
    super([`layout has ${errors.length} error(s):`, ...shown, ...more].join('\n'));
  }
}

/** pipelineJobs() was asked for a pipeline the layout does not define. */
export class UnknownPipelineError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_CONFIG_UNKNOWN_PIPELINE';
  constructor(
    readonly pipeline: string,
    readonly known: readonly string[],
  ) {
    super(`no pipeline "${pipeline}" in the layout (defined: ${known.join(', ') || 'none'})`);
  }
}
