/**
 * Which jobs a buildset selects, and why. Follows Zuul's file matchers:
 * `files` selects a job when any changed file matches one of its regexes;
 * `irrelevant-files` deselects it when every changed file matches one of
 * its regexes; both must agree; a change that lists no files ignores both.
 */
import { compilePattern } from './pattern.js';
import type { GraphJob, Selection } from './types.js';

export type SelectionReason =
  /** Timer or manual buildset: every job runs. */
  | { readonly kind: 'selection-all' }
  /** The job has neither `files` nor `irrelevant-files`. */
  | { readonly kind: 'no-matchers' }
  /** The change lists no files (a merge or empty commit); matchers are ignored. */
  | { readonly kind: 'no-changed-files' }
  /** `file` matched the `files` regex `pattern`; `relevantFile` escaped `irrelevant-files` if set. */
  | {
      readonly kind: 'file-matched';
      readonly file: string;
      readonly pattern: string;
      readonly relevantFile?: string;
    }
  /** Only `irrelevant-files` is set and `file` matched none of its regexes. */
  | { readonly kind: 'relevant-file'; readonly file: string }
  /** No changed file matched any `files` regex. */
  | { readonly kind: 'no-file-matched' }
  /** Every changed file matched some `irrelevant-files` regex. */
  | { readonly kind: 'all-files-irrelevant' };

export interface SelectionRecord {
  readonly job: string;
  readonly selected: boolean;
  readonly reason: SelectionReason;
  /** One line for people: `selected: roles/base/x.yaml matched files regex roles/base/`. */
  readonly message: string;
}

/**
 * Memoises regex results per (pattern, file) for one selection, so jobs that
 * share patterns (common with inheritance) test each path once.
 */
export class FileMatchCache {
  // 0 = not tested yet, 1 = match, 2 = no match
  private readonly results = new Map<string, Int8Array>();

  constructor(readonly files: readonly string[]) {}

  matches(pattern: string, index: number): boolean {
    let row = this.results.get(pattern);
    if (row === undefined) {
      row = new Int8Array(this.files.length);
      this.results.set(pattern, row);
    }
    const known = row[index] ?? 0;
    if (known !== 0) return known === 1;
    const hit = compilePattern(pattern).test(this.files[index] ?? '');
    row[index] = hit ? 1 : 2;
    return hit;
  }

  /** The first changed file (in change order) matching any pattern, with that pattern. */
  firstMatch(patterns: readonly string[]): { file: string; pattern: string } | undefined {
    for (let i = 0; i < this.files.length; i++) {
      for (const pattern of patterns) {
        if (this.matches(pattern, i)) return { file: this.files[i] as string, pattern };
      }
    }
    return undefined;
  }

  /** The first changed file matching none of the patterns, if any. */
  firstUnmatched(patterns: readonly string[]): string | undefined {
    for (let i = 0; i < this.files.length; i++) {
      if (!patterns.some((p) => this.matches(p, i))) return this.files[i];
    }
    return undefined;
  }
}

/** Decides one job. `cache` must be built over the selection's changed files. */
export function selectJob(
  job: GraphJob,
  selection: Selection,
  cache: FileMatchCache | undefined,
): SelectionRecord {
  const decide = (selected: boolean, reason: SelectionReason): SelectionRecord => ({
    job: job.name,
    selected,
    reason,
    message: describe(selected, reason),
  });
  if (selection.kind === 'all' || cache === undefined)
    return decide(true, { kind: 'selection-all' });
  if (job.files.length === 0 && job.irrelevantFiles.length === 0) {
    return decide(true, { kind: 'no-matchers' });
  }
  if (cache.files.length === 0) return decide(true, { kind: 'no-changed-files' });
  const matched = job.files.length > 0 ? cache.firstMatch(job.files) : undefined;
  if (job.files.length > 0 && matched === undefined) {
    return decide(false, { kind: 'no-file-matched' });
  }
  if (job.irrelevantFiles.length === 0 && matched !== undefined) {
    return decide(true, { kind: 'file-matched', ...matched });
  }
  const relevant = cache.firstUnmatched(job.irrelevantFiles);
  if (relevant === undefined) return decide(false, { kind: 'all-files-irrelevant' });
  if (matched === undefined) return decide(true, { kind: 'relevant-file', file: relevant });
  return decide(true, { kind: 'file-matched', ...matched, relevantFile: relevant });
}

function describe(selected: boolean, reason: SelectionReason): string {
  const verdict = selected ? 'selected' : 'not selected';
  return `${verdict}: ${explain(reason)}`;
}

function explain(reason: SelectionReason): string {
  switch (reason.kind) {
    case 'selection-all':
      return 'the buildset runs every job (timer or manual)';
    case 'no-matchers':
      return 'the job has no file matchers';
    case 'no-changed-files':
      return 'the change lists no files, so file matchers are ignored';
    case 'file-matched': {
      const base = `${reason.file} matched files regex ${reason.pattern}`;
      if (reason.relevantFile === undefined) return base;
      return `${base}; ${reason.relevantFile} matched no irrelevant-files regex`;
    }
    case 'relevant-file':
      return `${reason.file} matched no irrelevant-files regex`;
    case 'no-file-matched':
      return 'no changed file matched its files regexes';
    case 'all-files-irrelevant':
      return 'every changed file matched irrelevant-files';
  }
}
