/**
 * Shape checks for the daemon config's string values. Each returns the
 * normalised value, or what was expected. The rules match what the bastion,
 * ZooKeeper and git code accept later, so a config that loads also runs.
 */
import { isIP } from 'node:net';
import type { HostPort } from './daemon-types.js';

export type Checked<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly expected: string };

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const no = <T>(expected: string): Checked<T> => ({ ok: false, expected });

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** A DNS name or an IP address (IPv6 without brackets). */
export function isHost(s: string): boolean {
  if (isIP(s) !== 0) return true;
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => LABEL.test(l));
}

export function checkHost(s: string): Checked<string> {
  const bare = /^\[(.*)\]$/.exec(s)?.[1];
  if (bare !== undefined && isIP(bare) === 6) return ok(bare);
  return isHost(s) ? ok(s) : no('a host name or IP address');
}

/** `host:port`, `[ipv6]:port`; the port from 1 to 65535. */
export function checkHostPort(s: string, example: string): Checked<HostPort> {
  const expected = `host:port such as "${example}"`;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  if (m === null) {
    // A bare IPv6 address has colons of its own; say so rather than "bad port".
    const v6 = /^(.*):(\d+)$/.exec(s);
    if (v6 !== null && isIP(v6[1] ?? '') === 6) {
      return no(`${expected}, with IPv6 in brackets: "[${v6[1]}]:${v6[2]}"`);
    }
    return no(expected);
  }
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (m[1] !== undefined ? isIP(host) !== 6 : !isHost(host)) return no(expected);
  if (port < 1 || port > 65535) return no(`${expected} with a port from 1 to 65535`);
  return ok({ host, port });
}

export function formatHostPort(a: HostPort): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** ZooKeeper root: `/a/b`, segments as ZooKeeper names are built elsewhere. */
export function checkZkRoot(s: string): Checked<string> {
  const expected =
    'an absolute znode path such as "/drawbridge" (no trailing slash; segments of letters, digits, ".", "_", "-")';
  if (!s.startsWith('/') || s === '/') return no(expected);
  return s
    .slice(1)
    .split('/')
    .every((seg) => SEGMENT.test(seg))
    ? ok(s)
    : no(expected);
}

const PATH_CHARS = /^[A-Za-z0-9_./-]+$/;

/** An absolute directory on the bastion; it goes on remote command lines, so a safe alphabet. */
export function checkRemoteDir(s: string): Checked<string> {
  const expected = 'an absolute path on the bastion of [A-Za-z0-9_./-] without ".."';
  const rest = s.replace(/\/+$/, '');
  if (!s.startsWith('/') || rest === '' || !PATH_CHARS.test(s)) return no(expected);
  const parts = rest.slice(1).split('/');
  return parts.some((p) => p === '' || p === '.' || p === '..') ? no(expected) : ok(rest);
}

/** A path inside the repository checkout: relative, never leaving it. */
export function checkRepoPath(s: string): Checked<string> {
  const expected = 'a path relative to the repository root of [A-Za-z0-9_./-] without ".."';
  const rest = s.replace(/\/+$/, '').replace(/^(?:\.\/)+/, '');
  if (s.startsWith('/') || rest === '' || !PATH_CHARS.test(rest)) return no(expected);
  const parts = rest.split('/').filter((p) => p !== '.');
  return parts.some((p) => p === '' || p === '..') || parts.length === 0
    ? no(expected)
    : ok(parts.join('/'));
}

/** What git can fetch from, written so it cannot be read as a command-line option. */
export function checkGitUrl(s: string): Checked<string> {
  const good =
    /^(?:https?|ssh|git|file):\/\/\S+$/.test(s) ||
    /^\/\S*$/.test(s) ||
    /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\S+$/.test(s);
  // eslint-disable-next-line no-control-regex
  return good && !/[\x00-\x1f\x7f]/.test(s)
    ? ok(s)
    : no('a git URL (https://, ssh://, git://, file://, user@host:path, or an absolute path)');
}

/** A branch name by a subset of git's ref rules. */
export function checkBranch(s: string): Checked<string> {
  const bad =
    // eslint-disable-next-line no-control-regex
    /[\s~^:?*[\\\x00-\x1f\x7f]/.test(s) ||
    s === '' ||
    s.startsWith('-') ||
    s.startsWith('/') ||
    s.endsWith('/') ||
    s.endsWith('.') ||
    s.includes('..') ||
    s.includes('//') ||
    s.includes('@{') ||
    s.split('/').some((p) => p.startsWith('.') || p.endsWith('.lock'));
  return bad ? no('a git branch name such as "master"') : ok(s);
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const KEY_TYPE = /^(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-[a-z0-9@.-]+)$/;

/**
 * An OpenSSH `SHA256:` fingerprint, or a known_hosts / public key line whose
 * base64 key really is of the type the line names (catches truncated pastes).
 */
export function checkHostKeyPin(s: string): Checked<string> {
  const expected =
    'a host key pin: a "SHA256:..." fingerprint (ssh-keygen -lf) or a known_hosts line';
  const text = s.trim();
  if (FINGERPRINT.test(text)) return ok(text);
  if (text.startsWith('@')) return no(expected);
  const fields = text.split(/\s+/);
  const at = fields.findIndex((f) => KEY_TYPE.test(f));
  const b64 = at >= 0 ? fields[at + 1] : undefined;
  if (b64 === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return no(expected);
  return keyTypeOf(Buffer.from(b64, 'base64')) === fields[at] ? ok(text) : no(expected);
}

/**
 * An SSH public key blob is a run of length-prefixed fields, the first its
 * type; all of them must fit exactly, so a truncated paste is refused.
 */
function keyTypeOf(blob: Buffer): string | undefined {
  const fields: Buffer[] = [];
  for (let at = 0; at < blob.length;) {
    if (at + 4 > blob.length) return undefined;
    const len = blob.readUInt32BE(at);
    if (at + 4 + len > blob.length) return undefined;
    fields.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return fields.length >= 2 && (fields[0]?.length ?? 0) <= 64
    ? fields[0]?.toString('latin1')
    : undefined;
}

export function checkPublicUrl(s: string): Checked<string> {
  const expected = 'an http:// or https:// URL such as "https://drawbridge.example.org"';
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return no(expected);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return no(expected);
  if (url.search !== '' || url.hash !== '') return no(`${expected}, without ?query or #fragment`);
  return ok(url.href.replace(/\/+$/, ''));
}

export function checkTokenHash(s: string): Checked<string> {
  return /^sha256:[0-9a-fA-F]{64}$/.test(s)
    ? ok(s.toLowerCase())
    : no('"sha256:" and the 64 hex digits of the token\'s SHA-256 (not the token itself)');
}

export function checkName(s: string): Checked<string> {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(s)
    ? ok(s)
    : no('a name of letters, digits, ".", "_", "-" (up to 100), starting with a letter or digit');
}

/** A local file or directory; `~` is refused because nothing here expands it. */
export function checkLocalPath(s: string): Checked<string> {
  if (s === '' || s.includes('\0')) return no('a file system path');
  if (s.startsWith('~')) {
    return no('a path without "~" (it is not expanded): absolute, or relative to the config file');
  }
  return ok(s);
}
