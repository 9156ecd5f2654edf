/**
 * The little a store needs of a SQL database, so that one query layer
 * serves SQLite and PostgreSQL: statements are written with `?`
 * placeholders (PostgreSQL's driver numbers them), rows come back as plain
 * objects, and a transaction runs a function on one connection.
 */

export type Dialect = 'sqlite' | 'postgres';
export type Row = Record<string, unknown>;

export interface SqlRunner {
  query(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}

export interface SqlDriver extends SqlRunner {
  readonly dialect: Dialect;
  /** Commits when `fn` resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /** Serialises migrators of several processes (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE). */
  lockForMigration(tx: SqlRunner): Promise<void>;
  close(): Promise<void>;
}

/** `?` → `$1, $2, ...`; the statements here never hold a literal `?`. */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
