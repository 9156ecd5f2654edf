/**
 * The broken-layout corpus: every file under broken/ states, in its leading
 * comments, each error the loader must report (`# expect-error: <line>:
 * <message>`). The loader must report exactly those, at those lines, for
 * that file, and give no layout.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadLayoutFromSources } from '../../src/config/index.js';

const dir = join(new URL('.', import.meta.url).pathname, 'broken');
const EXPECT = /^# expect-error: (\d+): (.+)$/;

function expectations(text: string): { line: number; message: string }[] {
  return text
    .split('\n')
    .map((l) => EXPECT.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ line: Number(m[1]), message: m[2]! }));
}

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('broken layouts', () => {
  it('has a corpus covering the validation rules', () => {
    expect(files.length).toBeGreaterThanOrEqual(22);
  });

  it.each(files)('%s reports exactly its expected errors', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const expected = expectations(text);
    expect(expected.length).toBeGreaterThan(0);
    const result = loadLayoutFromSources([{ file, text }]);
    expect(result.layout).toBeUndefined();
    expect(result.errors.map((e) => ({ file: e.file, line: e.line, message: e.message }))).toEqual(
      expected.map((e) => ({ file, ...e })),
    );
    for (const e of result.errors) {
      expect(e.severity).toBe('error');
      expect(e.code).toMatch(/^DRAWBRIDGE_ERR_CONFIG_[A-Z_]+$/);
    }
  });
});
