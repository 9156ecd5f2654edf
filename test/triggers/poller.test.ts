import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RefUpdatedEvent } from '../../src/model/events.js';
import {
  GitPoller,
  type GitPollerOptions,
  type PollOutcome,
  refStateCodec,
  refStatePath,
  resolveLocalHead,
  TriggerFetchError,
  TriggerInvalidRefError,
  TriggerInvalidUrlError,
  TriggerOptionError,
} from '../../src/scheduler/triggers/index.js';
import { ZkPaths } from '../../src/zk/paths.js';
import type { ZooKeeperClient } from '../../src/zk/zk-client.js';
import { createGitRepo, type GitRepoFixture } from '../fixtures/git-repo.js';
import { newChroot, type TestChroot } from '../fixtures/zookeeper.js';
import { closeAll, connect, tree, waitFor } from '../zk/recipe-helpers.js';
import { drain, events, silent } from './support.js';

const paths = new ZkPaths('/drawbridge');
const MAIN = 'refs/heads/main';

let chroot: TestChroot;
let clients: ZooKeeperClient[];
let repo: GitRepoFixture;
let clones: string;
const pollers: GitPoller[] = [];
let cloneCount = 0;

function poller(client: ZooKeeperClient, extra: Partial<GitPollerOptions> = {}): GitPoller {
  cloneCount += 1;
  const p = new GitPoller(
    {
      url: repo.url,
      branch: 'main',
      localPath: join(clones, `clone-${cloneCount}`),
      pollIntervalMs: 0,
      schedulerId: `scheduler-${cloneCount}`,
      ...extra,
    },
    { zk: client, paths, logger: silent },
  );
  pollers.push(p);
  return p;
}

async function refEvents(): Promise<RefUpdatedEvent[]> {
  return (await events(clients[0]!, paths)).filter(
    (e): e is RefUpdatedEvent => e.type === 'ref-updated',
  );
}

/** Rewrites main's history: the last commit replaced by another, force-pushed. */
function forcePush(files: Record<string, string>): string {
  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
      cwd: repo.workdir,
      encoding: 'utf8',
    }).trim();
  git('reset', '--quiet', '--hard', 'HEAD~1');
  for (const [path, text] of Object.entries(files)) writeFileSync(join(repo.workdir, path), text);
  git('add', '--all');
  git('commit', '--quiet', '-m', 'rewritten');
  git('push', '--quiet', '--force', 'origin', `HEAD:${MAIN}`);
  return git('rev-parse', 'HEAD');
}

beforeAll(async () => {
  chroot = await newChroot('git-poller');
  clients = await Promise.all([1, 2].map(() => connect(chroot.connectString)));
  repo = await createGitRepo();
  clones = mkdtempSync(join(tmpdir(), 'drawbridge-clones-'));
});

afterAll(async () => {
  try {
    await Promise.all(pollers.map((p) => p.stop()));
    await drain(clients[0]!, paths);
    // Only the documented nodes remain: the queue's directory and the ref document.
    expect(await tree(clients[0]!)).toEqual([
      '/drawbridge',
      '/drawbridge/events',
      '/drawbridge/events/trigger',
      '/drawbridge/events/trigger/entries',
      '/drawbridge/triggers',
      '/drawbridge/triggers/refs',
      '/drawbridge/triggers/refs/refs_sheads_smain',
    ]);
  } finally {
    await closeAll();
    repo.dispose();
    rmSync(clones, { recursive: true, force: true });
  }
});

describe('GitPoller', () => {
  it('records the head at first sight, reports a push once with its files, then nothing', async () => {
    const p = poller(clients[0]!);
    await p.start();
    expect(await p.pollNow()).toEqual({ kind: 'baseline', commit: repo.seedSha });
    expect(await refEvents()).toEqual([]);

    const sha = await repo.commit({ 'playbooks/web.yml': '- hosts: all\n', inventory: 'web1\n' });
    const result = await p.pollNow();
    expect(result.kind).toBe('reported');
    const [event, ...more] = await refEvents();
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      type: 'ref-updated',
      id: `poll-${MAIN}-${sha}`,
      ref: MAIN,
      oldCommit: repo.seedSha,
      newCommit: sha,
      source: 'poll',
    });
    expect(event!.changedFiles!.sort()).toEqual(['inventory', 'playbooks/web.yml']);
    expect(event!.detail).toContain('main moved to');

    expect(await p.pollNow()).toEqual({ kind: 'unchanged', commit: sha });
    expect(await refEvents()).toHaveLength(1);
    // The clone is usable by the rest of the scheduler (a timer's resolveHead, say).
    expect(await resolveLocalHead(join(clones, 'clone-1'), MAIN)).toBe(sha);
    const doc = refStateCodec.decode((await clients[0]!.get(refStatePath(paths, MAIN))).data);
    expect(doc).toMatchObject({ commit: sha, eventId: event!.id, reportedBy: 'scheduler-1' });
    await drain(clients[0]!, paths);
  });

  it('a restarted or different poller does not report the same push again', async () => {
    const fresh = poller(clients[1]!);
    await fresh.start();
    expect((await fresh.pollNow()).kind).toBe('unchanged');
    expect(await refEvents()).toEqual([]);
  });

  it('two pollers on the same repository put one event per push', async () => {
    const a = poller(clients[0]!);
    const b = poller(clients[1]!);
    await Promise.all([a.start(), b.start()]);
    for (let push = 0; push < 3; push++) {
      const sha = await repo.commit({ [`roles/r${push}.yml`]: `${push}\n` });
      const results = await Promise.all([a.pollNow(), b.pollNow(), a.pollNow(), b.pollNow()]);
      expect(results.filter((r) => r.kind === 'reported')).toHaveLength(1);
      expect(results.every((r) => r.commit === sha)).toBe(true);
      const put = await refEvents();
      expect(put.map((e) => [e.newCommit, e.changedFiles])).toEqual([
        [sha, [`roles/r${push}.yml`]],
      ]);
      await drain(clients[0]!, paths);
    }
  });

  it('polls on its own every interval; concurrent timed pollers still report once', async () => {
    const a = poller(clients[0]!, { pollIntervalMs: 100 });
    const b = poller(clients[1]!, { pollIntervalMs: 100 });
    const seen: PollOutcome[][] = [[], []];
    a.onPoll((o) => seen[0]!.push(o));
    b.onPoll((o) => seen[1]!.push(o));
    await Promise.all([a.start(), b.start()]);
    const sha = await repo.commit({ 'playbooks/db.yml': 'x\n' });
    const saw = (o: PollOutcome): boolean => 'commit' in o && o.commit === sha;
    await waitFor(() => seen.every((s) => s.some(saw)), 'both pollers to see the new head');
    await Promise.all([a.stop(), b.stop()]);
    expect(seen.flat().filter((o) => o.kind === 'failed')).toEqual([]);
    expect(seen.flat().filter((o) => o.kind === 'reported')).toHaveLength(1);
    expect((await refEvents()).map((e) => e.newCommit)).toEqual([sha]);
    await drain(clients[0]!, paths);
  });

  it('after a force push the changed files are unknown (null): every job runs', async () => {
    const p = poller(clients[0]!);
    await p.start();
    const before = (await p.pollNow()).commit;
    const sha = forcePush({ 'playbooks/rewritten.yml': 'y\n' });
    expect((await p.pollNow()).kind).toBe('reported');
    const [event] = await refEvents();
    expect(event).toMatchObject({ oldCommit: before, newCommit: sha, changedFiles: null });
    await drain(clients[0]!, paths);
  });

  it('an unreachable repository is a typed error and puts no event', async () => {
    const p = poller(clients[0]!, { url: join(clones, 'no-such-repo.git') });
    const seen: PollOutcome[] = [];
    p.onPoll((o) => seen.push(o));
    await p.start();
    const before = await clients[0]!.get(refStatePath(paths, MAIN));
    const error = await p.pollNow().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TriggerFetchError);
    expect((error as TriggerFetchError).code).toBe('DRAWBRIDGE_ERR_TRIGGER_FETCH');
    expect((error as Error).message).toMatch(
      /cannot fetch refs\/heads\/main from .*no-such-repo\.git/,
    );
    expect(p.lastError).toBe(error);
    expect(seen.map((o) => o.kind)).toEqual(['failed']);
    expect(await refEvents()).toEqual([]);
    expect((await clients[0]!.get(refStatePath(paths, MAIN))).stat.version).toBe(
      before.stat.version,
    );
  });

  it('refuses unsafe URLs, refs and paths before running git', () => {
    const make = (o: Partial<GitPollerOptions>) => () => poller(clients[0]!, o);
    expect(make({ url: 'ext::sh -c touch% /tmp/pwned' })).toThrow(TriggerInvalidUrlError);
    expect(make({ url: '--upload-pack=touch /tmp/pwned' })).toThrow(TriggerInvalidUrlError);
    expect(make({ branch: '--force' })).toThrow(TriggerInvalidRefError);
    expect(make({ branch: 'main..other' })).toThrow(TriggerInvalidRefError);
    expect(make({ localPath: 'relative/clone' })).toThrow(TriggerOptionError);
    expect(make({ pollIntervalMs: -1 })).toThrow(TriggerOptionError);
  });

  it('refuses to use a working tree as its clone: start rejects, the poller is stopped', async () => {
    const p = poller(clients[0]!, { localPath: repo.workdir });
    await expect(p.start()).rejects.toThrow(TriggerOptionError);
    expect(p.state).toBe('stopped');
    expect(() => p.pollNow()).toThrow(/cannot poll while stopped/);
  });

  it('guards its lifecycle: no poll before start or after stop; stop is idempotent', async () => {
    const p = poller(clients[0]!, { pollIntervalMs: 50 });
    expect(() => p.pollNow()).toThrow(/cannot poll while initializing/);
    const started = p.start();
    expect(p.start()).toBe(started);
    await started;
    const stopped = p.stop();
    expect(p.stop()).toBe(stopped);
    await stopped;
    expect(p.state).toBe('stopped');
    expect(() => p.pollNow()).toThrow(/cannot poll while stopped/);
    expect(() => p.start()).toThrow(/cannot start while stopped/);
  });
});
