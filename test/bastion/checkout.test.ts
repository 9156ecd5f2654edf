import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Workspaces } from '../../src/bastion/checkout.js';
import type { BastionConnection } from '../../src/bastion/connection.js';
import { BastionCheckoutError, BastionInvalidNameError } from '../../src/bastion/errors.js';
import { execInGroup } from '../../src/bastion/exec.js';
import { createGitRepo, type GitRepoFixture } from '../fixtures/git-repo.js';
import { startSshd, type SshdFixture } from '../fixtures/sshd.js';
import { connect, waitFor } from './support.js';

/** Every git command the bastion's sessions run is logged, to count clones and fetches. */
function gitSpy(dir: string): { bin: string; log: string; calls: (verb: string) => string[] } {
  const bin = join(dir, 'bin');
  const log = join(dir, 'git.log');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'git'),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec /usr/bin/git "$@"\n`,
    { mode: 0o755 },
  );
  const calls = (verb: string): string[] =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l.split(' ').includes(verb))
      : [];
  return { bin, log, calls };
}

const head = (path: string): string =>
  execFileSync('git', ['-C', path, 'rev-parse', 'HEAD']).toString().trim();

describe('checkout step', () => {
  let dir: string;
  let spy: ReturnType<typeof gitSpy>;
  let sshd: SshdFixture;
  let repo: GitRepoFixture;
  let conns: BastionConnection[];
  let root: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drawbridge-checkout-'));
    spy = gitSpy(dir);
    root = join(dir, 'bastion');
    [sshd, repo] = await Promise.all([
      startSshd({ env: { PATH: `${spy.bin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin` } }),
      createGitRepo(),
    ]);
    conns = await Promise.all([connect(sshd), connect(sshd), connect(sshd)]);
  });
  afterAll(async () => {
    await Promise.all((conns ?? []).map((c) => c.close()));
    await sshd?.dispose();
    repo?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  const ws = (i = 0, keepWorkspaces = 0): Workspaces =>
    new Workspaces(conns[i]!, { root, keepWorkspaces });

  it('fetches the pinned commit into a verified workspace, then reuses it', async () => {
    const first = await ws().checkout('bs-fetch', repo.seedSha, { kind: 'fetch', url: repo.url });
    expect(first).toEqual({
      buildset: 'bs-fetch',
      sha: repo.seedSha,
      path: join(root, 'bs-fetch'),
      created: true,
    });
    expect(head(first.path)).toBe(repo.seedSha);
    expect(readFileSync(join(first.path, 'inventory'), 'utf8')).toContain(
      'ansible_connection=local',
    );
    const again = await ws(1).checkout('bs-fetch', repo.seedSha, { kind: 'fetch', url: repo.url });
    expect(again.created).toBe(false);
  });

  it('fetches a commit that is on no branch by its sha', async () => {
    const sha = await repo.commitToRef('refs/changes/01/1/1', { 'review.txt': 'under review' });
    const result = await ws().checkout('bs-change', sha, { kind: 'fetch', url: repo.url });
    expect(head(result.path)).toBe(sha);
    expect(readFileSync(join(result.path, 'review.txt'), 'utf8')).toBe('under review');
  });

  it('checks out once per buildset when ten jobs on three executors race', async () => {
    const sha = await repo.commit({
      'playbooks/race.yml': '- hosts: localhost\n  gather_facts: false\n  tasks: []\n',
    });
    const executors = [ws(0), ws(1), ws(2)];
    const clonesBefore = spy.calls('clone').length;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, job) =>
        executors[job % 3]!.checkout('bs-race', sha, { kind: 'fetch', url: repo.url }),
      ),
    );
    expect(new Set(results.map((r) => r.path))).toEqual(new Set([join(root, 'bs-race')]));
    expect(spy.calls('clone').length - clonesBefore).toBe(1);
    // Jobs on one executor share its one call; only the executor that won the lock created.
    const creators = new Set(results.flatMap((r, job) => (r.created ? [job % 3] : [])));
    expect(creators.size).toBe(1);
    expect(head(join(root, 'bs-race'))).toBe(sha);
  });

  it("one caller's abort does not fail another caller's shared checkout", async () => {
    const sha = await repo.commit({ 'shared.txt': 'two callers' });
    const w = ws();
    const first = new AbortController();
    const a = w.checkout('bs-shared', sha, { kind: 'fetch', url: repo.url }, first.signal);
    const b = w.checkout('bs-shared', sha, { kind: 'fetch', url: repo.url });
    first.abort(new Error('job canceled'));
    await expect(a).rejects.toBeInstanceOf(BastionCheckoutError);
    const result = await b;
    expect(head(result.path)).toBe(sha);
  });

  it('aborts the shared remote call once every caller has given up, then can start again', async () => {
    const sha = await repo.commit({ 'abandoned.txt': 'nobody waits' });
    const w = ws();
    const callers = [new AbortController(), new AbortController()];
    const waits = callers.map((c) =>
      w.checkout('bs-abandoned', sha, { kind: 'fetch', url: repo.url }, c.signal),
    );
    for (const c of callers) c.abort(new Error('canceled'));
    for (const wait of waits) await expect(wait).rejects.toBeInstanceOf(BastionCheckoutError);
    const again = await w.checkout('bs-abandoned', sha, { kind: 'fetch', url: repo.url });
    expect(head(again.path)).toBe(sha);
  });

  it('pushes the commit as a bundle when the bastion cannot reach the git server', async () => {
    const sha = await repo.commit({
      'playbooks/pushed.yml': '- hosts: localhost\n  gather_facts: false\n  tasks: []\n',
    });
    const fetchesBefore = spy.calls('fetch').length;
    const result = await ws().checkout('bs-push', sha, { kind: 'push', localRepo: repo.workdir });
    expect(result.created).toBe(true);
    expect(head(result.path)).toBe(sha);
    const fetches = spy.calls('fetch').slice(fetchesBefore);
    expect(fetches).toHaveLength(1);
    expect(fetches[0]).toMatch(/\.bundle /);
    expect(fetches.join('\n')).not.toContain(repo.url);
    // The mirror has it now: a second buildset at the same commit needs no bundle.
    await ws().checkout('bs-push-2', sha, { kind: 'push', localRepo: repo.workdir });
    expect(spy.calls('fetch').length - fetchesBefore).toBe(1);
    // The temporary ref used for the bundle is gone from the executor's repository.
    expect(
      execFileSync('git', ['-C', repo.workdir, 'for-each-ref', 'refs/drawbridge']).toString(),
    ).toBe('');
  });

  it('fails a checkout of an unknown commit with a clear typed error', async () => {
    const missing = 'f'.repeat(40);
    const err = await ws()
      .checkout('bs-missing', missing, { kind: 'fetch', url: repo.url })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(BastionCheckoutError);
    expect((err as BastionCheckoutError).message).toContain(`commit ${missing} not found`);
    expect(existsSync(join(root, 'bs-missing'))).toBe(false);
  });

  it('refuses a workspace that exists at another commit', async () => {
    const other = await repo.commit({ 'other.txt': 'x' });
    const err = await ws()
      .checkout('bs-fetch', other, { kind: 'fetch', url: repo.url })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(BastionCheckoutError);
    expect((err as Error).message).toContain(`not at ${other}`);
  });

  it('rejects hostile buildset ids, shas and urls before anything reaches the bastion', async () => {
    const marker = join(dir, 'PWNED');
    const source = { kind: 'fetch', url: repo.url } as const;
    const bad: Array<() => Promise<unknown>> = [
      () => ws().checkout(`x$(touch ${marker})`, repo.seedSha, source),
      () => ws().checkout('../etc', repo.seedSha, source),
      () => ws().checkout('a;rm -rf /', repo.seedSha, source),
      () => ws().checkout('ok', `${repo.seedSha};touch ${marker}`, source),
      () =>
        ws().checkout('ok', repo.seedSha, { kind: 'fetch', url: `--upload-pack=touch ${marker}` }),
      () =>
        ws().checkout('ok', repo.seedSha, { kind: 'fetch', url: `ext::sh -c touch% ${marker}` }),
      () => ws().checkout('ok', repo.seedSha, { kind: 'fetch', url: `/tmp/x\ntouch ${marker}` }),
    ];
    for (const attempt of bad)
      await expect(attempt()).rejects.toBeInstanceOf(BastionInvalidNameError);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(root, 'ok'))).toBe(false);
  });

  it('keeps the newest workspaces and never removes one in use', async () => {
    const keep2 = ws(0, 2);
    for (const id of ['old-1', 'old-2', 'old-3']) {
      await keep2.checkout(id, repo.seedSha, { kind: 'fetch', url: repo.url });
    }
    // A job holds old-3 (shared lock, as the run script does) while two newer checkouts arrive.
    const ac = new AbortController();
    let holding = false;
    const job = execInGroup(
      conns[1]!,
      ['flock', '-s', join(root, '.locks/old-3.lock'), 'sleep', '300'],
      {
        runDir: join(root, '.run'),
        id: 'holder',
        signal: ac.signal,
        onStart: () => (holding = true),
      },
    );
    await waitFor('the holder to start', () => holding);
    await keep2.checkout('new-1', repo.seedSha, { kind: 'fetch', url: repo.url });
    await keep2.checkout('new-2', repo.seedSha, { kind: 'fetch', url: repo.url });
    expect(existsSync(join(root, 'old-1'))).toBe(false);
    expect(existsSync(join(root, 'old-2'))).toBe(false);
    expect(existsSync(join(root, 'old-3'))).toBe(true);
    expect(existsSync(join(root, 'new-1'))).toBe(true);
    ac.abort(new Error('job done'));
    await job;
    expect(await keep2.prune(2)).toContain('old-3');
    expect(existsSync(join(root, 'old-3'))).toBe(false);
    expect(existsSync(join(root, 'new-2'))).toBe(true);
  });
});
