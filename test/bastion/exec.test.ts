import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BastionConnection } from '../../src/bastion/connection.js';
import { BastionTimeoutError, SshConnectionLostError } from '../../src/bastion/errors.js';
import { execInGroup } from '../../src/bastion/exec.js';
import { startSshd, type SshdFixture } from '../fixtures/sshd.js';
import { connect, groupMembers, isAlive, waitFor } from './support.js';

const HOSTILE = [
  '$(touch /tmp/PWNED)',
  '`touch /tmp/PWNED`',
  '; touch /tmp/PWNED',
  "'; touch /tmp/PWNED; '",
  '"; touch /tmp/PWNED; "',
  'a\nb; touch /tmp/PWNED',
  '|| touch /tmp/PWNED &',
  '${IFS}x*?[a]~ \\ \t end',
  '-rf',
  '',
];

describe('remote exec in a process group', () => {
  let sshd: SshdFixture;
  let conn: BastionConnection;
  let root: string;
  beforeAll(async () => {
    sshd = await startSshd();
    conn = await connect(sshd, { reconnectInitialMs: 50, reconnectMaxMs: 200 });
    root = mkdtempSync(join(tmpdir(), 'drawbridge-exec-'));
  });
  afterAll(async () => {
    await conn?.close();
    await sshd?.dispose();
    rmSync(root, { recursive: true, force: true });
  });
  const runDir = (): string => `${root}/.run`;

  it('reports the exit status, output and group id', async () => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const result = await execInGroup(conn, ['sh', '-c', 'echo out; echo err >&2; exit 3'], {
      runDir: runDir(),
      id: 'status',
      onStdout: (c) => out.push(c),
      onStderr: (c) => err.push(c),
    });
    expect(result).toMatchObject({ exitCode: 3, aborted: false });
    expect(result.pgid).toBeGreaterThan(1);
    expect(Buffer.concat(out).toString()).toBe('out\n');
    expect(Buffer.concat(err).toString()).toBe('err\n');
    expect(existsSync(`${runDir()}/status.pid`)).toBe(false);
  });

  it('passes hostile arguments through verbatim, running none of them', async () => {
    const marker = join(root, 'PWNED');
    const args = HOSTILE.map((a) => a.replaceAll('/tmp/PWNED', marker));
    const out: Buffer[] = [];
    const result = await execInGroup(
      conn,
      ['sh', '-c', 'for a in "$@"; do printf "%s\\0" "$a"; done', 'x', ...args],
      {
        runDir: runDir(),
        id: 'hostile',
        onStdout: (c) => out.push(c),
      },
    );
    expect(result.exitCode).toBe(0);
    expect(Buffer.concat(out).toString().split('\0').slice(0, -1)).toEqual(args);
    expect(existsSync(marker)).toBe(false);
  });

  it('records the group id in a pid file before the command starts', async () => {
    const pidFile = `${runDir()}/recorded.pid`;
    const out: Buffer[] = [];
    const result = await execInGroup(conn, ['cat', pidFile], {
      runDir: runDir(),
      id: 'recorded',
      onStdout: (c) => out.push(c),
    });
    expect(Number(Buffer.concat(out).toString())).toBe(result.pgid);
  });

  it('kills the whole group, children included, on abort', async () => {
    const ac = new AbortController();
    let pgid = 0;
    const run = execInGroup(conn, ['sh', '-c', 'sleep 300 & sleep 300 & wait'], {
      runDir: runDir(),
      id: 'cancel',
      signal: ac.signal,
      onStart: (id) => (pgid = id),
    });
    await waitFor(
      'the group to hold both sleeps',
      () => pgid > 0 && groupMembers(pgid).length >= 4,
    );
    ac.abort(new Error('cancelled by test'));
    const result = await run;
    expect(result.aborted).toBe(true);
    expect(groupMembers(pgid)).toEqual([]);
  });

  it('escalates to KILL when the group ignores TERM', async () => {
    const ac = new AbortController();
    let pgid = 0;
    const started = Date.now();
    const run = execInGroup(conn, ['sh', '-c', "trap '' TERM; sleep 300 & wait; wait"], {
      runDir: runDir(),
      id: 'stubborn',
      signal: ac.signal,
      killGraceMs: 300,
      onStart: (id) => (pgid = id),
    });
    await waitFor('the stubborn group to start', () => pgid > 0 && groupMembers(pgid).length >= 3);
    ac.abort(new BastionTimeoutError(1));
    const result = await run;
    expect(result.aborted).toBe(true);
    expect(groupMembers(pgid)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('times out through an abort signal with a reason', async () => {
    let pgid = 0;
    const result = await execInGroup(conn, ['sleep', '300'], {
      runDir: runDir(),
      id: 'timeout',
      signal: AbortSignal.timeout(300),
      onStart: (id) => (pgid = id),
    });
    expect(result.aborted).toBe(true);
    expect(pgid).toBeGreaterThan(1);
    expect(groupMembers(pgid)).toEqual([]);
  });

  it('ends with a clear error when sshd dies mid-command, and the group dies with the channel', async () => {
    let pgid = 0;
    const pidFile = join(root, 'sleep.pid');
    const run = execInGroup(conn, ['sh', '-c', 'echo $$ > "$1"; exec sleep 300', 'x', pidFile], {
      runDir: runDir(),
      id: 'lost',
      onStart: (id) => (pgid = id),
    });
    const settled = run.then(
      () => undefined,
      (e: unknown) => e,
    );
    await waitFor(
      'the sleep to start',
      () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'),
    );
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    await sshd.kill();
    const err = await settled;
    expect(err).toBeInstanceOf(SshConnectionLostError);
    expect((err as SshConnectionLostError).started).toBe(true);
    expect((err as SshConnectionLostError).retryable).toBe(false);
    await waitFor(
      'the watchdog to end the orphaned group',
      () => !isAlive(sleeper) && groupMembers(pgid).length === 0,
    );
    await sshd.start();
    await waitFor('the connection to come back', () => conn.state === 'ready');
  });
});
