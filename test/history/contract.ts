/**
 * The behaviour every history backend must show, as one suite that the
 * SQLite and the PostgreSQL test files both run: migrations, upserts,
 * filters and pages, over a real database each.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  HistoryMigrationError,
  MIGRATIONS,
  SqlHistoryStore,
  historyEntryOf,
  migrate,
  type HistoryStore,
  type Migration,
} from '../../src/history/index.js';
import type { SqlDriver } from '../../src/history/driver.js';
import { finishedBuildset } from './support.js';

/** One empty database; each `connect()` is a new connection (as another process would have). */
export interface TestDatabase {
  connect(): SqlDriver;
  dispose(): Promise<void>;
}

const LATEST = Math.max(...MIGRATIONS.map((m) => m.version));
const T0 = Date.UTC(2026, 0, 1);

export function storeContract(backend: string, newDatabase: () => Promise<TestDatabase>): void {
  const open: { close(): Promise<void> }[] = [];
  const dbs: TestDatabase[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
    await Promise.all(dbs.splice(0).map((d) => d.dispose()));
  });

  async function database(): Promise<TestDatabase> {
    const db = await newDatabase();
    dbs.push(db);
    return db;
  }
  function connect(db: TestDatabase): SqlDriver {
    const driver = db.connect();
    open.push(driver);
    return driver;
  }
  async function store(
    db?: TestDatabase,
    migrations?: readonly Migration[],
  ): Promise<HistoryStore> {
    const s = new SqlHistoryStore(connect(db ?? (await database())), { migrations });
    open.push(s);
    return s;
  }

  describe(`${backend}: migrations`, () => {
    it('applies every migration on first open, records each version, and none again', async () => {
      const db = await database();
      const first = await store(db);
      expect(await first.schemaVersion()).toBe(0);
      await first.open();
      expect(await first.schemaVersion()).toBe(LATEST);
      const rows = await connect(db).query(
        'SELECT version, name FROM schema_version ORDER BY version',
      );
      expect(rows.map((r) => Number(r['version']))).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await migrate(connect(db), Date.now)).toEqual([]);
    });

    it('applies migrations in version order, whatever order they are listed in', async () => {
      const db = await database();
      const list: Migration[] = [
        { version: 2, name: 'fill', up: both(["INSERT INTO t (v) VALUES ('two')"]) },
        { version: 1, name: 'create', up: both(['CREATE TABLE t (v TEXT)']) },
        { version: 3, name: 'more', up: both(["INSERT INTO t (v) VALUES ('three')"]) },
      ];
      expect(await migrate(connect(db), Date.now, list)).toEqual([1, 2, 3]);
      const rows = await connect(db).query('SELECT v FROM t ORDER BY v');
      expect(rows.map((r) => r['v'])).toEqual(['three', 'two']);
    });

    it('rolls a failed migration back whole and keeps the version; a later run applies it', async () => {
      const db = await database();
      const good: Migration = { version: 1, name: 'one', up: both(['CREATE TABLE a (v TEXT)']) };
      const bad: Migration = {
        version: 2,
        name: 'half',
        up: both(['CREATE TABLE b (v TEXT)', 'INSERT INTO no_such_table VALUES (1)']),
      };
      const err = await migrate(connect(db), Date.now, [good, bad]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HistoryMigrationError);
      expect((err as HistoryMigrationError).version).toBe(2);
      const s = await store(db, [good]);
      expect(await s.schemaVersion()).toBe(1);
      // Table b was created inside the failed migration: it must not exist.
      await expect(connect(db).query('SELECT * FROM b')).rejects.toThrow();
      const fixed: Migration = { ...bad, up: both(['CREATE TABLE b (v TEXT)']) };
      expect(await migrate(connect(db), Date.now, [good, fixed])).toEqual([2]);
    });

    it('lets several migrators (each its own driver) run at once: each migration runs once', async () => {
      const db = await database();
      const results = await Promise.all(
        [1, 2, 3].map(() => migrate(connect(db), Date.now, MIGRATIONS)),
      );
      expect(results.flat().sort()).toEqual(MIGRATIONS.map((m) => m.version));
      const rows = await connect(db).query('SELECT COUNT(*) AS n FROM schema_version');
      expect(Number(rows[0]?.['n'])).toBe(MIGRATIONS.length);
    });
  });

  describe(`${backend}: buildsets and builds`, () => {
    it('stores a finished buildset with every build and reads it back as written', async () => {
      const s = await store();
      const bs = finishedBuildset({
        id: 'manual-0000000000000001',
        endedAt: T0,
        result: 'FAILURE',
        message: 'base failed',
        changedFiles: ['playbooks/a.yml', 'inventory/hosts'],
        jobs: [
          { name: 'base', state: 'FAILURE', attempt: 2 },
          { name: 'svc', state: 'SKIPPED', reason: 'skipped: base failed' },
        ],
      });
      const entry = historyEntryOf(bs);
      await s.put(entry);
      const got = await s.getBuildset(bs.id);
      expect(got?.buildset).toEqual(entry.buildset);
      expect([...(got?.builds ?? [])].sort(byId)).toEqual([...entry.builds].sort(byId));
      const base = entry.builds.find((b) => b.job === 'base')!;
      expect(base).toMatchObject({
        id: `${bs.id}-j-base.2`,
        attempt: 2,
        result: 'FAILURE',
        exitCode: 2,
        reason: 'exit status 2',
        logPath: `/var/log/drawbridge/builds/${bs.id}/base-2.log`,
      });
      expect(await s.getBuild(base.id)).toEqual(base);
      expect(await s.getBuild(`${bs.id}:svc`)).toMatchObject({ result: 'SKIPPED', attempt: 0 });
      expect(await s.getBuildset('nope')).toBeNull();
      expect(await s.getBuild('nope')).toBeNull();
    });

    it('is idempotent: writing the same record again adds nothing, a changed one replaces it', async () => {
      const s = await store();
      const bs = finishedBuildset({ id: 'ref-00000000000000aa', endedAt: T0 });
      await s.put(historyEntryOf(bs));
      await s.put(historyEntryOf(bs));
      const page = await s.listBuilds({}, { limit: 100, skip: 0 });
      expect(page.items.map((b) => b.id).sort()).toEqual(
        [`${bs.id}-checkout`, `${bs.id}-j-base`].sort(),
      );
      await s.put(historyEntryOf({ ...bs, message: 'replayed' }));
      expect((await s.getBuildset(bs.id))?.buildset.message).toBe('replayed');
      expect((await s.listBuildsets({}, { limit: 10, skip: 0 })).items).toHaveLength(1);
    });

    it('keeps text as text: quotes, unicode and SQL in values are stored literally', async () => {
      const s = await store();
      const ref = "refs/heads/it's'; DROP TABLE builds; --";
      const bs = finishedBuildset({
        id: 'manual-00000000000000bb',
        ref,
        endedAt: T0,
        message: 'déploiement ✓',
      });
      await s.put(historyEntryOf(bs));
      expect((await s.listBuildsets({ ref }, { limit: 5, skip: 0 })).items[0]?.message).toBe(
        'déploiement ✓',
      );
      expect((await s.listBuilds({}, { limit: 5, skip: 0 })).items).toHaveLength(2);
    });

    it('says which buildset ids it does not have', async () => {
      const s = await store();
      await s.put(historyEntryOf(finishedBuildset({ id: 'a-1', endedAt: T0 })));
      expect(await s.missing(['a-1', 'b-2', 'c-3'])).toEqual(['b-2', 'c-3']);
      expect(await s.missing([])).toEqual([]);
    });
  });

  describe(`${backend}: queries`, () => {
    // Ten buildsets a minute apart over two pipelines, refs and results.
    async function seeded(): Promise<HistoryStore> {
      const s = await store();
      for (let i = 0; i < 10; i++) {
        await s.put(
          historyEntryOf(
            finishedBuildset({
              id: `bs-${i}`,
              pipeline: i % 2 === 0 ? 'deploy' : 'periodic',
              ref: i < 5 ? 'refs/heads/main' : 'refs/heads/release',
              endedAt: T0 + i * 60_000,
              result: i % 3 === 0 ? 'FAILURE' : 'SUCCESS',
              jobs:
                i % 3 === 0
                  ? [
                      { name: 'base', state: 'FAILURE' },
                      { name: 'svc', state: 'SKIPPED' },
                    ]
                  : [
                      { name: 'base', state: 'SUCCESS' },
                      { name: 'svc', state: 'SUCCESS' },
                    ],
            }),
          ),
        );
      }
      return s;
    }
    const ids = (p: { items: readonly { id: string }[] }) => p.items.map((i) => i.id);
    const all = { limit: 100, skip: 0 };

    it('lists buildsets newest first, with limit, skip and whether more follow', async () => {
      const s = await seeded();
      expect(ids(await s.listBuildsets({}, all))).toEqual(
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0].map((i) => `bs-${i}`),
      );
      const p1 = await s.listBuildsets({}, { limit: 4, skip: 0 });
      const p3 = await s.listBuildsets({}, { limit: 4, skip: 8 });
      expect([ids(p1), p1.more]).toEqual([['bs-9', 'bs-8', 'bs-7', 'bs-6'], true]);
      expect([ids(p3), p3.more]).toEqual([['bs-1', 'bs-0'], false]);
      expect((await s.listBuildsets({}, { limit: 10, skip: 0 })).more).toBe(false);
    });

    it('filters buildsets by pipeline, result, ref, job and time range, all together', async () => {
      const s = await seeded();
      expect(ids(await s.listBuildsets({ pipeline: 'periodic' }, all))).toEqual([
        'bs-9',
        'bs-7',
        'bs-5',
        'bs-3',
        'bs-1',
      ]);
      expect(ids(await s.listBuildsets({ result: 'FAILURE' }, all))).toEqual([
        'bs-9',
        'bs-6',
        'bs-3',
        'bs-0',
      ]);
      expect(
        ids(await s.listBuildsets({ ref: 'refs/heads/release', pipeline: 'deploy' }, all)),
      ).toEqual(['bs-8', 'bs-6']);
      const range = { since: T0 + 2 * 60_000, until: T0 + 5 * 60_000 };
      expect(ids(await s.listBuildsets(range, all))).toEqual(['bs-4', 'bs-3', 'bs-2']);
      expect(ids(await s.listBuildsets({ job: 'svc', result: 'SUCCESS', ...range }, all))).toEqual([
        'bs-4',
        'bs-2',
      ]);
      expect(ids(await s.listBuildsets({ job: 'no-such-job' }, all))).toEqual([]);
    });

    it('filters builds by job, result, pipeline, ref and time range', async () => {
      const s = await seeded();
      const failed = await s.listBuilds({ job: 'base', result: 'FAILURE' }, all);
      expect(failed.items.map((b) => b.buildsetId)).toEqual(['bs-9', 'bs-6', 'bs-3', 'bs-0']);
      const skipped = await s.listBuilds({ result: 'SKIPPED', pipeline: 'deploy' }, all);
      expect(skipped.items.map((b) => `${b.buildsetId}/${b.job}`)).toEqual([
        'bs-6/svc',
        'bs-0/svc',
      ]);
      const checkouts = await s.listBuilds({ job: 'checkout', ref: 'refs/heads/main' }, all);
      expect(checkouts.items.map((b) => b.buildsetId)).toEqual([
        'bs-4',
        'bs-3',
        'bs-2',
        'bs-1',
        'bs-0',
      ]);
      const page = await s.listBuilds({ job: 'svc' }, { limit: 3, skip: 3 });
      expect([page.items.map((b) => b.buildsetId), page.more]).toEqual([
        ['bs-6', 'bs-5', 'bs-4'],
        true,
      ]);
      const late = await s.listBuilds({ since: T0 + 9 * 60_000 - 1000 }, all);
      expect(late.items.every((b) => b.buildsetId === 'bs-9')).toBe(true);
      expect(late.items).toHaveLength(2);
    });
  });
}

function both(statements: string[]): Migration['up'] {
  return { sqlite: statements, postgres: statements };
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
