import { execa } from 'execa';
import { GitCommandError, GitRangeError } from './errors.js';

// A revision as an operator types it: sha, branch, tag, HEAD~2, origin/main.
// Anything starting with '-' would be read by git as an option.
const REV = /^(?!-)[A-Za-z0-9._/@{}^~+-]{1,255}$/;

export interface GitRange {
  readonly old: string;
  readonly new: string;
}

export function parseRange(range: string): GitRange {
  const parts = range.split('..');
  if (parts.length !== 2 || parts.some((p) => p === '')) {
    throw new GitRangeError(range, 'it must be two revisions joined by ".."');
  }
  const [oldRev, newRev] = parts as [string, string];
  for (const rev of [oldRev, newRev]) {
    if (!REV.test(rev)) throw new GitRangeError(range, `"${rev}" is not a revision name`);
  }
  return { old: oldRev, new: newRev };
}

async function git(repo: string, args: string[], signal?: AbortSignal): Promise<string> {
  const result = await execa('git', args, {
    cwd: repo,
    reject: false,
    stripFinalNewline: false,
    ...(signal ? { cancelSignal: signal } : {}),
  });
  if (result.failed) {
    throw new GitCommandError(args, repo, result.exitCode, String(result.stderr ?? ''));
  }
  return String(result.stdout);
}

/**
 * The files a push changed, as Zuul's file matchers see them: every path
 * touched between the two commits. Renames count as a delete plus an add so
 * a matcher on either the old or the new path selects the job.
 */
export async function changedFiles(
  repo: string,
  range: GitRange,
  signal?: AbortSignal,
): Promise<string[]> {
  const out = await git(
    repo,
    ['diff', '--name-only', '--no-renames', '-z', range.old, range.new, '--'],
    signal,
  );
  return out.split('\0').filter((p) => p !== '');
}

/** Resolves a revision to its full sha, failing clearly if it does not exist. */
export async function resolveRevision(
  repo: string,
  rev: string,
  signal?: AbortSignal,
): Promise<string> {
  if (!REV.test(rev)) throw new GitRangeError(rev, `"${rev}" is not a revision name`);
  const out = await git(repo, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], signal);
  return out.trim();
}
