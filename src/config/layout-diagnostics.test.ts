import { describe, expect, it } from '@jest/globals';
import { Diagnostics, formatDiagnostic, suggest } from './layout-diagnostics.js';

describe('suggest', () => {
  it('offers the closest name within a small edit distance', () => {
    expect(suggest('dependancies', ['dependencies', 'description'])).toBe(
      ' (did you mean "dependencies"?)',
    );
    expect(suggest('tiemout', ['timeout', 'time'])).toBe(' (did you mean "timeout"?)');
    expect(suggest('infra-prod-bsae', ['infra-prod-base', 'infra-prod-bastion'])).toBe(
      ' (did you mean "infra-prod-base"?)',
    );
  });

  it('offers nothing when no name is close', () => {
    expect(suggest('nodeset', ['run', 'vars'])).toBe('');
    expect(suggest('x', [])).toBe('');
  });
});

describe('Diagnostics', () => {
  it('sorts by file then line, keeping the order of equal places', () => {
    const d = new Diagnostics();
    d.error('E1', { file: 'b.yaml', line: 1 }, 'b1');
    d.error('E2', { file: 'a.yaml', line: 9 }, 'a9');
    d.error('E3', { file: 'a.yaml', line: 2 }, 'a2-first');
    d.error('E4', { file: 'a.yaml', line: 2 }, 'a2-second');
    expect(d.sorted().errors.map((e) => e.message)).toEqual(['a2-first', 'a2-second', 'a9', 'b1']);
  });

  it('formats file, line, severity, stanza, key, message and code on one line', () => {
    const d = new Diagnostics();
    d.warn('W', { file: 'zuul.d/jobs.yaml', line: 4, stanza: 'job a', key: 'nodeset' }, 'ignored');
    d.error('E', { file: 'x.yaml', line: 1 }, 'broken');
    expect(formatDiagnostic(d.warnings[0]!)).toBe(
      'zuul.d/jobs.yaml:4: warning: [job a] nodeset: ignored (W)',
    );
    expect(formatDiagnostic(d.errors[0]!)).toBe('x.yaml:1: error: broken (E)');
  });
});
