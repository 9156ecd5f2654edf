/**
 * Pure checks on what the poller hands to git and to ZooKeeper: branch and
 * ref names, repository URLs, and the znode name a ref is stored under.
 * Validated here once, they can then be passed to git as plain arguments.
 */
import { TriggerInvalidRefError, TriggerInvalidUrlError } from './errors.js';

const HEADS = 'refs/heads/';
const REF_CHARS = /^[A-Za-z0-9._/-]+$/;
const MAX_KEY = 100;

/**
 * The full ref of a branch: `main` and `refs/heads/main` both give
 * `refs/heads/main`. Stricter than git's check-ref-format: only letters,
 * digits, `.`, `_`, `-` and `/`, so no name can be read as an option,
 * a revision expression or a path outside the ref namespace.
 */
export function branchRef(branch: string): string {
  const name = branch.startsWith(HEADS) ? branch.slice(HEADS.length) : branch;
  const bad = (reason: string): never => {
    throw new TriggerInvalidRefError(branch, reason);
  };
  if (name === '') bad('empty');
  if (!REF_CHARS.test(name)) bad('use letters, digits, ".", "_", "-" and "/"');
  const parts = name.split('/');
  if (parts.some((p) => p === '')) bad('empty path component ("//", or "/" at either end)');
  if (parts.some((p) => p.startsWith('.') || p.startsWith('-')))
    bad('a component starts with "." or "-"');
  if (parts.some((p) => p.endsWith('.lock') || p.endsWith('.')))
    bad('a component ends in "." or ".lock"');
  if (name.includes('..')) bad('contains ".."');
  const ref = HEADS + name;
  if (refKey(ref).length > MAX_KEY)
    bad(`too long to name a znode (at most ${MAX_KEY} characters once escaped)`);
  return ref;
}

/** The branch name of a full `refs/heads/...` ref. */
export function branchOf(ref: string): string {
  return ref.startsWith(HEADS) ? ref.slice(HEADS.length) : ref;
}

/**
 * A reversible znode name for a ref: `_` becomes `__` and `/` becomes `_s`,
 * so `refs/heads/a_b` and `refs/heads/a/b` never share a document.
 */
export function refKey(ref: string): string {
  return ref.replace(/_/g, '__').replace(/\//g, '_s');
}

const SCHEME = /^(https?|ssh|git|file):\/\//;
const SCP = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/\s][^\s]*$/;

/**
 * Accepts `https://`, `http://`, `ssh://`, `git://` and `file://` URLs,
 * scp-like `user@host:path`, and absolute local paths. Refuses anything
 * git could take as an option or a transport helper (`ext::`, `fd::`).
 */
export function checkRepositoryUrl(url: string): string {
  const bad = (reason: string): never => {
    throw new TriggerInvalidUrlError(redactUrl(url), reason);
  };
  if (url === '') bad('empty');
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(url)) bad('contains whitespace or control characters');
  if (url.startsWith('-')) bad('starts with "-"');
  if (url.includes('::')) bad('transport helpers ("<helper>::<address>") are not accepted');
  if (SCHEME.test(url)) {
    try {
      new URL(url);
    } catch {
      bad('not a well-formed URL');
    }
    return url;
  }
  if (url.startsWith('/') || SCP.test(url)) return url;
  return bad(
    'expected https://, http://, ssh://, git://, file://, user@host:path or an absolute path',
  );
}

/** The URL with its password (if any) replaced by `***`, for messages and logs. */
export function redactUrl(url: string): string {
  if (!SCHEME.test(url)) return url;
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}
