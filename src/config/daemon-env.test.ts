import { describe, expect, it } from '@jest/globals';
import { interpolate } from './daemon-env.js';

const value = (text: string, env: Record<string, string | undefined> = {}) => {
  const r = interpolate(text, env);
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.value;
};

const problems = (text: string, env: Record<string, string | undefined> = {}) => {
  const r = interpolate(text, env);
  return r.ok ? [] : r.problems;
};

describe('interpolate', () => {
  it('leaves text without references alone and says so', () => {
    expect(interpolate('plain $2b$10$hash', {})).toEqual({
      ok: true,
      value: 'plain $2b$10$hash',
      referencesEnv: false,
    });
  });

  it('substitutes ${NAME}, several times in one value', () => {
    expect(interpolate('${A}-${B}/${A}', { A: 'x', B: 'y' })).toEqual({
      ok: true,
      value: 'x-y/x',
      referencesEnv: true,
    });
  });

  it('uses the default when the variable is unset or empty, as the shell does', () => {
    expect(value('${PORT:-2181}')).toBe('2181');
    expect(value('${PORT:-2181}', { PORT: '' })).toBe('2181');
    expect(value('${PORT:-2181}', { PORT: '2182' })).toBe('2182');
    expect(value('${EMPTY_DEFAULT:-}')).toBe('');
    expect(value('${D:-a:-b $x}')).toBe('a:-b $x');
  });

  it('keeps a set but empty variable without a default', () => {
    expect(value('[${E}]', { E: '' })).toBe('[]');
  });

  it('does not scan a substituted value again', () => {
    expect(value('${A}', { A: '${B}', B: 'no' })).toBe('${B}');
  });

  it('$$ is one literal $, so "$${X}" is the text ${X}', () => {
    expect(value('a$$b $${X} $')).toBe('a$b ${X} $');
  });

  it('reports every unset variable, not just the first', () => {
    expect(problems('${ZK_USER}:${ZK_PASSWORD}')).toEqual([
      'environment variable ZK_USER is not set (set it, or write ${ZK_USER:-default})',
      'environment variable ZK_PASSWORD is not set (set it, or write ${ZK_PASSWORD:-default})',
    ]);
  });

  it('ignores inherited object keys: only own entries of the map count', () => {
    expect(problems('${toString}')).toEqual([
      'environment variable toString is not set (set it, or write ${toString:-default})',
    ]);
  });

  it('rejects malformed references', () => {
    expect(problems('${}')).toEqual([
      '"${}" is not a reference: expected ${NAME} or ${NAME:-default}',
    ]);
    expect(problems('${A-b}')).toEqual([
      '"${A-b}" is not a reference: expected ${NAME} or ${NAME:-default}',
    ]);
    expect(problems('x ${A')).toEqual(['unterminated "${" (write "$${" for a literal "${")']);
  });
});
