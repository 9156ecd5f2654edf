import { describe, expect, it } from '@jest/globals';
import { TriggerInvalidRefError, TriggerInvalidUrlError } from './errors.js';
import { branchOf, branchRef, checkRepositoryUrl, redactUrl, refKey } from './names.js';

describe('branchRef', () => {
  it('accepts a branch or its full ref', () => {
    expect(branchRef('main')).toBe('refs/heads/main');
    expect(branchRef('refs/heads/release/2.1')).toBe('refs/heads/release/2.1');
    expect(branchOf('refs/heads/release/2.1')).toBe('release/2.1');
  });
  it.each([
    '',
    '-x',
    'a..b',
    'a//b',
    'a/',
    '/a',
    '.a',
    'a.lock',
    'a b',
    'a~1',
    'a^',
    'a:b',
    'a@{1}',
    'x'.repeat(120),
  ])('refuses %j', (name) => {
    expect(() => branchRef(name)).toThrow(TriggerInvalidRefError);
  });
});

describe('refKey', () => {
  it('is a znode-safe, injective name', () => {
    expect(refKey('refs/heads/main')).toBe('refs_sheads_smain');
    expect(refKey('refs/heads/a_b')).not.toBe(refKey('refs/heads/a/b'));
    expect(refKey('refs/heads/a_sb')).not.toBe(refKey('refs/heads/a/b'));
  });
});

describe('checkRepositoryUrl', () => {
  it.each([
    'https://git.example.com/infra.git',
    'ssh://git@git.example.com:2222/infra.git',
    'git@git.example.com:ops/infra.git',
    'file:///srv/git/infra.git',
    '/srv/git/infra.git',
  ])('accepts %s', (url) => {
    expect(checkRepositoryUrl(url)).toBe(url);
  });
  it.each([
    '',
    '--upload-pack=touch /tmp/x',
    'ext::sh -c touch% /tmp/x',
    'fd::17',
    'relative/path',
    'https://a b',
    'ftp://x/y',
    'host:path',
  ])('refuses %j', (url) => {
    expect(() => checkRepositoryUrl(url)).toThrow(TriggerInvalidUrlError);
  });
  it('never repeats a password in its error', () => {
    const url = 'https://bot:s3cret@git.example.com/x .git';
    expect(() => checkRepositoryUrl(url)).toThrow(/\*\*\*/);
    expect(() => checkRepositoryUrl(url)).not.toThrow(/s3cret/);
  });
});

describe('redactUrl', () => {
  it('hides the password only', () => {
    expect(redactUrl('https://bot:s3cret@h/x.git')).toBe('https://bot:***@h/x.git');
    expect(redactUrl('https://h/x.git')).toBe('https://h/x.git');
    expect(redactUrl('/srv/x.git')).toBe('/srv/x.git');
  });
});
