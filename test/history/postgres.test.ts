/**
 * Every PostgreSQL test lives in this file, so one server (Debian's
 * postgres, started by the fixture) serves them all: the store contract,
 * password handling, and a database that goes down and comes back.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import {
  createHistoryStore,
  historyEntryOf,
  HistoryConfigError,
  HistoryRecorder,
  HistoryUnavailableError,
  PostgresDriver,
  type FinishedBuildsets,
  type HistoryStore,
} from '../../src/history/index.js';
import type { Buildset } from '../../src/model/index.js';
import { startPostgres, type PgServer } from '../fixtures/postgres.js';
import { storeContract } from './contract.js';
import { finishedBuildset } from './support.js';

let server: PgServer;
const dir = mkdtempSync(join(tmpdir(), 'drawbridge-history-pg-'));

beforeAll(async () => {
  server = await startPostgres();
}, 90_000);

afterAll(async () => {
  await server?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const driverFor = (url: string, password = server.password) =>
  new PostgresDriver({
    url,
    password,
    connectTimeoutMs: 2_000,
    statementTimeoutMs: 5_000,
    onIdleError: () => undefined,
  });

storeContract('postgres', async () => {
  const url = await server.createDatabase('contract');
  return { connect: () => driverFor(url), dispose: () => Promise.resolve() };
});

/** A pino logger whose lines the test can read. */
function capture(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void out.push(s) });
  return { logger, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('postgres: credentials', () => {
  it('takes the password from a file, and refuses a wrong one without ever saying it', async () => {
    const url = await server.createDatabase('creds');
    const file = join(dir, 'password');
    writeFileSync(file, `${server.password}\n`, { mode: 0o600 });
    const { logger } = capture();
    const good = createHistoryStore({ kind: 'postgres', url, passwordFile: file }, logger);
    const wrongPassword = `not-${server.password}`;
    const bad = createHistoryStore(
      { kind: 'postgres', url, password: wrongPassword, connectTimeoutMs: 2_000 },
      logger,
    );
    try {
      await good.open();
      expect(await good.schemaVersion()).toBeGreaterThan(0);
      const err = await bad.open().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HistoryUnavailableError);
      expect((err as Error).message).toMatch(/password authentication failed/);
      expect(JSON.stringify(err) + String((err as Error).stack)).not.toContain(wrongPassword);
    } finally {
      await good.close();
      await bad.close();
    }
  });

  it('fails with a config error naming the option when the password file cannot be read', () => {
    let err: unknown;
    try {
      createHistoryStore(
        { kind: 'postgres', url: 'postgres://u@127.0.0.1:1/x', passwordFile: join(dir, 'none') },
        pino({ level: 'silent' }),
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HistoryConfigError);
    expect((err as HistoryConfigError).option).toBe('history.passwordFile');
  });
});

describe('postgres: a database that is down', () => {
  let store: HistoryStore;
  let url: string;

  beforeAll(async () => {
    url = await server.createDatabase('outage');
    store = createHistoryStore(
      { kind: 'postgres', url, password: server.password, connectTimeoutMs: 1_000 },
      pino({ level: 'silent' }),
    );
  });
  afterAll(async () => {
    await store?.close();
    await server.start();
  });

  const batch = (pipeline: string, records: Map<string, Buildset>, finished: string[]) =>
    ({
      pipeline,
      finished,
      catchUp: false,
      listDone: () => Promise.resolve([...records.keys()]),
      read: (id: string) => Promise.resolve(records.get(id) ?? null),
    }) satisfies FinishedBuildsets;

  it('keeps finished buildsets while down, warns once, and writes them once it is back', async () => {
    let now = 1_000_000;
    const { logger, lines } = capture();
    const recorder = new HistoryRecorder(store, logger, {
      now: () => now,
      backoffMs: 1_000,
      writeTimeoutMs: 5_000,
    });
    const records = new Map<string, Buildset>();
    const add = (id: string, endedAt: number) => records.set(id, finishedBuildset({ id, endedAt }));
    add('manual-0000000000000d01', Date.UTC(2026, 2, 1));
    expect(await recorder.record(batch('deploy', records, ['manual-0000000000000d01']))).toEqual(
      [],
    );

    await server.stop();
    add('manual-0000000000000d02', Date.UTC(2026, 2, 2));
    const started = Date.now();
    const kept = await recorder.record(batch('deploy', records, ['manual-0000000000000d02']));
    expect({ kept, fast: Date.now() - started < 4_000 }).toEqual({
      kept: ['manual-0000000000000d02'],
      fast: true,
    });
    // Within the pause nothing is tried: the ids are kept again, nothing more is logged.
    add('manual-0000000000000d03', Date.UTC(2026, 2, 3));
    now += 500;
    expect(await recorder.record(batch('deploy', records, ['manual-0000000000000d03']))).toEqual([
      'manual-0000000000000d02',
      'manual-0000000000000d03',
    ]);
    now += 1_000;
    expect(await recorder.record(batch('deploy', records, []))).toHaveLength(2);
    const warnings = lines().filter((l) => l['level'] === 40);
    expect(warnings.map((l) => l['msg'])).toEqual([
      'cannot write the history; finished buildsets kept in ZooKeeper',
    ]);
    expect(recorder.stats).toMatchObject({ down: true, pending: 2, failures: 2 });

    await server.start();
    now += 10_000;
    expect(await recorder.record(batch('deploy', records, []))).toEqual([]);
    const stored = await store.listBuildsets({}, { limit: 10, skip: 0 });
    expect(stored.items.map((b) => b.id)).toEqual([
      'manual-0000000000000d03',
      'manual-0000000000000d02',
      'manual-0000000000000d01',
    ]);
    expect(recorder.stats).toMatchObject({ down: false, pending: 0, written: 3 });
    expect(
      lines().some(
        (l) => l['msg'] === 'history database reachable again; finished buildsets are recorded',
      ),
    ).toBe(true);
  });

  it('catches up after a takeover: finished records not in the database are written, once', async () => {
    const recorder = new HistoryRecorder(store, pino({ level: 'silent' }));
    const records = new Map<string, Buildset>();
    for (const [i, id] of ['manual-0000000000000e01', 'manual-0000000000000e02'].entries())
      records.set(id, finishedBuildset({ id, endedAt: Date.UTC(2026, 3, 1 + i) }));
    // e01 is already stored (written by the scheduler that died after writing it).
    await store.put(historyEntryOf(records.get('manual-0000000000000e01')!));
    const kept = await recorder.record({ ...batch('deploy', records, []), catchUp: true });
    expect(kept).toEqual([]);
    expect(recorder.stats.written).toBe(1);
    expect(await store.missing([...records.keys()])).toEqual([]);
  });
});
