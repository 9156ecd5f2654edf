/**
 * Where the daemon config holds secrets, said once: pino's `redact` option
 * takes `redactPaths`, and `describeConfig` (for `drawbridge config check`)
 * masks the same paths, so a new secret is added to both by one line here.
 */
import type { DaemonConfig } from './daemon-types.js';

/** Paths inside DaemonConfig, in pino's redact syntax; prefix them where the config is nested in a log object. */
export const redactPaths: readonly string[] = Object.freeze([
  'zookeeper.auth.password',
  'web.jwt.hs256Secret',
  'history.password',
  'web.webhooks.github',
  'web.webhooks.gitea',
  'web.webhooks.gitlab',
  'web.webhooks.generic',
  // A hash does not log anyone in, but it lets an attacker test guesses offline.
  'web.tokens[*].hash',
]);

export const REDACTED = '***';

export type Printable =
  null | boolean | number | string | Printable[] | { [key: string]: Printable };

/** A plain, JSON-ready copy with every secret (and a password inside a URL) replaced by "***". */
export function describeConfig(config: DaemonConfig): Printable {
  const copy = toPrintable(config);
  for (const path of redactPaths) mask(copy, segments(path));
  const repo = asObject(asObject(copy)?.['repository']);
  const url = repo?.['url'];
  if (repo !== undefined && typeof url === 'string') set(repo, 'url', maskUrlPassword(url));
  return copy;
}

/** `https://user:secret@host/x` → `https://user:***@host/x`; other URLs unchanged. */
export function maskUrlPassword(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@:]*:)[^/@]*@/, `$1${REDACTED}@`);
}

function toPrintable(v: unknown): Printable {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(toPrintable);
  if (typeof v === 'object') {
    const out: { [key: string]: Printable } = {};
    for (const [k, x] of Object.entries(v)) set(out, k, toPrintable(x));
    return out;
  }
  return typeof v === 'bigint' ? v.toString() : null;
}

/** `web.tokens[*].hash` → ['web', 'tokens', '*', 'hash'] */
function segments(path: string): string[] {
  return path.split(/\.|\[|\]\.?/).filter((s) => s !== '');
}

/** Replaces every non-null value at `path` (`*` matches any key or index). */
function mask(node: Printable, path: readonly string[]): void {
  const [head, ...rest] = path;
  if (head === undefined || node === null || typeof node !== 'object') return;
  const container = node as { [key: string]: Printable };
  const keys = head === '*' ? Object.keys(node) : Array.isArray(node) ? [] : [head];
  for (const k of keys) {
    const child = container[k];
    if (child === undefined || child === null) continue;
    if (rest.length > 0) mask(child, rest);
    else set(container, k, REDACTED);
  }
}

function asObject(node: Printable | undefined): { [key: string]: Printable } | undefined {
  return node !== null && typeof node === 'object' && !Array.isArray(node) ? node : undefined;
}

// defineProperty: a key named __proto__ must stay a plain key.
function set(obj: { [key: string]: Printable }, key: string, value: Printable): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
