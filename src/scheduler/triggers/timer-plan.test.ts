import { describe, expect, it } from '@jest/globals';
import type { Pipeline, Trigger } from '../../config/index.js';
import { jitterMs, parseCron } from '../../cron/index.js';
import { TriggerTimerError } from './errors.js';
import { firingAfter, nextDueFiring, slotsToPrune, slotTime, timerSpecs } from './timer-plan.js';

const src = { file: 'zuul.yaml', line: 1 };
function layout(entries: Record<string, string[]>): { pipelines: Map<string, Pipeline> } {
  const pipelines = new Map<string, Pipeline>();
  for (const [name, times] of Object.entries(entries)) {
    const triggers: Trigger[] = [
      { kind: 'manual', source: src },
      ...times.map((time) => ({ kind: 'timer' as const, time, source: src })),
    ];
    pipelines.set(name, { name, triggers } as unknown as Pipeline);
  }
  return { pipelines };
}

const T0 = Date.UTC(2026, 10, 23, 18, 0, 0);

describe('timerSpecs', () => {
  it('lists one spec per pipeline and distinct schedule', () => {
    const specs = timerSpecs(
      layout({
        periodic: ['0 2 * * *', '0 2 * * * 0 30', '0 3 * * *'],
        deploy: [],
        hourly: ['0 * * * *'],
      }),
    );
    expect(specs.map((s) => [s.pipeline, s.time])).toEqual([
      ['periodic', '0 2 * * *'],
      ['periodic', '0 3 * * *'],
      ['hourly', '0 * * * *'],
    ]);
  });
  it('names the pipeline when an expression does not parse', () => {
    expect(() => timerSpecs(layout({ periodic: ['61 * * * *'] }))).toThrow(TriggerTimerError);
    expect(() => timerSpecs(layout({ periodic: ['61 * * * *'] }))).toThrow(/periodic/);
  });
});

describe('firingAfter', () => {
  const [spec] = timerSpecs(layout({ periodic: ['0 * * * * 0 600'] }));
  it('adds the jitter every scheduler derives, within its bound', () => {
    for (let h = 0; h < 48; h++) {
      const f = firingAfter(spec!, T0 + h * 3_600_000);
      expect(f.slotMs).toBe(T0 + (h + 1) * 3_600_000);
      expect(f.dueMs - f.slotMs).toBe(jitterMs(spec!.schedule, `periodic/${f.slot}`));
      expect(f.dueMs - f.slotMs).toBeGreaterThanOrEqual(0);
      expect(f.dueMs - f.slotMs).toBeLessThan(600_000);
      expect(slotTime(f.slot)).toBe(f.slotMs);
    }
  });
  it('gives the same slot and due time in every process', () => {
    expect(firingAfter(spec!, T0)).toEqual(
      firingAfter({ ...spec!, schedule: parseCron('0 * * * * 0 600') }, T0),
    );
  });
});

describe('nextDueFiring', () => {
  const [spec] = timerSpecs(layout({ p: ['* * * * * */2'] }));
  it('takes the next slot when on time', () => {
    expect(nextDueFiring(spec!, T0, T0 + 500, 1000).slotMs).toBe(T0 + 2000);
  });
  it('skips slots missed by more than the tolerance (no catch-up)', () => {
    expect(nextDueFiring(spec!, T0, T0 + 10_000, 1000).slotMs).toBe(T0 + 10_000);
    expect(nextDueFiring(spec!, T0, T0 + 10_500, 0).slotMs).toBe(T0 + 12_000);
    // A day away: jumps instead of walking every slot.
    expect(nextDueFiring(spec!, T0, T0 + 86_400_000, 0).slotMs).toBe(T0 + 86_400_000);
  });
});

describe('slotsToPrune', () => {
  const name = (ms: number): string =>
    new Date(ms).toISOString().slice(0, 19).replace(/[-:]/g, '') + 'Z-abc';
  it('keeps the newest and the recent, ignores strangers', () => {
    const names = [0, 1, 2, 3, 4, 5].map((i) => name(T0 + i * 60_000));
    const now = T0 + 10 * 60_000;
    expect(slotsToPrune([...names, 'lock', '.shards'], now, 3, 0).sort()).toEqual(
      names.slice(0, 3),
    );
    expect(slotsToPrune(names, now, 3, 8 * 60_000)).toEqual([name(T0 + 60_000), name(T0)]);
    expect(slotsToPrune(names, now, 10, 0)).toEqual([]);
  });
});
