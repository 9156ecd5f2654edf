import { describe, expect, it } from '@jest/globals';
import { bringsWork } from './wakeups.js';

describe('bringsWork', () => {
  it('wakes on the first listing and on a vanished directory', () => {
    expect(bringsWork(undefined, [])).toBe(true);
    expect(bringsWork(new Set(['e-1']), null)).toBe(true);
  });

  it('wakes when any entry is new, even if others went', () => {
    expect(bringsWork(new Set(['e-1']), ['e-1', 'e-2'])).toBe(true);
    expect(bringsWork(new Set(['e-1']), ['e-2'])).toBe(true);
  });

  it('does not wake when entries only went (acks) or nothing changed', () => {
    expect(bringsWork(new Set(['e-1', 'e-2']), ['e-2'])).toBe(false);
    expect(bringsWork(new Set(['e-1']), [])).toBe(false);
    expect(bringsWork(new Set(['e-1']), ['e-1'])).toBe(false);
  });
});
