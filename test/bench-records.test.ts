/**
 * The scheduler bench's per-release dispatch figures (bench/scheduler-records.ts):
 * a release's first dependent carries the latency, its later ones the start-up queue.
 */
import { describe, expect, it } from '@jest/globals';
import { fanoutLatency, type JobTimes } from '../bench/scheduler-records.js';

const job = (name: string, ...dependencies: string[]) => ({ name, dependencies });
const ran = (launch: number, exit: number): JobTimes => ({
  launch,
  start: launch,
  end: exit,
  exit,
});

describe('fanoutLatency', () => {
  it('groups dependents by the parent that ended last and ranks their launches', () => {
    // a releases b, c, d (10, 30, 50 ms after its exit); e waits for b and c, c ends last.
    const graph = {
      jobs: [job('a'), job('b', 'a'), job('c', 'a'), job('d', 'a'), job('e', 'b', 'c')],
    };
    const times = new Map([
      ['a', ran(0, 100)],
      ['b', ran(110, 200)],
      ['c', ran(130, 300)],
      ['d', ran(150, 160)],
      ['e', ran(305, 400)],
    ]);
    const f = fanoutLatency(graph, times);
    expect(f).not.toBeNull();
    expect(f?.releases).toBe(2);
    expect(f?.widest).toBe(3);
    expect(f?.first_dependent_ms.n).toBe(2);
    expect(f?.first_dependent_ms.max).toBe(10);
    expect(f?.first_dependent_ms.p50).toBe(5);
    expect(f?.last_dependent_ms.max).toBe(50);
    expect(f?.per_further_dependent_ms?.max).toBe(20);
    expect(f?.per_further_dependent_ms?.n).toBe(1);
  });

  it('is null without dependencies', () => {
    expect(fanoutLatency({ jobs: [job('a')] }, new Map([['a', ran(0, 1)]]))).toBeNull();
  });
});
