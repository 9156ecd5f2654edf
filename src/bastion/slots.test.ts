import { describe, expect, it } from '@jest/globals';
import { Slots } from './slots.js';

describe('Slots', () => {
  it('grants up to its size, then queues in arrival order', async () => {
    const slots = new Slots(2);
    const a = await slots.acquire();
    const b = await slots.acquire();
    const order: string[] = [];
    const c = slots.acquire().then((r) => (order.push('c'), r));
    const d = slots.acquire().then((r) => (order.push('d'), r));
    expect(slots.inUse).toBe(2);
    expect(slots.waiting).toBe(2);
    a();
    (await c)();
    b();
    (await d)();
    expect(order).toEqual(['c', 'd']);
    expect(slots.inUse).toBe(0);
  });

  it('ignores a second release of the same slot', async () => {
    const slots = new Slots(1);
    const release = await slots.acquire();
    release();
    release();
    expect(slots.inUse).toBe(0);
    await slots.acquire();
    expect(slots.inUse).toBe(1);
  });

  it('drops an aborted waiter, rejecting with the reason', async () => {
    const slots = new Slots(1);
    const held = await slots.acquire();
    const ac = new AbortController();
    const waiting = slots.acquire(ac.signal);
    const reason = new Error('cancelled');
    ac.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(slots.waiting).toBe(0);
    held();
    expect(slots.inUse).toBe(0);
    await expect(slots.acquire(ac.signal)).rejects.toBe(reason);
  });
});
