/**
 * The history store over either SQL database: upserts, filtered queries,
 * pages. The first call (or `open()`) applies the migrations; when that
 * fails the next call tries again, so a database that comes up after
 * Drawbridge is picked up without a restart.
 */
import type { JobState } from '../graph/index.js';
import type { BuildsetResult } from '../model/index.js';
import type { SqlDriver, SqlRunner } from './driver.js';
import { currentVersion, migrate, MIGRATIONS, type Migration } from './migrations.js';
import { buildQuery, buildsetQuery } from './query.js';
import type {
  HistoryBuild,
  HistoryBuildset,
  HistoryEntry,
  HistoryFilter,
  HistoryStats,
  HistoryStore,
  Page,
  PageOf,
} from './types.js';

const BUILDSET_COLUMNS = [
  'id',
  'pipeline',
  'ref',
  'commit_sha',
  'old_commit_sha',
  'trigger_kind',
  'trigger_detail',
  'changed_files',
  'layout_version',
  'result',
  'message',
  'created_at',
  'started_at',
  'ended_at',
] as const;

const BUILD_COLUMNS = [
  'id',
  'buildset_id',
  'pipeline',
  'job',
  'kind',
  'ref',
  'commit_sha',
  'result',
  'attempt',
  'reason',
  'queued_at',
  'started_at',
  'ended_at',
  'exit_code',
  'log_path',
] as const;

export interface SqlStoreOptions {
  readonly now?: () => number;
  /** For tests of the migrator; the real list by default. */
  readonly migrations?: readonly Migration[];
}

export class SqlHistoryStore implements HistoryStore {
  readonly backend: 'sqlite' | 'postgres';
  readonly #db: SqlDriver;
  readonly #now: () => number;
  readonly #migrations: readonly Migration[];
  #ready: Promise<void> | undefined;
  #closed = false;

  constructor(db: SqlDriver, options: SqlStoreOptions = {}) {
    this.#db = db;
    this.backend = db.dialect;
    this.#now = options.now ?? Date.now;
    this.#migrations = options.migrations ?? MIGRATIONS;
  }

  open(): Promise<void> {
    this.#ready ??= migrate(this.#db, this.#now, this.#migrations).then(
      () => undefined,
      (e: unknown) => {
        this.#ready = undefined;
        throw e;
      },
    );
    return this.#ready;
  }

  async schemaVersion(): Promise<number> {
    return currentVersion(this.#db);
  }

  async put(entry: HistoryEntry): Promise<void> {
    await this.open();
    await this.#db.transaction(async (tx) => {
      await upsert(tx, 'buildsets', BUILDSET_COLUMNS, buildsetRow(entry.buildset));
      for (const b of entry.builds) await upsert(tx, 'builds', BUILD_COLUMNS, buildRow(b));
    });
  }

  async missing(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    await this.open();
    const rows = await this.#db.query(
      `SELECT id FROM buildsets WHERE id IN (${ids.map(() => '?').join(', ')})`,
      ids,
    );
    const stored = new Set(rows.map((r) => String(r['id'])));
    return ids.filter((id) => !stored.has(id));
  }

  async listBuildsets(filter: HistoryFilter, page: Page): Promise<PageOf<HistoryBuildset>> {
    await this.open();
    const q = buildsetQuery(filter, page);
    return pageOf(await this.#db.query(q.sql, q.params), page, toBuildset);
  }

  async listBuilds(filter: HistoryFilter, page: Page): Promise<PageOf<HistoryBuild>> {
    await this.open();
    const q = buildQuery(filter, page);
    return pageOf(await this.#db.query(q.sql, q.params), page, toBuild);
  }

  async getBuildset(id: string): Promise<HistoryEntry | null> {
    await this.open();
    const [row] = await this.#db.query('SELECT * FROM buildsets WHERE id = ?', [id]);
    if (row === undefined) return null;
    const builds = await this.#db.query(
      'SELECT * FROM builds WHERE buildset_id = ? ORDER BY ended_at, id',
      [id],
    );
    return { buildset: toBuildset(row), builds: builds.map(toBuild) };
  }

  async stats(boundsMs: readonly number[]): Promise<HistoryStats> {
    await this.open();
    const counts = async (table: string) =>
      (
        await this.#db.query(
          `SELECT pipeline, result, COUNT(*) AS n FROM ${table} GROUP BY pipeline, result ORDER BY pipeline, result`,
        )
      ).map((r) => ({
        pipeline: str(r['pipeline']),
        result: str(r['result']),
        count: num(r['n']),
      }));
    const took = 'ended_at - started_at';
    const buckets = boundsMs.map(
      (_, i) => `SUM(CASE WHEN ${took} <= ? THEN 1 ELSE 0 END) AS b${i}`,
    );
    const rows = await this.#db.query(
      `SELECT pipeline, COUNT(*) AS n, SUM(${took}) AS total${buckets.map((b) => `, ${b}`).join('')}
       FROM builds WHERE kind = 'job' AND started_at IS NOT NULL
       GROUP BY pipeline ORDER BY pipeline`,
      boundsMs,
    );
    return {
      buildsets: await counts('buildsets'),
      builds: await counts('builds'),
      durations: rows.map((r) => ({
        pipeline: str(r['pipeline']),
        buckets: boundsMs.map((_, i) => num(r[`b${i}`] ?? 0)),
        count: num(r['n']),
        sumMs: num(r['total'] ?? 0),
      })),
    };
  }

  async getBuild(id: string): Promise<HistoryBuild | null> {
    await this.open();
    const [row] = await this.#db.query('SELECT * FROM builds WHERE id = ?', [id]);
    return row === undefined ? null : toBuild(row);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#ready?.catch(() => undefined);
    await this.#db.close();
  }
}

type Values = Record<string, unknown>;

async function upsert(
  tx: SqlRunner,
  table: string,
  columns: readonly string[],
  values: Values,
): Promise<void> {
  const set = columns
    .filter((c) => c !== 'id')
    .map((c) => `${c} = excluded.${c}`)
    .join(', ');
  await tx.query(
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})
     ON CONFLICT (id) DO UPDATE SET ${set}`,
    columns.map((c) => values[c] ?? null),
  );
}

function buildsetRow(b: HistoryBuildset): Values {
  return {
    id: b.id,
    pipeline: b.pipeline,
    ref: b.ref,
    commit_sha: b.commit,
    old_commit_sha: b.oldCommit,
    trigger_kind: b.triggerKind,
    trigger_detail: b.triggerDetail,
    changed_files: b.changedFiles === null ? null : JSON.stringify(b.changedFiles),
    layout_version: b.layoutVersion,
    result: b.result,
    message: b.message,
    created_at: b.createdAt,
    started_at: b.startedAt,
    ended_at: b.endedAt,
  };
}

function buildRow(b: HistoryBuild): Values {
  return {
    id: b.id,
    buildset_id: b.buildsetId,
    pipeline: b.pipeline,
    job: b.job,
    kind: b.kind,
    ref: b.ref,
    commit_sha: b.commit,
    result: b.result,
    attempt: b.attempt,
    reason: b.reason,
    queued_at: b.queuedAt,
    started_at: b.startedAt,
    ended_at: b.endedAt,
    exit_code: b.exitCode,
    log_path: b.logPath,
  };
}

// PostgreSQL returns BIGINT as a string; SQLite as a number.
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? v.toString() : '';
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : str(v));

function toBuildset(r: Record<string, unknown>): HistoryBuildset {
  const files = strOrNull(r['changed_files']);
  return {
    id: str(r['id']),
    pipeline: str(r['pipeline']),
    ref: str(r['ref']),
    commit: str(r['commit_sha']),
    oldCommit: strOrNull(r['old_commit_sha']),
    triggerKind: str(r['trigger_kind']),
    triggerDetail: str(r['trigger_detail']),
    changedFiles: files === null ? null : (JSON.parse(files) as string[]),
    layoutVersion: str(r['layout_version']),
    result: str(r['result']) as BuildsetResult,
    message: strOrNull(r['message']),
    createdAt: num(r['created_at']),
    startedAt: numOrNull(r['started_at']),
    endedAt: num(r['ended_at']),
  };
}

function toBuild(r: Record<string, unknown>): HistoryBuild {
  return {
    id: str(r['id']),
    buildsetId: str(r['buildset_id']),
    pipeline: str(r['pipeline']),
    job: str(r['job']),
    kind: str(r['kind']) === 'checkout' ? 'checkout' : 'job',
    ref: str(r['ref']),
    commit: str(r['commit_sha']),
    result: str(r['result']) as JobState,
    attempt: num(r['attempt']),
    reason: strOrNull(r['reason']),
    queuedAt: numOrNull(r['queued_at']),
    startedAt: numOrNull(r['started_at']),
    endedAt: num(r['ended_at']),
    exitCode: numOrNull(r['exit_code']),
    logPath: strOrNull(r['log_path']),
  };
}

/** The queries ask for one row more than the page, to tell whether another page follows. */
function pageOf<T>(
  rows: readonly Record<string, unknown>[],
  page: Page,
  map: (r: Record<string, unknown>) => T,
): PageOf<T> {
  return { items: rows.slice(0, page.limit).map(map), more: rows.length > page.limit };
}
