import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const CODE = /DRAWBRIDGE_ERR_[A-Z0-9_]+/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

describe('docs/errors.md', () => {
  const inSource = new Set(
    sourceFiles(join(root, 'src')).flatMap((f) => readFileSync(f, 'utf8').match(CODE) ?? []),
  );
  const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');
  const inDoc = new Set(
    [...doc.matchAll(/^\| `(DRAWBRIDGE_ERR_[A-Z0-9_]+)`/gm)].map((m) => m[1] as string),
  );

  it('lists every code raised in src/', () => {
    expect([...inSource].filter((c) => !inDoc.has(c)).sort()).toEqual([]);
  });

  it('lists no code that src/ no longer raises', () => {
    expect([...inDoc].filter((c) => !inSource.has(c)).sort()).toEqual([]);
  });

  it('finds codes at all (the scan itself works)', () => {
    expect(inSource.has('DRAWBRIDGE_ERR_STATE_ILLEGAL')).toBe(true);
  });
});
