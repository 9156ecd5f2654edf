import { readFile } from 'node:fs/promises';
import type { Selection } from '../graph/index.js';
import { changedFiles, parseRange } from '../git/index.js';
import { CliInputFileError, CliUsageError } from './errors.js';

export interface SelectionInput {
  readonly files?: string;
  readonly gitRange?: string;
  readonly repo: string;
}

/** What the buildset would be started for, plus a line describing it. */
export async function selectionFrom(
  input: SelectionInput,
): Promise<{ selection: Selection; describe: string }> {
  if (input.files !== undefined && input.gitRange !== undefined) {
    throw new CliUsageError('give either --files or --git-range, not both', '--files');
  }
  if (input.gitRange !== undefined) {
    const files = await changedFiles(input.repo, parseRange(input.gitRange));
    return {
      selection: { kind: 'files', files },
      describe: `${files.length} changed file(s) in ${input.gitRange} of ${input.repo}`,
    };
  }
  if (input.files !== undefined) {
    const files = input.files
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== '');
    return { selection: { kind: 'files', files }, describe: `${files.length} changed file(s)` };
  }
  return { selection: { kind: 'all' }, describe: 'every job (as for a timer or manual run)' };
}

/** Reads `{"job": seconds}`; every value must be a finite, non-negative number. */
export async function readDurations(file: string): Promise<Record<string, number>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new CliInputFileError(
      file,
      e instanceof SyntaxError ? `not JSON: ${e.message}` : 'cannot be read',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliInputFileError(file, 'expected an object of {"job name": seconds}');
  }
  const out: Record<string, number> = {};
  for (const [job, value] of Object.entries(parsed)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new CliInputFileError(
        file,
        `"${job}": expected a number of seconds >= 0, got ${JSON.stringify(value)}`,
      );
    }
    out[job] = value;
  }
  return out;
}

export function parseSeconds(text: string, option: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new CliUsageError(`${option}: expected a number of seconds >= 0, got "${text}"`, option);
  }
  return n;
}
