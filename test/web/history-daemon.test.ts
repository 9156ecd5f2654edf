/**
 * The history as `drawbridge web` wires it from the daemon config: SQLite
 * by default under `state.dir`, or PostgreSQL from `history.url` whose
 * password (from the environment) never reaches the log, even when the
 * database cannot be reached.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { daemonCommand } from '../../src/cli/daemon-command.js';
import { createHistoryStore, historyEntryOf } from '../../src/history/index.js';
import { newChroot, type TestChroot } from '../fixtures/zookeeper.js';
import { finishedBuildset } from '../history/support.js';
import { freePort, getJson, waitUntil, writeConfig } from '../processes/support.js';

jest.setTimeout(120_000);

let chroot: TestChroot;
let dir: string;

beforeAll(async () => {
  chroot = await newChroot('web-history-daemon');
  dir = mkdtempSync(join(tmpdir(), 'drawbridge-web-history-daemon-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `drawbridge web` until `check` is done, then stops it with a SIGTERM of its own (not jest's process). */
async function withWeb(
  name: string,
  extra: string,
  env: Record<string, string>,
  check: (url: string) => Promise<void>,
): Promise<string> {
  const home = join(dir, name);
  mkdirSync(home, { recursive: true });
  const webPort = await freePort();
  const config = writeConfig(home, {
    zookeeper: chroot.serverConnectString,
    root: `${chroot.chroot}/${name}`,
    logRoot: join(home, 'logs'),
    webPort,
    logPort: await freePort(),
    extra,
  });
  let logs = '';
  const signals = new EventEmitter();
  const code = daemonCommand(
    ['web'],
    { config, grace: '5' },
    {
      env,
      io: { stdout: { write: () => true }, stderr: { write: () => true } },
      signals,
      logOut: { write: (t: string) => (logs += t) },
      version: 'test',
    },
  );
  try {
    await waitUntil(() => logs.includes('"msg":"daemon running"'), `the daemon to run:\n${logs}`);
    await check(`http://127.0.0.1:${webPort}`);
  } finally {
    signals.emit('SIGTERM');
  }
  expect(await code).toBe(0);
  expect(signals.eventNames()).toEqual([]);
  return logs;
}

describe('drawbridge web: history from the daemon config', () => {
  it('reads the SQLite history under state.dir by default', async () => {
    const home = join(dir, 'sqlite');
    // What a scheduler of the same host would have written.
    const store = createHistoryStore(
      { kind: 'sqlite', path: join(home, 'state', 'history.sqlite') },
      pino({ level: 'silent' }),
    );
    const bs = finishedBuildset({ id: 'manual-00000000000000f1', endedAt: Date.UTC(2026, 6, 1) });
    await store.put(historyEntryOf(bs));
    await store.close();
    const logs = await withWeb('sqlite', '', {}, async (url) => {
      const res = await getJson(`${url}/api/buildsets`);
      expect(res.status).toBe(200);
      expect((res.body as { buildsets: { id: string }[] }).buildsets.map((b) => b.id)).toEqual([
        bs.id,
      ]);
    });
    expect(logs).toMatch(/"backend":"sqlite".*"msg":"history database ready"/);
  });

  it('answers 503 while PostgreSQL is unreachable, and never logs its password', async () => {
    const secret = 'pg-secret-never-logged-7d1f';
    const logs = await withWeb(
      'postgres',
      'history:\n  url: postgres://drawbridge@127.0.0.1:1/history\n  password: ${PGPASS}\n',
      { PGPASS: secret },
      async (url) => {
        const res = await getJson(`${url}/api/builds`);
        expect(res.status).toBe(503);
        expect((res.body as { error: { code: string } }).error.code).toBe(
          'DRAWBRIDGE_ERR_WEB_UNAVAILABLE',
        );
        expect(JSON.stringify(res.body)).not.toContain(secret);
      },
    );
    expect(logs).toContain('history database unavailable at start');
    expect(logs).not.toContain(secret);
  });
});
