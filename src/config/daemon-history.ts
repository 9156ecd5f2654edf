/**
 * Reader for the `history` section: where finished buildsets are kept.
 * SQLite in a file by default; PostgreSQL when a URL is given, with the
 * password kept out of the URL (from `${NAME}` or a file), so the URL can
 * be logged and shown as it is.
 */
import { join } from 'node:path';
import { DAEMON_E } from './daemon-errors.js';
import type { Fields } from './daemon-fields.js';
import { checkLocalPath, type Checked } from './daemon-formats.js';
import { localPath, optionalLocalPath } from './daemon-sections.js';
import type { HistoryConfig } from './daemon-types.js';

export function readHistory(f: Fields, dir: string, stateDir: string): HistoryConfig {
  const url = f.checked('url', 'a postgres:// URL', checkPostgresUrl);
  const password = f.text('password', 'the PostgreSQL password', true)?.value;
  const passwordFile = optionalLocalPath(f, 'passwordFile', dir);
  const conflict = (key: string, message: string): void =>
    f.r.error(DAEMON_E.conflict, f.lineOf(key), f.key(key), message);
  if (url === undefined) {
    if (f.r.clean(f.key('url'))) {
      for (const key of ['password', 'passwordFile'])
        if (f.has(key)) conflict(key, `${key} is for PostgreSQL: set history.url too`);
    }
    f.checked('path', 'a file system path', checkLocalPath);
    return { kind: 'sqlite', path: localPath(f, 'path', dir, join(stateDir, 'history.sqlite')) };
  }
  if (f.has('path')) conflict('path', 'path is for SQLite and url for PostgreSQL: set one of them');
  if (password !== undefined && passwordFile !== undefined)
    conflict('passwordFile', 'password and passwordFile both given: set one of them');
  return { kind: 'postgres', url, password, passwordFile };
}

function checkPostgresUrl(s: string): Checked<string> {
  const expected = 'a URL such as "postgres://drawbridge@db.example.org:5432/drawbridge"';
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return { ok: false, expected };
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') return { ok: false, expected };
  if (u.password !== '')
    return {
      ok: false,
      expected: `${expected} without a password (use history.password or history.passwordFile)`,
    };
  return { ok: true, value: s };
}
