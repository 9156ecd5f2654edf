import { describe, expect, it } from '@jest/globals';
import { runInNewContext } from 'node:vm';
import { IllegalStateError, toError } from './errors.js';

describe('toError', () => {
  it('returns an Error unchanged', () => {
    const e = new RangeError('x');
    expect(toError(e)).toBe(e);
  });

  it('keeps an error from another realm as it is', () => {
    const foreign = runInNewContext('new TypeError("from elsewhere")') as unknown;
    expect(foreign instanceof Error).toBe(false);
    const e = toError(foreign);
    expect(e).toBe(foreign);
    expect(e.message).toBe('from elsewhere');
  });

  it('wraps strings and objects', () => {
    expect(toError('boom').message).toBe('boom');
    expect(toError({ a: 1 }).message).toBe('{"a":1}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(toError(cyclic).message).toBe('[object Object]');
  });
});

describe('IllegalStateError', () => {
  it('names the component, the state and the refused action, with a stable code', () => {
    const e = new IllegalStateError('executor', 'stopped', 'pause');
    expect(e.message).toBe('executor: cannot pause while stopped');
    expect(e.toJSON()).toEqual({ code: 'DRAWBRIDGE_ERR_STATE_ILLEGAL', message: e.message });
    expect(e.name).toBe('IllegalStateError');
  });
});
