import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  GitCommandError,
  GitRangeError,
  changedFiles,
  parseRange,
  resolveRevision,
} from '../../src/git/index.js';

let repo: string;
const git = (...args: string[]): string =>
  execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
const write = (path: string, text: string): void => {
  mkdirSync(dirname(join(repo, path)), { recursive: true });
  writeFileSync(join(repo, path), text);
};
const commit = (message: string): string => {
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', message);
  return git('rev-parse', 'HEAD');
};

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'drawbridge-git-'));
  git('init', '-q', '-b', 'main');
  write('playbooks/base.yaml', 'a');
  write('inventory/hosts.ini', 'localhost');
  commit('one');
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe('parseRange', () => {
  it('splits OLD..NEW', () => {
    expect(parseRange('HEAD~1..HEAD')).toEqual({ old: 'HEAD~1', new: 'HEAD' });
  });
  it.each(['HEAD', 'a..b..c', '..HEAD', 'HEAD..', '--output=x..HEAD', 'a b..c'])(
    'rejects %j',
    (range) => {
      expect(() => parseRange(range)).toThrow(GitRangeError);
    },
  );
});

describe('changedFiles', () => {
  it('lists added, modified, deleted and both sides of a rename', async () => {
    const before = git('rev-parse', 'HEAD');
    write('playbooks/base.yaml', 'b');
    write('playbooks/service gitea.yaml', 'new file with a space');
    rmSync(join(repo, 'inventory/hosts.ini'));
    mkdirSync(join(repo, 'roles'), { recursive: true });
    commit('two');
    renameSync(join(repo, 'playbooks/base.yaml'), join(repo, 'playbooks/base2.yaml'));
    const after = commit('three');
    const files = await changedFiles(repo, { old: before, new: after });
    expect(files.sort()).toEqual([
      'inventory/hosts.ini',
      'playbooks/base.yaml',
      'playbooks/base2.yaml',
      'playbooks/service gitea.yaml',
    ]);
  });

  it('names the command and the repo when git fails', async () => {
    const error = await changedFiles(repo, { old: 'nosuchrev', new: 'HEAD' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GitCommandError);
    expect((error as GitCommandError).message).toContain(repo);
    expect((error as GitCommandError).message).toContain('nosuchrev');
  });
});

describe('resolveRevision', () => {
  it('returns the full sha', async () => {
    expect(await resolveRevision(repo, 'HEAD')).toBe(git('rev-parse', 'HEAD'));
  });
  it('refuses option-like names before running git', async () => {
    await expect(resolveRevision(repo, '--all')).rejects.toThrow(GitRangeError);
  });
});
