/**
 * Builds the configured store: SQLite in a file (the default, under the
 * state directory) or PostgreSQL at a URL whose password comes from the
 * config's environment reference or from a file. Connecting waits for the
 * first use, so a database that is down does not keep a process from starting.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { toError } from '../errors.js';
import { HistoryConfigError } from './errors.js';
import { PostgresDriver } from './postgres-driver.js';
import { SqlHistoryStore } from './sql-store.js';
import { SqliteDriver } from './sqlite-driver.js';
import type { HistoryStore } from './types.js';

export type HistoryOptions =
  | { readonly kind: 'sqlite'; readonly path: string }
  | {
      readonly kind: 'postgres';
      /** Without a password. */
      readonly url: string;
      readonly password?: string | undefined;
      /** Read when the store is built; one line, trailing newline ignored. */
      readonly passwordFile?: string | undefined;
      readonly connectTimeoutMs?: number;
      readonly statementTimeoutMs?: number;
    };

/** Reads the password file now (a file that cannot be read stops the process, not every write). */
export function createHistoryStore(options: HistoryOptions, logger: Logger): HistoryStore {
  if (options.kind === 'sqlite') return new SqlHistoryStore(SqliteDriver.open(options.path));
  const log = logger.child({ component: 'history' });
  let password = options.password;
  if (options.passwordFile !== undefined) {
    try {
      password = readFileSync(options.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new HistoryConfigError('history.passwordFile', toError(e).message);
    }
  }
  const driver = new PostgresDriver({
    url: options.url,
    password,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    statementTimeoutMs: options.statementTimeoutMs ?? 10_000,
    onIdleError: (err) => log.warn({ err }, 'history database connection lost; reconnecting'),
  });
  return new SqlHistoryStore(driver);
}
