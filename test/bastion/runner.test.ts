import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnsibleRunner, type PlaybookRun } from '../../src/bastion/ansible.js';
import { Workspaces } from '../../src/bastion/checkout.js';
import type { BastionConnection } from '../../src/bastion/connection.js';
import {
  BastionPlaybookMissingError,
  BastionWorkspaceError,
  SshConnectionLostError,
} from '../../src/bastion/errors.js';
import {
  BastionRunner,
  type RunnerJob,
  type RunnerResult,
  type RunnerWorkspace,
} from '../../src/bastion/runner.js';
import { createGitRepo, type GitRepoFixture } from '../fixtures/git-repo.js';
import { startSshd, type SshdFixture } from '../fixtures/sshd.js';
import { connect, groupMembers, isAlive, waitFor } from './support.js';

/** Fields of /proc/<pid>/stat from the state on (field 3 is index 0). */
function statOf(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
/** The nice value of a process (field 19). */
const niceOf = (pid: number): number => Number(statOf(pid)[16]);
/** The scheduling policy of a process (field 41). */
const policyOf = (pid: number): number => Number(statOf(pid)[38]);
const SCHED_OTHER = 0;
const SCHED_BATCH = 3;
/** The session id of a process (field 6). */
const sessionOf = (pid: number): number => Number(statOf(pid)[3]);

const pidIn = (file: string): number => Number(readFileSync(file, 'utf8').trim());

/** Holds `lock` exclusively (as a checkout does) until `release` exists. */
async function holdLock(lock: string, release: string): Promise<ChildProcess> {
  const held = `${release}.held`;
  const holder = spawn(
    'flock',
    [
      '-x',
      lock,
      'sh',
      '-c',
      'touch "$1"; while [ ! -e "$2" ]; do sleep 0.05; done',
      'hold',
      held,
      release,
    ],
    { stdio: 'ignore' },
  );
  await waitFor('the lock to be held', () => existsSync(held));
  return holder;
}

const settled = <T>(p: Promise<T>): Promise<unknown> =>
  p.then(
    (v) => v,
    (e: unknown) => e,
  );

describe('job runner on the bastion', () => {
  let dir: string;
  let sshd: SshdFixture;
  let repo: GitRepoFixture;
  let conn: BastionConnection;
  let runner: BastionRunner;
  let n = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drawbridge-runner-'));
    [sshd, repo] = await Promise.all([startSshd(), createGitRepo()]);
    conn = await connect(sshd, { reconnectInitialMs: 50, reconnectMaxMs: 200 });
    runner = BastionRunner.for(conn);
  });
  afterAll(async () => {
    await conn?.close();
    await sshd?.dispose();
    repo?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const job = (argv: string[], extra: Partial<RunnerJob> = {}): RunnerJob => {
    n += 1;
    return { name: `job-${n}`, runDir: join(dir, '.run'), argv, env: {}, cwd: dir, ...extra };
  };
  /** Runs a job whose child (a sleep) records its pid in a file; resolves once the child runs. */
  const withChild = async (
    r: BastionRunner,
    extra: Partial<RunnerJob> & { ignoreTerm?: boolean } = {},
  ): Promise<{ child: number; run: Promise<RunnerResult>; pgid: number }> => {
    const file = join(dir, `child-${n + 1}`);
    let pgid = 0;
    const trap = extra.ignoreTerm ? "trap '' TERM; " : '';
    const run = r.run(
      job(['sh', '-c', `${trap}sleep 300 & echo $! > ${file}; wait`], {
        ...extra,
        onStart: (id) => (pgid = id),
      }),
    );
    run.catch(() => undefined);
    await waitFor('the job to start its child', () => existsSync(file) && pgid > 0);
    await waitFor('the child pid to be written', () => readFileSync(file, 'utf8').endsWith('\n'));
    return { child: pidIn(file), run, pgid };
  };

  it('runs many concurrent jobs over one channel, each with its own output and exit code', async () => {
    const before = conn.channels.inUse;
    const results = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        const script = `i=0; while [ $i -lt 200 ]; do echo "job ${i} line $i"; i=$((i+1)); done; echo "err ${i}" >&2; exit ${i % 5}`;
        const r = await runner.run(
          job(['sh', '-c', script], {
            onStdout: (c) => out.push(c),
            onStderr: (c) => err.push(c),
          }),
        );
        return { i, r, out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString() };
      }),
    );
    for (const { i, r, out, err } of results) {
      expect(r).toMatchObject({ kind: 'exited', exitCode: i % 5, aborted: false });
      const lines = Array.from({ length: 200 }, (_, k) => `job ${i} line ${k}\n`).join('');
      expect(out).toBe(lines);
      expect(err).toBe(`err ${i}\n`);
    }
    // The runner holds one channel for good; jobs take none of their own.
    expect(conn.channels.inUse).toBeLessThanOrEqual(Math.max(before, 1));
    expect(conn.channels.refusals).toBe(0);
  });

  it('streams large binary output intact, on stdout and stderr at once', async () => {
    const data = randomBytes(4 << 20);
    const file = join(dir, 'blob');
    writeFileSync(file, data);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const r = await runner.run(
      job(['sh', '-c', `cat ${file} & cat ${file} >&2; wait`], {
        onStdout: (c) => out.push(c),
        onStderr: (c) => err.push(c),
      }),
    );
    expect(r).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(Buffer.concat(err).equals(data)).toBe(true);
  });

  it("gives a job's environment to that job only", async () => {
    const print = (env: Record<string, string>) => {
      const out: Buffer[] = [];
      return runner
        .run(
          job(['sh', '-c', 'printf "%s|" "${SECRET_X-unset}"'], {
            env,
            onStdout: (c) => out.push(c),
          }),
        )
        .then(() => Buffer.concat(out).toString());
    };
    expect(await print({ SECRET_X: "it's $(id) `x`" })).toBe("it's $(id) `x`|");
    expect(await print({})).toBe('unset|');
    const environ = readFileSync(`/proc/${runner.pid}/environ`, 'utf8');
    expect(environ).not.toContain('SECRET_X');
  });

  it('kills the whole group on abort, children included, and removes the pid file', async () => {
    const ac = new AbortController();
    // A long grace: only TERM to the whole group (not KILL after the grace) ends it in time.
    const { child, run, pgid } = await withChild(runner, {
      signal: ac.signal,
      killGraceMs: 30_000,
    });
    const pidFile = join(dir, '.run', `job-${n}.pid`);
    expect(pidIn(pidFile)).toBe(pgid);
    const abortedAt = Date.now();
    ac.abort();
    const r = await run;
    expect(Date.now() - abortedAt).toBeLessThan(10_000);
    expect(r).toMatchObject({ kind: 'exited', aborted: true, pgid });
    expect(isAlive(child)).toBe(false);
    expect(groupMembers(pgid)).toEqual([]);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('escalates to KILL after the grace when the group ignores TERM', async () => {
    const ac = new AbortController();
    const { child, run, pgid } = await withChild(runner, {
      signal: ac.signal,
      killGraceMs: 300,
      ignoreTerm: true,
    });
    ac.abort();
    const r = await run;
    expect(r).toMatchObject({ kind: 'exited', aborted: true });
    expect(isAlive(child)).toBe(false);
    expect(groupMembers(pgid)).toEqual([]);
  });

  it('applies jobNice to the whole group, children included', async () => {
    const ac = new AbortController();
    const { child, run, pgid } = await withChild(runner, { signal: ac.signal, nice: 7 });
    expect(niceOf(pgid)).toBe(7);
    expect(niceOf(child)).toBe(7);
    expect(niceOf(runner.pid!)).toBe(0);
    ac.abort();
    await run;
  });

  it('starts a batch job under SCHED_BATCH at its nice value, children included, and stays SCHED_OTHER itself', async () => {
    const ac = new AbortController();
    const batch = await withChild(runner, { signal: ac.signal, batch: true, nice: 7 });
    const normal = await withChild(runner, { signal: ac.signal });
    expect([policyOf(batch.pgid), policyOf(batch.child)]).toEqual([SCHED_BATCH, SCHED_BATCH]);
    // The nice value comes through nice(1), after chrt: both apply.
    expect([niceOf(batch.pgid), niceOf(batch.child)]).toEqual([7, 7]);
    expect(Number(statOf(batch.child)[2])).toBe(batch.pgid);
    expect([policyOf(normal.pgid), policyOf(normal.child)]).toEqual([SCHED_OTHER, SCHED_OTHER]);
    expect(policyOf(runner.pid!)).toBe(SCHED_OTHER);
    ac.abort();
    await Promise.all([batch.run, normal.run]);
  });

  it("starts a job as a process group of its own in the runner's session", async () => {
    // A session of its own would be a scheduling group of its own under autogroup,
    // as heavy as the runner's whatever its nice value.
    const ac = new AbortController();
    const { child, run, pgid } = await withChild(runner, { signal: ac.signal, nice: 7 });
    expect(pgid).not.toBe(runner.pid);
    expect(Number(statOf(child)[2])).toBe(pgid);
    expect(sessionOf(pgid)).toBe(sessionOf(runner.pid!));
    expect(sessionOf(child)).toBe(sessionOf(runner.pid!));
    ac.abort();
    await run;
  });

  it('watchdog: a closed connection ends every group the runner started', async () => {
    const own = await connect(sshd);
    const r = new BastionRunner(own);
    const jobs = await Promise.all([
      withChild(r),
      withChild(r),
      withChild(r, { ignoreTerm: true }),
    ]);
    const runnerPid = r.pid!;
    await own.close();
    for (const j of jobs) await expect(j.run).rejects.toBeInstanceOf(SshConnectionLostError);
    await waitFor(
      'every group to be gone',
      () => jobs.every((j) => !isAlive(j.child) && groupMembers(j.pgid).length === 0),
      10_000,
    );
    await waitFor('the runner to exit', () => !isAlive(runnerPid));
    expect(jobs.map((_, i) => existsSync(join(dir, '.run', `job-${n - 2 + i}.pid`)))).toEqual([
      false,
      false,
      false,
    ]);
  });

  it('a runner killed mid-job: its builds fail retryably, their groups killed through the control lane', async () => {
    const own = await connect(sshd);
    const r = new BastionRunner(own);
    const vars = join(dir, 'orphan-vars.json');
    const jobs = await Promise.all([
      withChild(r, { vars: { path: vars, content: '{}' } }),
      withChild(r, { ignoreTerm: true, killGraceMs: 300 }),
    ]);
    expect(statSync(vars).mode & 0o777).toBe(0o600);
    const first = r.pid!;
    process.kill(first, 'SIGKILL');
    for (const j of jobs) {
      const err = await j.run.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SshConnectionLostError);
      expect(err).toMatchObject({ retryable: true, started: true, groupKilled: true });
      expect(isAlive(j.child)).toBe(false);
      expect(groupMembers(j.pgid)).toEqual([]);
    }
    expect(existsSync(vars)).toBe(false);
    // The next job starts a new runner.
    const again = await r.run(job(['true']));
    expect(again).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(r.pid).not.toBe(first);
    await own.close();
  });

  it('a runner SIGKILLed under several TERM-ignoring jobs: every group is killed, in one control command', async () => {
    const own = await connect(sshd);
    const r = new BastionRunner(own);
    // Killed one by one behind the single control slot, with each kill's time limit
    // counting its wait, the later ones would time out and never run.
    const jobs = await Promise.all(
      Array.from({ length: 7 }, () => withChild(r, { ignoreTerm: true, killGraceMs: 2_000 })),
    );
    process.kill(r.pid!, 'SIGKILL');
    const errs = await Promise.all(jobs.map((j) => settled(j.run)));
    for (const [i, err] of errs.entries()) {
      expect(err).toBeInstanceOf(SshConnectionLostError);
      expect(err).toMatchObject({ retryable: true, started: true, groupKilled: true });
      expect(isAlive(jobs[i]!.child)).toBe(false);
      expect(groupMembers(jobs[i]!.pgid)).toEqual([]);
    }
    await own.close();
  }, 60_000);

  it('a SIGTERMed runner ends its jobs and fails them as a lost runner, retryable, not as a playbook failure', async () => {
    const own = await connect(sshd);
    const r = new BastionRunner(own);
    const j = await withChild(r);
    const pid = r.pid!;
    process.kill(pid, 'SIGTERM');
    const err = await settled(j.run);
    expect(err).toBeInstanceOf(SshConnectionLostError);
    expect(err).toMatchObject({ retryable: true, started: true, groupKilled: true });
    expect(isAlive(j.child)).toBe(false);
    expect(groupMembers(j.pgid)).toEqual([]);
    await waitFor('the runner to exit', () => !isAlive(pid));
    expect(await r.run(job(['true']))).toMatchObject({ kind: 'exited', exitCode: 0 });
    await own.close();
  });

  it("skips what the bastion user's login shell prints before the runner starts", async () => {
    const noisy = join(dir, 'noisy-python');
    // A greeting, and bytes that would pass for the start of a frame header.
    writeFileSync(
      noisy,
      '#!/bin/sh\necho "Welcome to the bastion"\nprintf "H\\000\\000"\nexec python3 "$@"\n',
      {
        mode: 0o755,
      },
    );
    const r = new BastionRunner(conn, { python: noisy });
    const out: Buffer[] = [];
    const res = await r.run(job(['echo', 'hi'], { onStdout: (c) => out.push(c) }));
    expect(res).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(Buffer.concat(out).toString()).toBe('hi\n');
  });

  it('starts a new runner after the connection came back', async () => {
    expect(await runner.run(job(['true']))).toMatchObject({ kind: 'exited', exitCode: 0 });
    const first = runner.pid!;
    // Killed, not stopped: sshd's sessions, sent TERM while the runner they serve
    // lives on, sometimes take longer than the wait below to drop the connection.
    await sshd.kill();
    await waitFor('the connection to notice', () => conn.state === 'reconnecting');
    await sshd.start();
    await waitFor('the connection to come back', () => conn.state === 'ready');
    expect(await runner.run(job(['true']))).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(runner.pid).not.toBe(first);
    await waitFor('the old runner to exit', () => !isAlive(first));
  });

  describe('playbooks through it', () => {
    const BS = 'bs-runner';
    let workspaces: Workspaces;
    let stub: string;

    beforeAll(async () => {
      workspaces = new Workspaces(conn, { root: join(dir, 'bastion') });
      await workspaces.checkout(BS, repo.seedSha, { kind: 'fetch', url: repo.url });
      stub = join(dir, 'fake-playbook');
      // Records what a playbook sees, then runs a child until killed (or exits at once with QUICK).
      writeFileSync(
        stub,
        [
          '#!/bin/sh',
          'vars=${4#@}',
          'stat -c %a "$vars" > "$OUT.mode"',
          'cat "$vars" > "$OUT.vars"',
          '[ -n "$QUICK" ] && exit 0',
          'sleep 300 & echo $! > "$OUT.child"',
          'wait',
        ].join('\n'),
        { mode: 0o755 },
      );
    });
    const play = (
      out: string,
      extra: Partial<PlaybookRun> = {},
      env: Record<string, string> = {},
      killGraceMs = 500,
    ) =>
      new AnsibleRunner(conn, workspaces, {
        ansiblePlaybook: stub,
        env: { OUT: out, ...env },
        killGraceMs,
        jobNice: 5,
      }).run({
        buildset: BS,
        sha: repo.seedSha,
        build: `pb-${++n}`,
        job: 'stub',
        playbook: 'playbooks/ok.yml',
        ...extra,
      });
    /** A `true` that goes through the workspace checks (and waits on `lock` as a playbook does). */
    const inWorkspace = (
      lock: string,
      workspace: Partial<RunnerWorkspace> = {},
      extra: Partial<RunnerJob> = {},
    ): RunnerJob =>
      job(['true'], {
        cwd: workspaces.workspacePath(BS),
        workspace: { buildset: BS, lock, sha: repo.seedSha, ...workspace },
        ...extra,
      });

    it('writes the vars file 0600 for the playbook, holds the workspace lock, and removes the vars afterwards', async () => {
      const out = join(dir, 'lock');
      const ac = new AbortController();
      const running = play(out, { vars: { a: 1 }, signal: ac.signal });
      await waitFor('the playbook to start its child', () => existsSync(`${out}.child`));
      expect(readFileSync(`${out}.mode`, 'utf8').trim()).toBe('600');
      expect(JSON.parse(readFileSync(`${out}.vars`, 'utf8'))).toEqual({ a: 1 });
      const lock = join(dir, 'bastion', '.locks', `${BS}.lock`);
      // Retention's exclusive try fails while the job holds the lock shared.
      expect(() => execFileSync('flock', ['-n', '-x', lock, 'true'])).toThrow();
      expect(niceOf(pidIn(`${out}.child`))).toBe(5);
      ac.abort();
      expect((await running).result).toBe('CANCELED');
      execFileSync('flock', ['-n', '-x', lock, 'true']);
      expect(existsSync(join(workspaces.varsDir, `pb-${n}.json`))).toBe(false);
    });

    it('times out: TIMED_OUT, the child killed too', async () => {
      const out = join(dir, 'timeout');
      const started = Date.now();
      // A grace far beyond the test's patience: TERM must reach the child through its group.
      const outcome = await play(out, { timeoutMs: 1_500 }, {}, 60_000);
      expect(outcome.result).toBe('TIMED_OUT');
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(isAlive(pidIn(`${out}.child`))).toBe(false);
      expect(groupMembers(outcome.pgid!)).toEqual([]);
    });

    it('a job that fails to start refuses that job only: the runner and its other jobs go on', async () => {
      const lock = join(dir, 'bastion', '.locks', `${BS}.lock`);
      const release = join(dir, 'bad-release');
      const finish = join(dir, 'bad-other-finish');
      const before = runner.pid;
      const other = runner.run(
        job(['sh', '-c', 'while [ ! -e "$1" ]; do sleep 0.05; done; echo done', 'other', finish]),
      );
      const holder = await holdLock(lock, release);
      try {
        // Lone surrogate: cannot be encoded; the job meets it in the loop's lock retry, not in the request handler.
        const bad = settled(
          runner.run(
            inWorkspace(
              lock,
              { playbook: 'playbooks/ok.yml' },
              { vars: { path: join(workspaces.varsDir, 'bad.json'), content: '{"x":"\ud800"}' } },
            ),
          ),
        );
        // Requests are handled in order: once this one ran, the bad one waits for the lock.
        expect(await runner.run(job(['true']))).toMatchObject({ kind: 'exited', exitCode: 0 });
        writeFileSync(release, '');
        expect(await bad).toMatchObject({ kind: 'refused', reason: 'bad-request' });
        expect((await bad) as { message: string }).toMatchObject({
          message: expect.stringContaining('not valid Unicode'),
        });
      } finally {
        writeFileSync(release, '');
        await waitFor('the lock holder to exit', () => holder.exitCode !== null);
      }
      writeFileSync(finish, '');
      expect(await other).toMatchObject({ kind: 'exited', exitCode: 0 });
      expect(runner.pid).toBe(before);
    });

    it('times out a job still waiting for its workspace lock', async () => {
      const lock = join(dir, 'bastion', '.locks', `${BS}.lock`);
      const release = join(dir, 'stuck-release');
      const out = join(dir, 'stuck');
      const holder = await holdLock(lock, release);
      try {
        let outcome: unknown;
        void play(out, { timeoutMs: 500 }).then(
          (o) => (outcome = o),
          (e: unknown) => (outcome = e),
        );
        await waitFor('the stuck job to time out', () => outcome !== undefined, 8_000);
        expect(outcome).toMatchObject({ result: 'TIMED_OUT', pgid: null, startedAt: null });
        expect(existsSync(`${out}.mode`)).toBe(false);
      } finally {
        writeFileSync(release, '');
        await waitFor('the lock holder to exit', () => holder.exitCode !== null);
      }
    });

    it('a connection lost after the run request went out counts the job as possibly started', async () => {
      const lock = join(dir, 'bastion', '.locks', `${BS}.lock`);
      const release = join(dir, 'sent-release');
      const own = await connect(sshd);
      const r = new BastionRunner(own);
      const holder = await holdLock(lock, release);
      try {
        // No S frame yet (here: held at the lock; likewise spawned, S queued behind output).
        const held = settled(r.run(inWorkspace(lock)));
        expect(await r.run(job(['true']))).toMatchObject({ kind: 'exited', exitCode: 0 });
        await own.close();
        const err = await held;
        expect(err).toBeInstanceOf(SshConnectionLostError);
        expect(err).toMatchObject({ started: true, retryable: false });
      } finally {
        writeFileSync(release, '');
        await waitFor('the lock holder to exit', () => holder.exitCode !== null);
      }
    });

    it('refuses a missing playbook, a missing checkout and a moved workspace, with typed errors', async () => {
      const out = join(dir, 'refused');
      const env = { QUICK: '1' };
      await expect(play(out, { playbook: 'playbooks/nope.yml' }, env)).rejects.toBeInstanceOf(
        BastionPlaybookMissingError,
      );
      const none = await play(out, { buildset: 'bs-none' }, env).catch((e: unknown) => e);
      expect(none).toBeInstanceOf(BastionWorkspaceError);
      expect((none as Error).message).toContain('no checkout of buildset bs-none');
      const other = '0'.repeat(40);
      const moved = await play(out, { sha: other }, env).catch((e: unknown) => e);
      expect(moved).toBeInstanceOf(BastionWorkspaceError);
      expect((moved as Error).message).toContain(`expected ${other}`);
      expect(existsSync(`${out}.mode`)).toBe(false);
      expect((await play(out, {}, env)).result).toBe('SUCCESS');
    });
  });
});
