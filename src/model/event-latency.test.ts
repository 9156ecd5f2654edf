import { describe, expect, it } from '@jest/globals';
import { EVENT_LATENCY_BUCKETS_S, EventLatency, parseLatencySnapshot } from './event-latency.js';

describe('EventLatency', () => {
  it('counts each observation in every bucket at or above it, per queue', () => {
    const latency = new EventLatency();
    latency.observe('result', 30); // le 0.05 and up
    latency.observe('result', 2_000); // le 2.5 and up
    latency.observe('result', 120_000); // only +Inf
    latency.observe('management', -5); // another host's clock: counted as 0
    const snap = latency.snapshot();
    const le = (s: number) => EVENT_LATENCY_BUCKETS_S.indexOf(s);
    expect(snap.result?.buckets[le(0.025)]).toBe(0);
    expect(snap.result?.buckets[le(0.05)]).toBe(1);
    expect(snap.result?.buckets[le(2.5)]).toBe(2);
    expect(snap.result?.buckets[le(60)]).toBe(2);
    expect([snap.result?.count, snap.result?.sumMs]).toEqual([3, 122_030]);
    expect(snap.management).toEqual({
      buckets: EVENT_LATENCY_BUCKETS_S.map(() => 1),
      count: 1,
      sumMs: 0,
    });
    expect(snap.trigger).toBeUndefined();
    expect(latency.count).toBe(4);
  });

  it('reads back what it wrote and leaves malformed queues out', () => {
    const latency = new EventLatency();
    latency.observe('trigger', 100);
    const snap = latency.snapshot();
    expect(parseLatencySnapshot(JSON.parse(JSON.stringify(snap)))).toEqual(snap);
    expect(
      parseLatencySnapshot({ ...snap, result: { buckets: [1], count: 1, sumMs: 1 }, other: {} }),
    ).toEqual(snap);
    expect(parseLatencySnapshot(null)).toEqual({});
  });
});
