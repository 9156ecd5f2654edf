/**
 * A supercedent pipeline end to end: while buildset 1 runs, 2 and 3 are
 * enqueued for the same ref; 2 is replaced by 3 without running anything,
 * 1 is never touched, and 1 then 3 run to SUCCESS, one after the other.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createE2eWorld, jobStanza, waitUntil, type E2eWorld } from './e2e-support.js';

const layout = (records: string): string =>
  [
    '- pipeline:\n    name: latest\n    manager: supercedent\n    trigger:\n      manual: true\n',
    jobStanza('r-gate', records, '', { gate: true }),
    jobStanza('r-after', records, '    dependencies:\n      - r-gate\n'),
    '- project:\n    latest:\n      jobs: [r-gate, r-after]\n',
  ].join('\n');

describe('scheduler e2e: supercedent pipeline', () => {
  let w: E2eWorld;

  beforeAll(async () => {
    w = await createE2eWorld('supercedent', layout);
    await w.startExecutor(2);
    await w.startScheduler();
    await w.startScheduler();
  }, 60_000);

  afterAll(async () => {
    await w?.dispose();
  });

  it('replaces the queued buildset by the newer one and never the running one', async () => {
    const first = await w.enqueue('latest');
    await waitUntil(
      () => w.records().some((r) => r.buildset === first && r.job === 'r-gate'),
      'buildset 1 to run its gate job',
      30_000,
    );
    const second = await w.enqueue('latest');
    await waitUntil(
      async () => (await w.buildset('latest', second))?.state === 'queued',
      'buildset 2 to be queued behind 1',
    );
    const third = await w.enqueue('latest');
    const replaced = await w.finished('latest', second);
    expect([replaced.result, replaced.message]).toEqual(['CANCELED', `superseded by ${third}`]);
    expect(replaced.jobs.map((j) => [j.name, j.state, j.reason])).toEqual([
      ['r-gate', 'CANCELED', `superseded by ${third}`],
      ['r-after', 'CANCELED', `superseded by ${third}`],
    ]);
    const running = await w.buildset('latest', first);
    expect([running?.state, running?.message]).toEqual(['running', null]);
    expect((await w.buildset('latest', third))?.state).toBe('queued');

    writeFileSync(join(w.world.records, 'r-gate.go'), '');
    const [one, three] = await Promise.all([
      w.finished('latest', first),
      w.finished('latest', third),
    ]);
    for (const bs of [one, three]) {
      expect([bs.result, bs.message]).toEqual(['SUCCESS', null]);
      expect(bs.jobs.map((j) => [j.name, j.state, j.attempt])).toEqual([
        ['r-gate', 'SUCCESS', 1],
        ['r-after', 'SUCCESS', 1],
      ]);
    }
    // Each job once per buildset that ran; nothing at all for the replaced one.
    const runs = w.records().map((r) => `${r.buildset} ${r.job} ${r.event}`);
    expect(runs.filter((r) => r.startsWith(second))).toEqual([]);
    for (const bs of [first, third])
      expect(runs.filter((r) => r.startsWith(bs)).sort()).toEqual(
        ['r-after end', 'r-after start', 'r-gate end', 'r-gate start'].map((x) => `${bs} ${x}`),
      );
    expect(w.builds.filter((b) => b.request.buildsetId === second)).toEqual([]);
    // One buildset of the ref past queued at a time: 3 began after 1 ended.
    const at = (bs: string, job: string, event: string) =>
      w.records().find((r) => r.buildset === bs && r.job === job && r.event === event)!.at;
    expect(at(first, 'r-after', 'end')).toBeLessThanOrEqual(at(third, 'r-gate', 'start'));
  });
});
