/**
 * Versioned schema migrations. Each runs once, in order, in its own
 * transaction together with the row that records it in `schema_version`,
 * so a failed one leaves nothing behind and the next start tries it again.
 * Several processes may start at once: the migrator takes a lock and reads
 * the version again under it. Never edit a released migration; add one.
 */
import { toError } from '../errors.js';
import type { Dialect, SqlDriver } from './driver.js';
import { HistoryMigrationError } from './errors.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** Statements, per dialect where they differ. */
  readonly up: Readonly<Record<Dialect, readonly string[]>>;
}

const TIME = 'BIGINT';

const V1: readonly string[] = [
  `CREATE TABLE buildsets (
    id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    ref TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    old_commit_sha TEXT,
    trigger_kind TEXT NOT NULL,
    trigger_detail TEXT NOT NULL,
    changed_files TEXT,
    layout_version TEXT NOT NULL,
    result TEXT NOT NULL,
    message TEXT,
    created_at ${TIME} NOT NULL,
    started_at ${TIME},
    ended_at ${TIME} NOT NULL
  )`,
  'CREATE INDEX buildsets_ended ON buildsets (ended_at, id)',
  'CREATE INDEX buildsets_pipeline_ended ON buildsets (pipeline, ended_at)',
  `CREATE TABLE builds (
    id TEXT PRIMARY KEY,
    buildset_id TEXT NOT NULL REFERENCES buildsets (id) ON DELETE CASCADE,
    pipeline TEXT NOT NULL,
    job TEXT NOT NULL,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    result TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    reason TEXT,
    queued_at ${TIME},
    started_at ${TIME},
    ended_at ${TIME} NOT NULL,
    exit_code INTEGER,
    log_path TEXT
  )`,
  'CREATE INDEX builds_buildset ON builds (buildset_id)',
  'CREATE INDEX builds_ended ON builds (ended_at, id)',
  'CREATE INDEX builds_job_ended ON builds (job, ended_at)',
];

const V2: readonly string[] = [
  'CREATE INDEX buildsets_ref_ended ON buildsets (ref, ended_at)',
  'CREATE INDEX builds_result_ended ON builds (result, ended_at)',
];

export const MIGRATIONS: readonly Migration[] = Object.freeze([
  { version: 1, name: 'buildsets and builds', up: { sqlite: V1, postgres: V1 } },
  {
    version: 2,
    name: 'filter indexes for ref and result',
    up: { sqlite: V2, postgres: V2 },
  },
]);

const VERSION_TABLE = `CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at ${TIME} NOT NULL
)`;

export async function currentVersion(db: SqlDriver): Promise<number> {
  // Under the lock: PostgreSQL's CREATE TABLE IF NOT EXISTS races with itself.
  await db.transaction(async (tx) => {
    await db.lockForMigration(tx);
    await tx.query(VERSION_TABLE);
  });
  const rows = await db.query('SELECT MAX(version) AS v FROM schema_version');
  return Number(rows[0]?.['v'] ?? 0);
}

/** Applies every migration newer than the database's version; returns the versions applied. */
export async function migrate(
  db: SqlDriver,
  now: () => number,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  const applied: number[] = [];
  const known = await currentVersion(db);
  for (const m of ordered) {
    if (m.version <= known) continue;
    try {
      const ran = await db.transaction(async (tx) => {
        await db.lockForMigration(tx);
        // Another process may have applied it while we waited for the lock.
        const done = await tx.query('SELECT 1 AS x FROM schema_version WHERE version = ?', [
          m.version,
        ]);
        if (done.length > 0) return false;
        for (const sql of m.up[db.dialect]) await tx.query(sql);
        await tx.query('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)', [
          m.version,
          m.name,
          now(),
        ]);
        return true;
      });
      if (ran) applied.push(m.version);
    } catch (e) {
      throw new HistoryMigrationError(m.version, m.name, toError(e).message, { cause: e });
    }
  }
  return applied;
}
