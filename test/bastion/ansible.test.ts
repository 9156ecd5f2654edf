import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnsibleRunner, type PlaybookRun } from '../../src/bastion/ansible.js';
import { Workspaces } from '../../src/bastion/checkout.js';
import type { BastionConnection } from '../../src/bastion/connection.js';
import {
  BastionInvalidNameError,
  BastionWorkspaceError,
  SshConnectionLostError,
  type BastionError,
} from '../../src/bastion/errors.js';
import { createGitRepo, type GitRepoFixture } from '../fixtures/git-repo.js';
import { startSshd, type SshdFixture } from '../fixtures/sshd.js';
import { connect, groupMembers, isAlive, waitFor } from './support.js';

describe('ansible runner', () => {
  let dir: string;
  let gitLog: string;
  let sshd: SshdFixture;
  let repo: GitRepoFixture;
  let conn: BastionConnection;
  let workspaces: Workspaces;
  let runner: AnsibleRunner;
  let builds = 0;
  const BS = 'bs-ansible';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drawbridge-ansible-'));
    gitLog = join(dir, 'git.log');
    mkdirSync(join(dir, 'bin'));
    writeFileSync(
      join(dir, 'bin/git'),
      `#!/bin/sh\nprintf '%s\\n' "$*" >> '${gitLog}'\nexec /usr/bin/git "$@"\n`,
      {
        mode: 0o755,
      },
    );
    [sshd, repo] = await Promise.all([
      startSshd({
        maxSessions: 10,
        env: { PATH: `${join(dir, 'bin')}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin` },
      }),
      createGitRepo(),
    ]);
    conn = await connect(sshd, { maxSessions: 10, reconnectInitialMs: 50, reconnectMaxMs: 200 });
    workspaces = new Workspaces(conn, { root: join(dir, 'bastion') });
    runner = new AnsibleRunner(conn, workspaces, { killGraceMs: 1_000 });
  });
  afterAll(async () => {
    await conn?.close();
    await sshd?.dispose();
    repo?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One job of the test buildset: the checkout step first, then the playbook. */
  const build = async (job: string, playbook: string, extra: Partial<PlaybookRun> = {}) => {
    await workspaces.checkout(BS, repo.seedSha, { kind: 'fetch', url: repo.url });
    builds += 1;
    return runner.run({
      buildset: BS,
      sha: repo.seedSha,
      build: `b${builds}`,
      job,
      playbook,
      ...extra,
    });
  };
  const clones = (): number =>
    existsSync(gitLog)
      ? readFileSync(gitLog, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('clone ')).length
      : 0;

  it('runs a playbook from the workspace and streams its output line by line', async () => {
    const lines: Array<{ line: string; at: number }> = [];
    const outcome = await build('stream', 'playbooks/stream.yml', {
      onLine: (line, stream) => stream === 'stdout' && lines.push({ line, at: Date.now() }),
    });
    expect(outcome.result).toBe('SUCCESS');
    expect(outcome.exitCode).toBe(0);
    expect(lines.every((l) => !l.line.includes('\n'))).toBe(true);
    const first = lines.find((l) => l.line.includes('"msg": "first line"'));
    const second = lines.find((l) => l.line.includes('"msg": "second line"'));
    expect(second!.at - first!.at).toBeGreaterThan(500);
    expect(lines.some((l) => l.line.includes('\u001b['))).toBe(false);
  });

  it('reports a failing playbook as FAILURE', async () => {
    const lines: string[] = [];
    const outcome = await build('fails', 'playbooks/fail.yml', { onLine: (l) => lines.push(l) });
    expect(outcome.result).toBe('FAILURE');
    expect(outcome.exitCode).toBe(2);
    expect(lines.join('\n')).toContain('deliberately failing');
  });

  it('runs two builds of one buildset at the same time over one connection', async () => {
    const record = join(dir, 'intervals');
    mkdirSync(record);
    const vars = (name: string) => ({ vars: { record_dir: record, name, seconds: 2 } });
    const outcomes = await Promise.all([
      build('overlap-a', 'playbooks/interval.yml', vars('a')),
      build('overlap-b', 'playbooks/interval.yml', vars('b')),
    ]);
    expect(outcomes.map((o) => o.result)).toEqual(['SUCCESS', 'SUCCESS']);
    const t = (f: string): bigint => BigInt(readFileSync(join(record, f), 'utf8').trim());
    expect(t('a.start') < t('b.end') && t('b.start') < t('a.end')).toBe(true);
  });

  it('runs 12 concurrent builds against MaxSessions 10, with exactly one checkout', async () => {
    const before = clones();
    const fresh = new Workspaces(conn, { root: join(dir, 'bastion') });
    const sha = await repo.commit({ 'twelve.txt': '12' });
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        await fresh.checkout('bs-twelve', sha, { kind: 'fetch', url: repo.url });
        return new AnsibleRunner(conn, fresh).run({
          buildset: 'bs-twelve',
          sha,
          build: `twelve-${i}`,
          job: `job-${i}`,
          playbook: 'playbooks/ok.yml',
        });
      }),
    );
    expect(outcomes.map((o) => o.result)).toEqual(Array(12).fill('SUCCESS'));
    expect(clones() - before).toBe(1);
    expect(conn.channels.refusals).toBe(0);
  });

  it('times out: TIMED_OUT, and no process of the playbook is left on the bastion', async () => {
    const pidFile = join(dir, 'timeout.pid');
    const outcome = await build('timeout', 'playbooks/sleep.yml', {
      timeoutMs: 2_500,
      vars: { pid_file: pidFile, seconds: 300 },
    });
    expect(outcome.result).toBe('TIMED_OUT');
    expect(outcome.pgid).toBeGreaterThan(1);
    expect(isAlive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
    expect(groupMembers(outcome.pgid!)).toEqual([]);
  });

  it('cancels mid-run: CANCELED, the group killed', async () => {
    const pidFile = join(dir, 'cancel.pid');
    const ac = new AbortController();
    const running = build('cancel', 'playbooks/sleep.yml', {
      signal: ac.signal,
      vars: { pid_file: pidFile, seconds: 300 },
    });
    await waitFor('the playbook to start its sleep', () => existsSync(pidFile), 20_000);
    ac.abort(new Error('dequeued by operator'));
    const outcome = await running;
    expect(outcome.result).toBe('CANCELED');
    expect(isAlive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
    expect(groupMembers(outcome.pgid!)).toEqual([]);
  });

  it('passes hostile vars as data, never as shell', async () => {
    const marker = join(dir, 'PWNED');
    const payload = `$(touch ${marker}) \`touch ${marker}\` '; touch ${marker}; ' "; rm -rf /nonexistent; "\nline two`;
    const out = join(dir, 'payload.txt');
    const outcome = await build('hostile-vars', 'playbooks/echo-vars.yml', {
      vars: { payload, out_file: out },
    });
    expect(outcome.result).toBe('SUCCESS');
    expect(readFileSync(out, 'utf8')).toBe(payload);
    expect(existsSync(marker)).toBe(false);
    // The vars file is removed once the playbook ended.
    expect(existsSync(join(workspaces.varsDir, `b${builds}.json`))).toBe(false);
  });

  it('rejects hostile job names, build ids and playbook paths before anything runs', async () => {
    const marker = join(dir, 'PWNED');
    const base = {
      buildset: BS,
      sha: repo.seedSha,
      build: 'hostile',
      job: 'ok',
      playbook: 'playbooks/ok.yml',
    };
    for (const bad of [
      { job: `x$(touch ${marker})` },
      { job: 'a; rm -rf /' },
      { job: "it's" },
      { job: 'new\nline' },
      { build: '../../x' },
      { playbook: '../../../etc/passwd' },
      { playbook: '/etc/passwd' },
      { playbook: '-e@/etc/shadow' },
      { inventory: `inv;touch ${marker}` },
    ]) {
      await expect(runner.run({ ...base, ...bad })).rejects.toBeInstanceOf(BastionInvalidNameError);
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses to run without a verified checkout', async () => {
    const err = await runner
      .run({
        buildset: 'bs-never',
        sha: repo.seedSha,
        build: 'nocheckout',
        job: 'x',
        playbook: 'playbooks/ok.yml',
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(BastionWorkspaceError);
    expect((err as Error).message).toContain('no checkout of buildset bs-never');
  });

  it('hands the job environment and argv to the command intact, as data', async () => {
    const stub = join(dir, 'bin', 'print-env');
    writeFileSync(
      stub,
      `#!/bin/sh\nprintf 'value=%s|\\n' "$DB_HOSTILE"\nprintf 'job=%s\\n' "$DRAWBRIDGE_JOB"\nprintf 'arg=%s\\n' "$@"\n`,
      { mode: 0o755 },
    );
    const hostile = `it's $(touch ${join(dir, 'pwned')}) \`id\` "q" ; x=1`;
    const printing = new AnsibleRunner(conn, workspaces, {
      ansiblePlaybook: stub,
      env: { DB_HOSTILE: hostile },
    });
    await workspaces.checkout(BS, repo.seedSha, { kind: 'fetch', url: repo.url });
    const lines: string[] = [];
    const outcome = await printing.run({
      buildset: BS,
      sha: repo.seedSha,
      build: 'env-argv',
      job: 'env-job',
      playbook: 'playbooks/ok.yml',
      onLine: (l, stream) => stream === 'stdout' && lines.push(l),
    });
    expect(outcome.result).toBe('SUCCESS');
    expect(lines).toEqual([
      `value=${hostile}|`,
      'job=env-job',
      'arg=-i',
      'arg=inventory',
      'arg=-e',
      `arg=@${workspaces.varsDir}/env-argv.json`,
      'arg=playbooks/ok.yml',
    ]);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  it('checks the pinned commit by the HEAD file alone, never asking git (workspaces are detached)', async () => {
    const bs = 'bs-head';
    await workspaces.checkout(bs, repo.seedSha, { kind: 'fetch', url: repo.url });
    const ws = workspaces.workspacePath(bs);
    const run = (name: string) =>
      runner
        .run({
          buildset: bs,
          sha: repo.seedSha,
          build: name,
          job: name,
          playbook: 'playbooks/ok.yml',
        })
        .then(
          (o) => o,
          (e: unknown) => e,
        );
    const revParses = (): number =>
      readFileSync(gitLog, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('rev-parse ')).length;

    const before = revParses();
    expect(await run('head-detached')).toMatchObject({ result: 'SUCCESS' });

    // A branch HEAD is not what a checkout leaves: refused, quoting HEAD, without a git run in the runner's loop.
    execFileSync('git', ['-C', ws, 'checkout', '-q', '-B', 'pinned', repo.seedSha]);
    const branch = await run('head-branch');
    expect(branch).toBeInstanceOf(BastionWorkspaceError);
    expect((branch as Error).message).toContain(
      `workspace HEAD holds "ref: refs/heads/pinned", expected ${repo.seedSha}`,
    );

    execFileSync('git', [
      '-C',
      ws,
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@t',
      'commit',
      '-q',
      '--allow-empty',
      '-m',
      'moved',
    ]);
    execFileSync('git', ['-C', ws, 'checkout', '-q', '--detach']);
    const moved = execFileSync('git', ['-C', ws, 'rev-parse', 'HEAD']).toString().trim();
    const err = await run('head-moved');
    expect(err).toBeInstanceOf(BastionWorkspaceError);
    expect((err as Error).message).toContain(
      `workspace HEAD holds "${moved}", expected ${repo.seedSha}`,
    );
    expect(revParses()).toBe(before);
  });

  it('ends a build whose bastion dies mid-playbook with a clear, non-retryable error', async () => {
    const pidFile = join(dir, 'lost.pid');
    const running = build('lost', 'playbooks/sleep.yml', {
      vars: { pid_file: pidFile, seconds: 300 },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await waitFor('the playbook to start its sleep', () => existsSync(pidFile), 20_000);
    await sshd.kill();
    const err = await running;
    expect(err).toBeInstanceOf(SshConnectionLostError);
    expect((err as BastionError).retryable).toBe(false);
    expect((err as Error).message).toMatch(/lost while the command ran/);
    await waitFor(
      'the orphaned playbook to be ended by its watchdog',
      () => !isAlive(Number(readFileSync(pidFile, 'utf8'))),
    );
    await sshd.start();
    await waitFor('the connection to come back', () => conn.state === 'ready');
  });

  it('fails a build as retryable when the bastion is unreachable before the playbook starts', async () => {
    const quick = await connect(sshd, { waitForReadyMs: 300, reconnectInitialMs: 50 });
    const quickRunner = new AnsibleRunner(quick, workspaces);
    await sshd.kill();
    await waitFor('the connection to notice', () => quick.state === 'reconnecting');
    const err = await quickRunner
      .run({
        buildset: BS,
        sha: repo.seedSha,
        build: 'unreachable',
        job: 'x',
        playbook: 'playbooks/ok.yml',
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((err as BastionError).retryable).toBe(true);
    expect((err as Error).message).toMatch(/not connected/);
    await sshd.start();
    await quick.close();
    await waitFor('the shared connection to come back', () => conn.state === 'ready');
  });
});
