/**
 * PostgreSQL through node-postgres' pool. Every wait is bounded (connect,
 * statement), so a database that hangs costs a caller seconds, not forever.
 * The password comes apart from the URL and never appears in a message.
 */
import pg from 'pg';
import { toError } from '../errors.js';
import { numberPlaceholders, type Row, type SqlDriver, type SqlRunner } from './driver.js';
import { HistoryConfigError, HistoryUnavailableError } from './errors.js';

export interface PostgresDriverOptions {
  /** `postgres://user@host:port/database`, without a password. */
  readonly url: string;
  readonly password: string | undefined;
  readonly connectTimeoutMs: number;
  readonly statementTimeoutMs: number;
  /** An idle pooled connection broke; the pool replaces it. */
  readonly onIdleError: (err: Error) => void;
}

// Any fixed number: migrators of every Drawbridge process take the same one.
const MIGRATION_LOCK = 0x44726177;

export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #secret: string | undefined;

  constructor(options: PostgresDriverOptions) {
    this.#secret = options.password;
    this.#pool = new pg.Pool({
      ...connectionOf(options.url),
      password: options.password,
      max: 4,
      idleTimeoutMillis: 10_000,
      connectionTimeoutMillis: options.connectTimeoutMs,
      statement_timeout: options.statementTimeoutMs,
      query_timeout: options.statementTimeoutMs + 1_000,
      application_name: 'drawbridge',
    });
    this.#pool.on('error', (err) => options.onIdleError(this.#clean(err)));
  }

  async query(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    try {
      const result = await this.#pool.query(numberPlaceholders(sql), [...params]);
      return result.rows as Row[];
    } catch (e) {
      throw this.#unavailable(e);
    }
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (e) {
      throw this.#unavailable(e);
    }
    const tx: SqlRunner = {
      query: async (sql, params = []) => {
        try {
          return (await client.query(numberPlaceholders(sql), [...params])).rows as Row[];
        } catch (e) {
          throw this.#unavailable(e);
        }
      },
    };
    let broken: Error | undefined;
    try {
      await tx.query('BEGIN');
      const result = await fn(tx);
      await tx.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch((err: unknown) => (broken = toError(err)));
      throw e;
    } finally {
      // A connection whose rollback failed is in an unknown state: drop it.
      client.release(broken);
    }
  }

  async lockForMigration(tx: SqlRunner): Promise<void> {
    // Waiting for another migrator, or an index built over a large table, can
    // take longer than an ordinary statement may: no limit for this transaction.
    await tx.query('SET LOCAL statement_timeout = 0');
    await tx.query('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
  }

  async close(): Promise<void> {
    if (!this.#pool.ended) await this.#pool.end();
  }

  #unavailable(e: unknown): HistoryUnavailableError {
    if (e instanceof HistoryUnavailableError) return e;
    const err = this.#clean(toError(e));
    return new HistoryUnavailableError('postgres', err.message);
  }

  /** Driver messages do not carry the password today; make sure they never will. */
  #clean(err: Error): Error {
    const secret = this.#secret;
    if (secret === undefined || secret === '' || !err.message.includes(secret)) return err;
    return new Error(err.message.split(secret).join('***'));
  }
}

/**
 * The URL's parts as pool options. node-postgres lets a connection string
 * override a separately given password, so the string is never handed over.
 */
export function connectionOf(url: string): pg.PoolConfig {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new HistoryConfigError('history.url', 'expected postgres://user@host:port/database');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
    throw new HistoryConfigError('history.url', `expected a postgres:// URL, got ${u.protocol}//`);
  if (u.password !== '')
    throw new HistoryConfigError(
      'history.url',
      'keep the password out of the URL (history.password)',
    );
  const sslmode = u.searchParams.get('sslmode');
  const host = u.searchParams.get('host') ?? u.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host: host === '' ? undefined : decodeURIComponent(host),
    port: u.port === '' ? 5432 : Number(u.port),
    user: u.username === '' ? undefined : decodeURIComponent(u.username),
    database: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : undefined,
    // libpq's meaning: require encrypts without checking the certificate, verify-full checks it.
    ssl:
      sslmode === 'require' || sslmode === 'verify-ca' || sslmode === 'verify-full'
        ? { rejectUnauthorized: sslmode !== 'require' }
        : undefined,
  };
}
