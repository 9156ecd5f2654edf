import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import {
  createHistoryStore,
  expectedDurations,
  historyEntryOf,
  MIGRATIONS,
  SqliteDriver,
} from '../../src/history/index.js';
import { storeContract } from './contract.js';
import { finishedBuildset } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'drawbridge-history-sqlite-'));
const root = new URL('../../', import.meta.url).pathname;
let n = 0;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeContract('sqlite', () => {
  n += 1;
  const home = join(dir, `db-${n}`);
  const path = join(home, 'history.sqlite');
  return Promise.resolve({
    connect: () => SqliteDriver.open(path),
    dispose: () => Promise.resolve(rmSync(home, { recursive: true, force: true })),
  });
});

describe('sqlite: the file', () => {
  it('is created with its directory; two stores of one process share it and read what the other wrote', async () => {
    const path = join(dir, 'shared', 'deep', 'history.sqlite');
    const log = pino({ level: 'silent' });
    const writer = createHistoryStore({ kind: 'sqlite', path }, log);
    const reader = createHistoryStore({ kind: 'sqlite', path }, log);
    try {
      await writer.open();
      expect(existsSync(path)).toBe(true);
      const bs = finishedBuildset({ id: 'manual-00000000000000cc', endedAt: Date.UTC(2026, 1, 1) });
      await writer.put(historyEntryOf(bs));
      expect((await reader.getBuildset(bs.id))?.buildset.id).toBe(bs.id);
    } finally {
      await writer.close();
      await reader.close();
      await writer.close(); // idempotent
    }
  });
});

describe('sqlite: several processes on one file', () => {
  it('migrate at once without conflict (each migration once) and all their writes land', async () => {
    const path = join(dir, 'processes', 'history.sqlite');
    const script = join(root, 'test/history/child-writer.ts');
    const children = ['1', '2', '3'].map(
      (n) =>
        new Promise<{ code: number | null; err: string }>((resolve) => {
          const child = spawn(
            process.execPath,
            ['--import', '@swc-node/register/esm-register', script, path, n],
            { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
          );
          let err = '';
          child.stderr.on('data', (d: Buffer) => (err += d.toString()));
          child.on('exit', (code) => resolve({ code, err }));
        }),
    );
    const results = await Promise.all(children);
    expect(results.map((r) => (r.code === 0 ? 0 : r.err))).toEqual([0, 0, 0]);
    const store = createHistoryStore({ kind: 'sqlite', path }, pino({ level: 'silent' }));
    const driver = SqliteDriver.open(path);
    try {
      const versions = await driver.query('SELECT version FROM schema_version');
      expect(versions).toHaveLength(MIGRATIONS.length);
      expect(await store.missing(['proc-1', 'proc-2', 'proc-3'])).toEqual([]);
    } finally {
      await driver.close();
      await store.close();
    }
  }, 120_000);
});

describe('sqlite: expected durations', () => {
  it('is the median of the last successful runs of the job; unknown without one', async () => {
    const store = createHistoryStore(
      { kind: 'sqlite', path: join(dir, 'durations', 'h.sqlite') },
      pino({ level: 'silent' }),
    );
    try {
      // base ran 30 s, 70 s, 10 s (failed) and 50 s; only the successes count.
      const runs = [
        [30_000, 'SUCCESS'],
        [70_000, 'SUCCESS'],
        [10_000, 'FAILURE'],
        [50_000, 'SUCCESS'],
      ] as const;
      for (const [i, [took, state]] of runs.entries()) {
        const entry = historyEntryOf(
          finishedBuildset({
            id: `d-${i}`,
            endedAt: 1_000_000 + i * 100_000,
            jobs: [{ name: 'base', state }],
          }),
        );
        const builds = entry.builds.map((x) =>
          x.job === 'base' ? { ...x, startedAt: x.endedAt - took } : x,
        );
        await store.put({ ...entry, builds });
      }
      const expected = expectedDurations(store);
      expect(await expected('base')).toBe(50_000);
      expect(await expected('never-ran')).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
