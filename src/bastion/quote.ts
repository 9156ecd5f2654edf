import { BastionInvalidNameError } from './errors.js';

/**
 * The one way a value reaches a remote command line: POSIX single quotes, in
 * which no character is special, with embedded quotes closed and reopened.
 */
export function shQuote(value: string): string {
  if (value.includes('\0'))
    throw new BastionInvalidNameError('argument', value, 'contains a NUL byte');
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Quotes every element and joins them into one command line. */
export function shJoin(argv: readonly string[]): string {
  return argv.map(shQuote).join(' ');
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const JOB = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;
const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const REF_CHARS = /^[A-Za-z0-9._/-]+$/;
const PATH_CHARS = /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/;

/** Buildset and build ids become directory and file names on the bastion. */
export function validateId(kind: string, value: string): string {
  if (!ID.test(value))
    throw new BastionInvalidNameError(
      kind,
      value,
      'use 1-128 of [A-Za-z0-9_-], not starting with - or _',
    );
  return value;
}

export function validateJobName(value: string): string {
  if (!JOB.test(value))
    throw new BastionInvalidNameError(
      'job name',
      value,
      'use 1-200 of [A-Za-z0-9_.-], starting alphanumeric',
    );
  return value;
}

export function validateSha(value: string): string {
  if (!SHA.test(value))
    throw new BastionInvalidNameError(
      'commit sha',
      value,
      'use a full lowercase hex sha (40 or 64 digits)',
    );
  return value;
}

/** A subset of git's ref rules that also keeps refs from looking like options. */
export function validateRef(value: string): string {
  const bad =
    !REF_CHARS.test(value) ||
    value.startsWith('-') ||
    value.startsWith('/') ||
    value.endsWith('/') ||
    value.endsWith('.') ||
    value.includes('..') ||
    value.includes('//') ||
    value.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock'));
  if (bad || value.length > 255)
    throw new BastionInvalidNameError('ref', value, 'not a plain git ref name');
  return value;
}

/** A path inside the workspace (playbook, inventory): relative, no `..`, no odd characters. */
export function validateRepoPath(kind: string, value: string): string {
  const bad =
    !PATH_CHARS.test(value) || value.split('/').some((part) => part === '..' || part === '');
  if (bad || value.length > 500)
    throw new BastionInvalidNameError(
      kind,
      value,
      'use a relative path of [A-Za-z0-9_./-] without ..',
    );
  return value;
}

/** An absolute directory on the bastion (the workspace root). */
export function validateRemoteDir(value: string): string {
  if (!value.startsWith('/') || value === '/' || !validRest(value.slice(1))) {
    throw new BastionInvalidNameError(
      'remote directory',
      value,
      'use an absolute path of [A-Za-z0-9_./-] without ..',
    );
  }
  return value.replace(/\/+$/, '');
}

function validRest(rest: string): boolean {
  const trimmed = rest.replace(/\/+$/, '');
  return PATH_CHARS.test(trimmed) && !trimmed.split('/').some((p) => p === '..' || p === '');
}

/**
 * A git URL the bastion fetches from. Quoting keeps it one argument; this keeps
 * it from being read as an option or as one of git's command-running transports.
 */
export function validateGitUrl(value: string): string {
  const ok =
    /^(?:https?|ssh|git|file):\/\/[^\s]+$/.test(value) ||
    /^\/[^\s]*$/.test(value) ||
    /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$/.test(value);
  if (!ok || value.startsWith('-') || hasControl(value)) {
    throw new BastionInvalidNameError(
      'git url',
      value,
      'use an http(s)://, ssh://, git://, file:// URL, user@host:path or an absolute path',
    );
  }
  return value;
}

/** Names of environment variables set on the remote command line. */
export function validateEnvName(value: string): string {
  if (!/^[A-Z_][A-Z0-9_]{0,127}$/.test(value))
    throw new BastionInvalidNameError('environment variable', value, 'use [A-Z0-9_]');
  return value;
}

function hasControl(value: string): boolean {
  return [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}
