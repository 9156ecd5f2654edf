import { describe, expect, it } from '@jest/globals';
import { LineSplitter } from './lines.js';

const split = (chunks: Buffer[], max?: number): string[] => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l), max);
  for (const c of chunks) s.push(c);
  s.end();
  return lines;
};

describe('LineSplitter', () => {
  it('joins lines cut across chunks and strips CR', () => {
    expect(split([Buffer.from('ab'), Buffer.from('c\r\nde'), Buffer.from('f\n\ng')])).toEqual([
      'abc',
      'def',
      '',
      'g',
    ]);
  });

  it('keeps a multi-byte character split between chunks whole', () => {
    const bytes = Buffer.from('héllo ✓\n');
    const cut = bytes.indexOf(0xa9); // inside "é"
    expect(
      split([bytes.subarray(0, cut), bytes.subarray(cut, cut + 5), bytes.subarray(cut + 5)]),
    ).toEqual(['héllo ✓']);
  });

  it('emits nothing for empty input and cuts runaway lines', () => {
    expect(split([])).toEqual([]);
    expect(split([Buffer.from('x'.repeat(10))], 4)).toEqual(['xxxx', 'xxxx', 'xx']);
  });
});
