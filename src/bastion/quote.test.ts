import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { BastionInvalidNameError } from './errors.js';
import {
  shJoin,
  shQuote,
  validateGitUrl,
  validateId,
  validateJobName,
  validateRef,
  validateRemoteDir,
  validateRepoPath,
  validateSha,
} from './quote.js';

/** What a real shell makes of a command line built by shJoin: each argument, NUL-separated. */
function parsedBy(shell: string, args: string[]): string[] {
  const line = `printf '%s\\0' ${shJoin(args)}`;
  return execFileSync(shell, ['-c', line]).toString().split('\0').slice(0, -1);
}

describe('shQuote', () => {
  it('round-trips any string through dash and bash as exactly one argument', () => {
    const arg = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0'));
    for (const shell of ['sh', 'bash']) {
      fc.assert(
        fc.property(fc.array(arg, { minLength: 1, maxLength: 4 }), (args) => {
          expect(parsedBy(shell, args)).toEqual(args);
        }),
        { numRuns: 60 },
      );
    }
  });

  it('keeps hostile values inert', () => {
    const hostile = [
      '$(touch /tmp/x)',
      '`id`',
      "'; rm -rf / '",
      'a\nb',
      '"$HOME"',
      '\\',
      "''",
      '!!',
      '*',
    ];
    expect(parsedBy('sh', hostile)).toEqual(hostile);
    expect(shQuote("it's")).toBe(`'it'\\''s'`);
  });

  it('refuses NUL, which no argv can carry', () => {
    expect(() => shQuote('a\0b')).toThrow(BastionInvalidNameError);
  });
});

describe('name validation', () => {
  const rejects = (f: (v: string) => string, values: string[]): void => {
    for (const v of values) expect(() => f(v)).toThrow(BastionInvalidNameError);
  };

  it('accepts ordinary names and returns them unchanged', () => {
    expect(validateId('buildset id', 'bs-0123_ab')).toBe('bs-0123_ab');
    expect(validateJobName('infra-prod-base.v2')).toBe('infra-prod-base.v2');
    expect(validateSha('a'.repeat(40))).toBe('a'.repeat(40));
    expect(validateSha('0'.repeat(64))).toBe('0'.repeat(64));
    expect(validateRef('refs/heads/main')).toBe('refs/heads/main');
    expect(validateRepoPath('playbook', 'playbooks/service-x.yaml')).toBe(
      'playbooks/service-x.yaml',
    );
    expect(validateRemoteDir('/var/lib/drawbridge/')).toBe('/var/lib/drawbridge');
    expect(validateGitUrl('https://git.example.org/infra.git')).toBe(
      'https://git.example.org/infra.git',
    );
    expect(validateGitUrl('git@git.example.org:infra.git')).toBe('git@git.example.org:infra.git');
  });

  it('rejects hostile ids and job names', () => {
    const hostile = [
      '$(touch /tmp/x)',
      'a;rm -rf /',
      "it's",
      'a b',
      'new\nline',
      '-rf',
      '',
      '../x',
      'x'.repeat(300),
    ];
    rejects((v) => validateId('buildset id', v), [...hostile, 'mirror.git', '.run', '_x']);
    rejects(validateJobName, hostile);
  });

  it('rejects refs and shas that git would misread or a shell would run', () => {
    rejects(validateSha, ['abc', 'A'.repeat(40), `${'a'.repeat(40)};id`, `${'a'.repeat(40)}\n`]);
    rejects(validateRef, [
      '--upload-pack=touch /tmp/x',
      '-x',
      'refs/heads/../../x',
      'refs/heads/.hidden',
      'refs/heads/x.lock',
      'refs/heads/a b',
      'refs/heads/$(id)',
      'refs//x',
      'refs/x/',
      'refs/x.',
      'refs/x@{1}',
    ]);
  });

  it('rejects paths leaving the workspace and urls running commands', () => {
    rejects(
      (v) => validateRepoPath('playbook', v),
      ['../x.yml', 'a/../../x', '/etc/passwd', '-e@x', 'a//b', 'a b'],
    );
    rejects(validateRemoteDir, ['relative', '/', '/a/../b', '/a b', '/$(id)']);
    rejects(validateGitUrl, [
      '--upload-pack=id',
      'ext::sh -c id',
      '/tmp/x\nid',
      'relative/path',
      'https://h/a b',
    ]);
  });
});
