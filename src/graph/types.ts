/**
 * The contract between the layout loader (src/config) and the job graph.
 * The loader resolves inheritance and per-pipeline variants, then hands the
 * graph one GraphJob per job of a pipeline. Nothing here does I/O.
 */

export interface JobDependency {
  readonly name: string;
  /** Soft: ordering only if `name` is in the buildset; dropped otherwise. */
  readonly soft: boolean;
}

export interface GraphJob {
  readonly name: string;
  readonly dependencies: readonly JobDependency[];
  /** Python-style regexes matched from the start of each changed path (re.match). */
  readonly files: readonly string[];
  readonly irrelevantFiles: readonly string[];
}

/** What a buildset was started for: every job (timer, manual) or a set of changed files. */
export type Selection =
  { readonly kind: 'all' } | { readonly kind: 'files'; readonly files: readonly string[] };

export const JOB_STATES = [
  'WAITING',
  'QUEUED',
  'RUNNING',
  'SUCCESS',
  'FAILURE',
  'TIMED_OUT',
  'SKIPPED',
  'RETRY',
  'RETRY_LIMIT',
  'CANCELED',
  'ERROR',
] as const;
export type JobState = (typeof JOB_STATES)[number];
