/**
 * SQLite through better-sqlite3 (synchronous, in process). WAL mode lets
 * readers go on while a writer writes, also from other processes on the
 * same host; busy_timeout makes a writer wait for another's lock.
 *
 * Within one process every driver of one file shares one connection: a
 * second connection waiting (synchronously) for the first one's write lock
 * would block the event loop that the first needs to commit.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { toError } from '../errors.js';
import type { Row, SqlDriver, SqlRunner } from './driver.js';
import { HistoryUnavailableError } from './errors.js';

const BUSY_TIMEOUT_MS = 5_000;

class Connection {
  refs = 0;
  /** One transaction at a time. */
  queue: Promise<unknown> = Promise.resolve();
  constructor(
    readonly key: string,
    readonly db: Database.Database,
  ) {}
}

const shared = new Map<string, Connection>();

export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  readonly #conn: Connection;
  #closed = false;

  private constructor(conn: Connection) {
    this.#conn = conn;
    conn.refs += 1;
  }

  /** Opens (creating the file and its directory if needed) the database at `path`, or `:memory:`. */
  static open(path: string): SqliteDriver {
    const key = path === ':memory:' ? `:memory:${shared.size}:${Math.random()}` : resolve(path);
    const known = shared.get(key);
    if (known) return new SqliteDriver(known);
    try {
      if (path !== ':memory:') mkdirSync(dirname(key), { recursive: true });
      const db = new Database(path === ':memory:' ? path : key, { timeout: BUSY_TIMEOUT_MS });
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      const conn = new Connection(key, db);
      shared.set(key, conn);
      return new SqliteDriver(conn);
    } catch (e) {
      throw new HistoryUnavailableError('sqlite', `cannot open ${path}: ${toError(e).message}`, {
        cause: e,
      });
    }
  }

  query(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    return Promise.resolve().then(() => this.#run(sql, params));
  }

  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const conn = this.#conn;
    const run = async (): Promise<T> => {
      this.#run('BEGIN IMMEDIATE', []);
      try {
        const result = await fn({ query: (sql, params = []) => this.query(sql, params) });
        this.#run('COMMIT', []);
        return result;
      } catch (e) {
        if (conn.db.inTransaction) conn.db.exec('ROLLBACK');
        throw e;
      }
    };
    const next = conn.queue.then(run, run);
    conn.queue = next.catch(() => undefined);
    return next;
  }

  async lockForMigration(): Promise<void> {
    // BEGIN IMMEDIATE already holds the database's write lock.
  }

  /** The connection closes with the last driver of its file. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const conn = this.#conn;
    conn.refs -= 1;
    if (conn.refs > 0) return;
    shared.delete(conn.key);
    await conn.queue;
    if (conn.db.open) conn.db.close();
  }

  #run(sql: string, params: readonly unknown[]): Row[] {
    if (this.#closed) throw new HistoryUnavailableError('sqlite', 'the store is closed');
    try {
      const stmt = this.#conn.db.prepare(sql);
      if (stmt.reader) return stmt.all(...params) as Row[];
      stmt.run(...params);
      return [];
    } catch (e) {
      throw new HistoryUnavailableError('sqlite', toError(e).message, { cause: e });
    }
  }
}
