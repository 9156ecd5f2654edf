/**
 * Event-to-processed latency: from the moment an event happened (an
 * operator's request, a push received, a timer slot, a build's end) to the
 * moment a scheduler acked it, its effect written. Each scheduler keeps a
 * cumulative histogram per queue and publishes it in its component record;
 * web's /metrics adds the schedulers' histograms up. Shared by both, so it
 * lives here and not in either.
 */

/** Upper bounds of the buckets, in seconds. */
export const EVENT_LATENCY_BUCKETS_S = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const EVENT_QUEUES = ['management', 'result', 'trigger'] as const;
export type EventQueueKind = (typeof EVENT_QUEUES)[number];

export interface LatencyHistogram {
  /** Cumulative counts per bucket of EVENT_LATENCY_BUCKETS_S (`le`), in order. */
  readonly buckets: number[];
  readonly count: number;
  readonly sumMs: number;
}

export type EventLatencySnapshot = Partial<Record<EventQueueKind, LatencyHistogram>>;

export class EventLatency {
  readonly #byQueue = new Map<
    EventQueueKind,
    { buckets: number[]; count: number; sumMs: number }
  >();

  observe(queue: EventQueueKind, ms: number): void {
    // Clocks of different hosts can disagree by a little: never a negative latency.
    const value = Math.max(0, ms);
    let h = this.#byQueue.get(queue);
    if (h === undefined) {
      h = { buckets: EVENT_LATENCY_BUCKETS_S.map(() => 0), count: 0, sumMs: 0 };
      this.#byQueue.set(queue, h);
    }
    EVENT_LATENCY_BUCKETS_S.forEach((le, i) => {
      if (value <= le * 1000) h.buckets[i] = (h.buckets[i] ?? 0) + 1;
    });
    h.count += 1;
    h.sumMs += value;
  }

  /** Observations so far, all queues; changes whenever anything was observed. */
  get count(): number {
    let n = 0;
    for (const h of this.#byQueue.values()) n += h.count;
    return n;
  }

  snapshot(): EventLatencySnapshot {
    const out: EventLatencySnapshot = {};
    for (const [queue, h] of this.#byQueue)
      out[queue] = { buckets: [...h.buckets], count: h.count, sumMs: h.sumMs };
    return out;
  }
}

/** Reads a snapshot back from a component record's `extra`; anything malformed is left out. */
export function parseLatencySnapshot(value: unknown): EventLatencySnapshot {
  if (typeof value !== 'object' || value === null) return {};
  const out: EventLatencySnapshot = {};
  for (const queue of EVENT_QUEUES) {
    const h = (value as Record<string, unknown>)[queue] as Partial<LatencyHistogram> | undefined;
    const ok =
      typeof h === 'object' &&
      h !== null &&
      Array.isArray(h.buckets) &&
      h.buckets.length === EVENT_LATENCY_BUCKETS_S.length &&
      h.buckets.every((b) => typeof b === 'number') &&
      typeof h.count === 'number' &&
      typeof h.sumMs === 'number';
    if (ok) out[queue] = { buckets: [...h.buckets], count: h.count, sumMs: h.sumMs };
  }
  return out;
}
