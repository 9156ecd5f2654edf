import { describe, expect, it } from '@jest/globals';
import { compilePattern, matchesPath } from './pattern.js';
import { InvalidPatternError } from './errors.js';

function reasonOf(source: string): string {
  try {
    compilePattern(source);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidPatternError);
    const err = e as InvalidPatternError;
    expect(err.code).toBe('DRAWBRIDGE_ERR_GRAPH_BAD_PATTERN');
    expect(err.pattern).toBe(source);
    return err.reason;
  }
  throw new Error(`expected ${source} to be rejected`);
}

describe('compilePattern: re.match semantics', () => {
  it('anchors at the start of the path only', () => {
    expect(matchesPath('playbooks/', 'playbooks/base.yaml')).toBe(true);
    expect(matchesPath('playbooks/', 'x/playbooks/base.yaml')).toBe(false);
    expect(matchesPath('base', 'playbooks/base.yaml')).toBe(false);
    expect(matchesPath('.*base', 'playbooks/base.yaml')).toBe(true);
  });

  it('does not anchor at the end unless the pattern says so', () => {
    expect(matchesPath('inventory/hosts', 'inventory/hosts.yaml')).toBe(true);
    expect(matchesPath('inventory/hosts$', 'inventory/hosts.yaml')).toBe(false);
    expect(matchesPath('inventory/hosts$', 'inventory/hosts')).toBe(true);
  });

  it('keeps alternation inside the anchor', () => {
    // Without the group, `^a|b` would find `b` anywhere.
    expect(matchesPath('roles/a|roles/b', 'x/roles/b')).toBe(false);
    expect(matchesPath('roles/a|roles/b', 'roles/b/tasks.yaml')).toBe(true);
  });

  it('caches by source', () => {
    expect(compilePattern('^zuul.d/.*$')).toBe(compilePattern('^zuul.d/.*$'));
    expect(compilePattern('a')).not.toBe(compilePattern('b'));
  });
});

describe('compilePattern: Python syntax', () => {
  it('translates named groups and named back-references', () => {
    const re = compilePattern('(?P<dir>[a-z]+)/(?P=dir)\\.yaml');
    expect(re.test('host/host.yaml')).toBe(true);
    expect(re.test('host/group.yaml')).toBe(false);
    expect(re.exec('abc/abc.yaml')?.groups?.['dir']).toBe('abc');
  });

  it('translates \\A and \\Z (and \\z) to input anchors', () => {
    expect(matchesPath('\\Aroles/.*\\.yaml\\Z', 'roles/x.yaml')).toBe(true);
    expect(matchesPath('roles/.*\\.yaml\\Z', 'roles/x.yaml.bak')).toBe(false);
    expect(matchesPath('roles\\z', 'roles')).toBe(true);
    expect(matchesPath('roles\\z', 'roles/')).toBe(false);
  });

  it('applies leading inline flags', () => {
    expect(matchesPath('(?i)README', 'readme.md')).toBe(true);
    expect(matchesPath('README', 'readme.md')).toBe(false);
    expect(matchesPath('(?s)a.b', 'a\nb')).toBe(true);
    expect(matchesPath('a.b', 'a\nb')).toBe(false);
    expect(matchesPath('(?i)(?u)(?a)doc', 'DOC')).toBe(true);
  });

  it('stays anchored at the input start under the multiline flag', () => {
    expect(matchesPath('(?m)b', 'a\nb')).toBe(false);
    expect(matchesPath('(?m)a$', 'a\nb')).toBe(true);
    expect(matchesPath('(?m)\\Aa\\Z', 'a\nb')).toBe(false);
    expect(matchesPath('(?m)\\Aa\\Z', 'a')).toBe(true);
  });

  it('drops (?#...) comments', () => {
    expect(matchesPath('doc(?# the docs tree)/', 'doc/index.rst')).toBe(true);
  });

  it('reads ] first in a set as a literal, like Python', () => {
    expect(matchesPath('[]a]+$', ']a]')).toBe(true);
    expect(matchesPath('[^]]+$', 'abc')).toBe(true);
    expect(matchesPath('[^]]+$', 'a]c')).toBe(false);
  });

  it('reads {,n} as {0,n}', () => {
    expect(matchesPath('a{,2}b$', 'b')).toBe(true);
    expect(matchesPath('a{,2}b$', 'aab')).toBe(true);
    expect(matchesPath('a{,2}b$', 'aaab')).toBe(false);
  });

  it('translates \\a, \\x, \\u and \\U escapes', () => {
    expect(matchesPath('\\a', '\x07')).toBe(true);
    expect(matchesPath('\\x41\\u0042', 'AB')).toBe(true);
    expect(matchesPath('\\U00000043', 'C')).toBe(true);
    expect(matchesPath('x\\U0001F600+$', 'x😀😀')).toBe(true);
  });

  it('passes punctuation escapes and character classes through', () => {
    expect(matchesPath('a\\-b\\.c', 'a-b.c')).toBe(true);
    expect(matchesPath('\\d+\\s\\w', '12 x')).toBe(true);
    expect(matchesPath('[\\d\\-]+$', '1-2')).toBe(true);
    expect(matchesPath('(a)\\1', 'aa')).toBe(true);
  });

  it('keeps escaped specials literal', () => {
    expect(matchesPath('\\(\\?P<x>\\)', '(?P<x>)')).toBe(true);
    expect(matchesPath('\\[\\]', '[]')).toBe(true);
    expect(matchesPath('[(]', '(')).toBe(true);
    expect(matchesPath('[{],2', '{,2')).toBe(true);
  });
});

describe('compilePattern: rejected patterns', () => {
  it.each([
    ['(a', 'Unterminated group'],
    ['(?i', 'unknown extension'],
    ['roles/(?i)x', 'inline flags are only allowed at the start'],
    ['(?i:x)', 'scoped inline flags'],
    ['(?x)a b', 'verbose'],
    ['(?L)a', 'locale'],
    ['(?q)a', 'unknown inline flag'],
    ['(?(1)a|b)', 'conditional'],
    ['(?>a)', 'atomic'],
    ['(?<n>a)', '(?P<name>...)'],
    ['a(?Px)', 'unknown extension (?P'],
    ['a\\', 'trailing backslash'],
    ['\\q', 'bad escape \\q'],
    ['\\k<n>', 'bad escape \\k'],
    ['[\\Z]', 'inside a character set'],
    ['[\\B]', 'inside a character set'],
    ['\\N{DASH}', 'named Unicode'],
    ['\\x4', 'incomplete escape'],
    ['\\u12', 'incomplete escape'],
    ['\\U0001', 'incomplete escape'],
    ['\\U00110000', 'bad escape'],
    ['[\\U0001F600]', 'above U+FFFF'],
    ['[abc', 'unterminated character set'],
    ['[]', 'unterminated character set'],
    ['(?#open', 'unterminated comment'],
    ['*a', 'Nothing to repeat'],
    ['a**', 'Nothing to repeat'],
    ['(?P=nope)', 'unknown group name'],
    ['(?P<a>x)(?P=b)', 'unknown group name'],
    ['(?P<a>x)(?P<a>y)', 'Duplicate capture group name'],
  ])('%s', (source, reason) => {
    expect(reasonOf(source)).toContain(reason);
  });

  it('reports the source and a readable message', () => {
    expect(() => compilePattern('(')).toThrow('bad file pattern "("');
  });
});

describe('compilePattern: lookarounds', () => {
  it('keeps lookahead and lookbehind groups', () => {
    expect(matchesPath('roles/(?!old/)', 'roles/new/x')).toBe(true);
    expect(matchesPath('roles/(?!old/)', 'roles/old/x')).toBe(false);
    expect(matchesPath('.*(?<=\\.ya?ml)$', 'a/b.yml')).toBe(true);
    expect(matchesPath('.*(?<!\\.md)$', 'a/b.md')).toBe(false);
    expect(matchesPath('a(?=b)', 'ab')).toBe(true);
  });
});
