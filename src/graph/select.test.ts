import { describe, expect, it } from '@jest/globals';
import { FileMatchCache, selectJob } from './select.js';
import type { SelectionRecord } from './select.js';
import type { GraphJob, Selection } from './types.js';

function job(files: string[] = [], irrelevantFiles: string[] = []): GraphJob {
  return { name: 'deploy', dependencies: [], files, irrelevantFiles };
}

function decide(j: GraphJob, changed: string[] | 'all'): SelectionRecord {
  const selection: Selection =
    changed === 'all' ? { kind: 'all' } : { kind: 'files', files: changed };
  const cache = changed === 'all' ? undefined : new FileMatchCache(changed);
  return selectJob(j, selection, cache);
}

describe('files matcher', () => {
  it('selects when any changed file matches, naming the file and the regex', () => {
    const r = decide(job(['docs/', 'playbooks/base\\.yaml']), ['README', 'playbooks/base.yaml']);
    expect(r.selected).toBe(true);
    expect(r.reason).toEqual({
      kind: 'file-matched',
      file: 'playbooks/base.yaml',
      pattern: 'playbooks/base\\.yaml',
    });
    expect(r.message).toBe(
      'selected: playbooks/base.yaml matched files regex playbooks/base\\.yaml',
    );
    expect(r.job).toBe('deploy');
  });

  it('reports the first changed file in change order, then the first regex', () => {
    const r = decide(job(['b', 'a']), ['x', 'a1', 'b1']);
    expect(r.reason).toEqual({ kind: 'file-matched', file: 'a1', pattern: 'a' });
    const r2 = decide(job(['a', '.*1']), ['b1', 'a1']);
    expect(r2.reason).toEqual({ kind: 'file-matched', file: 'b1', pattern: '.*1' });
  });

  it('does not select when no changed file matches', () => {
    const r = decide(job(['roles/dns/']), ['roles/mail/tasks/main.yaml', 'README']);
    expect(r.selected).toBe(false);
    expect(r.reason).toEqual({ kind: 'no-file-matched' });
    expect(r.message).toBe('not selected: no changed file matched its files regexes');
  });

  it('matches from the start of the path only (re.match)', () => {
    expect(decide(job(['dns/']), ['roles/dns/main.yaml']).selected).toBe(false);
    expect(decide(job(['.*dns/']), ['roles/dns/main.yaml']).selected).toBe(true);
  });
});

describe('irrelevant-files matcher', () => {
  it('deselects when every changed file matches', () => {
    const r = decide(job([], ['docs/', '.*\\.md$']), ['docs/index.rst', 'README.md']);
    expect(r.selected).toBe(false);
    expect(r.reason).toEqual({ kind: 'all-files-irrelevant' });
    expect(r.message).toBe('not selected: every changed file matched irrelevant-files');
  });

  it('selects when one changed file matches none, naming it', () => {
    const r = decide(job([], ['docs/']), ['docs/index.rst', 'inventory/hosts']);
    expect(r.selected).toBe(true);
    expect(r.reason).toEqual({ kind: 'relevant-file', file: 'inventory/hosts' });
    expect(r.message).toBe('selected: inventory/hosts matched no irrelevant-files regex');
  });
});

describe('files and irrelevant-files together', () => {
  const both = job(['roles/'], ['roles/.*/README']);

  it('selects when a file matches files and one escapes irrelevant-files', () => {
    const r = decide(both, ['roles/a/README', 'roles/a/tasks.yaml']);
    expect(r.selected).toBe(true);
    expect(r.reason).toEqual({
      kind: 'file-matched',
      file: 'roles/a/README',
      pattern: 'roles/',
      relevantFile: 'roles/a/tasks.yaml',
    });
    expect(r.message).toContain('roles/a/tasks.yaml matched no irrelevant-files regex');
  });

  it('deselects when files matches but every file is irrelevant', () => {
    const r = decide(both, ['roles/a/README', 'roles/b/README']);
    expect(r).toMatchObject({ selected: false, reason: { kind: 'all-files-irrelevant' } });
  });

  it('deselects when files does not match, even if a file is relevant', () => {
    const r = decide(both, ['inventory/hosts']);
    expect(r).toMatchObject({ selected: false, reason: { kind: 'no-file-matched' } });
  });
});

describe('special cases', () => {
  it('selects a job without matchers', () => {
    const r = decide(job(), ['anything']);
    expect(r).toMatchObject({ selected: true, reason: { kind: 'no-matchers' } });
    expect(r.message).toBe('selected: the job has no file matchers');
  });

  it('selects every job when the change lists no files (Zuul ignores the matchers)', () => {
    for (const j of [job(['roles/']), job([], ['.*']), job(['x'], ['.*'])]) {
      const r = decide(j, []);
      expect(r).toMatchObject({ selected: true, reason: { kind: 'no-changed-files' } });
    }
  });

  it('selects every job for a timer or manual buildset', () => {
    const r = decide(job(['never-matches']), 'all');
    expect(r).toMatchObject({ selected: true, reason: { kind: 'selection-all' } });
    expect(r.message).toBe('selected: the buildset runs every job (timer or manual)');
  });
});

describe('FileMatchCache', () => {
  it('tests each (pattern, file) pair at most once', () => {
    const cache = new FileMatchCache(['a/1', 'b/2']);
    expect(cache.matches('a/', 0)).toBe(true);
    expect(cache.matches('a/', 1)).toBe(false);
    expect(cache.matches('a/', 0)).toBe(true);
    expect(cache.firstMatch(['b/', 'a/'])).toEqual({ file: 'a/1', pattern: 'a/' });
    expect(cache.firstUnmatched(['a/'])).toBe('b/2');
    expect(cache.firstUnmatched(['a/', 'b/'])).toBeUndefined();
  });
});
