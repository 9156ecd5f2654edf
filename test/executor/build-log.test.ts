import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildLog } from '../../src/executor/build-log.js';

describe('build log directories', () => {
  const root = mkdtempSync(join(tmpdir(), 'drawbridge-build-log-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('makes a buildset directory once, and again if it was removed meanwhile', async () => {
    const made = new Set<string>();
    const first = await BuildLog.open(join(root, 'bs-1', 'a-1.log'), made);
    first.line('one');
    await first.end();
    expect([...made]).toEqual([join(root, 'bs-1')]);

    rmSync(join(root, 'bs-1'), { recursive: true });
    const second = await BuildLog.open(join(root, 'bs-1', 'b-1.log'), made);
    second.line('two');
    await second.end();
    expect(readFileSync(join(root, 'bs-1', 'b-1.log'), 'utf8')).toBe('two\n');
  });

  it('starts a new log empty and appends to one that exists, counting the bytes already there', async () => {
    const path = join(root, 'bs-2', 'c-1.log');
    const fresh = await BuildLog.open(path);
    expect(fresh.size).toBe(0);
    fresh.line('first');
    await fresh.end();
    expect(fresh.size).toBe(6);
    const again = await BuildLog.open(path);
    expect(again.size).toBe(6);
    again.line('second');
    await again.end();
    expect(again.size).toBe(13);
    expect(readFileSync(path, 'utf8')).toBe('first\nsecond\n');
  });
});
