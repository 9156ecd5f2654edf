/**
 * The scheduler's local bare clone of the deployed repository: created on
 * first use, updated by fetching one branch. Every git call takes an argument
 * array (never a shell) and runs with `--git-dir`, so no parent directory's
 * repository is ever picked up by discovery.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { GitCommandError } from '../../git/errors.js';
import { TriggerFetchError, TriggerOptionError } from './errors.js';
import { redactUrl } from './names.js';

// No credential prompt may ever block a poll.
const ENV = { GIT_TERMINAL_PROMPT: '0' };

interface GitResult {
  readonly failed: boolean;
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

async function git(gitDir: string, args: string[], signal?: AbortSignal): Promise<GitResult> {
  const r = await execa('git', [`--git-dir=${gitDir}`, ...args], {
    reject: false,
    env: ENV,
    stdin: 'ignore',
    ...(signal ? { cancelSignal: signal } : {}),
  });
  return {
    failed: r.failed,
    exitCode: r.exitCode,
    stdout: String(r.stdout),
    stderr: String(r.stderr),
  };
}

/** Creates a bare repository at `localPath` unless one is there; refuses anything else. */
export async function ensureBareClone(localPath: string, signal?: AbortSignal): Promise<void> {
  const empty = !existsSync(localPath) || readdirSync(localPath).length === 0;
  if (!empty) {
    if (existsSync(join(localPath, '.git')))
      throw new TriggerOptionError(
        'localPath',
        `${localPath} is a working tree; give a directory for a bare clone`,
      );
    if (!existsSync(join(localPath, 'HEAD')) || !existsSync(join(localPath, 'objects')))
      throw new TriggerOptionError(
        'localPath',
        `${localPath} exists and is not a bare git repository`,
      );
    return;
  }
  mkdirSync(localPath, { recursive: true });
  const r = await git(localPath, ['init', '--quiet', '--bare'], signal);
  if (r.failed) throw new GitCommandError(['init', '--bare'], localPath, r.exitCode, r.stderr);
}

/** Fetches `ref` from `url` into the same ref of the clone; returns its head. */
export async function fetchRef(
  localPath: string,
  url: string,
  ref: string,
  signal?: AbortSignal,
): Promise<string> {
  const args = [
    'fetch',
    '--quiet',
    '--no-tags',
    '--no-write-fetch-head',
    '--',
    url,
    `+${ref}:${ref}`,
  ];
  const r = await git(localPath, args, signal);
  if (r.failed) {
    signal?.throwIfAborted();
    throw new TriggerFetchError(redactUrl(url), ref, r.stderr.replaceAll(url, redactUrl(url)));
  }
  return resolveLocalHead(localPath, ref, signal);
}

/** The commit `ref` points at in the clone (for a timer's head, say). */
export async function resolveLocalHead(
  localPath: string,
  ref: string,
  signal?: AbortSignal,
): Promise<string> {
  const args = ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`];
  const r = await git(localPath, args, signal);
  if (r.failed)
    throw new GitCommandError(
      args,
      localPath,
      r.exitCode,
      r.stderr || `${ref} is not in the clone`,
    );
  return r.stdout.trim();
}

/**
 * Whether `old` is an ancestor of `next` in the clone. False after a force
 * push (history rewritten) and when `old` is not in the clone at all.
 */
export async function isAncestor(
  localPath: string,
  old: string,
  next: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const r = await git(localPath, ['merge-base', '--is-ancestor', old, next], signal);
  if (r.exitCode === 0) return true;
  if (r.exitCode === 1 || r.exitCode === 128) return false;
  signal?.throwIfAborted();
  throw new GitCommandError(
    ['merge-base', '--is-ancestor', old, next],
    localPath,
    r.exitCode,
    r.stderr,
  );
}
