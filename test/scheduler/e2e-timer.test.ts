/**
 * A timer every two seconds, end to end, with three schedulers that each run
 * the timer: every slot is claimed by one of them and becomes exactly one
 * buildset, which runs each job once to SUCCESS. A fourth scheduler without
 * triggers finishes the work after the three drain.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Scheduler, buildsetIdFor } from '../../src/scheduler/runtime/index.js';
import { slotRecordCodec, type SlotRecord } from '../../src/scheduler/triggers/index.js';
import { createE2eWorld, jobStanza, waitUntil, type E2eWorld } from './e2e-support.js';

const SLOTS = 3;
const PERIOD_MS = 2_000;

const layout = (records: string): string =>
  [
    // minute hour day month weekday second: every second second.
    "- pipeline:\n    name: periodic\n    manager: serial\n    trigger:\n      timer:\n        - time: '* * * * * */2'\n",
    jobStanza('t-one', records),
    jobStanza('t-two', records),
    '- project:\n    periodic:\n      jobs: [t-one, t-two]\n',
  ].join('\n');

/** `20261124T020000Z-<hash>` → epoch ms. */
function slotTime(slot: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(slot);
  if (!m) throw new Error(`unexpected slot name ${slot}`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, ...number[]];
  return Date.UTC(y, mo! - 1, d, h, mi, s);
}

describe('scheduler e2e: timer across three schedulers', () => {
  let w: E2eWorld;
  let timed: Scheduler[];

  beforeAll(async () => {
    w = await createE2eWorld('timer', layout);
    await w.startExecutor(4);
    await w.startScheduler();
    timed = [];
    for (let i = 0; i < 3; i++)
      timed.push(await w.startScheduler({ timers: true, repository: w.repository(0) }));
  }, 60_000);

  afterAll(async () => {
    await w?.dispose();
  });

  const slotDir = () => w.world.paths.timerSlots('periodic');
  const slots = async () =>
    (await w.world.zk.children(slotDir()).catch(() => [] as string[])).sort();

  it(`turns each of ${SLOTS} consecutive slots into exactly one buildset that succeeds`, async () => {
    await waitUntil(
      async () => (await slots()).length >= SLOTS,
      `${SLOTS} timer slots to be claimed`,
      SLOTS * PERIOD_MS + 15_000,
    );
    // Draining stops a scheduler's timers before anything else: no slot after this.
    await Promise.all(timed.map((s) => s.drain()));
    expect(timed.map((s) => s.triggers?.timer?.state)).toEqual(['stopped', 'stopped', 'stopped']);
    const claimed = await slots();
    expect(claimed.length).toBeGreaterThanOrEqual(SLOTS);
    const times = claimed.map(slotTime);
    expect(times.slice(1).map((t, i) => t - times[i]!)).toEqual(
      times.slice(1).map(() => PERIOD_MS),
    );

    const ids = timed.map((s) => s.id);
    const records: SlotRecord[] = await Promise.all(
      claimed.map(async (slot) =>
        slotRecordCodec.decode((await w.world.zk.get(`${slotDir()}/${slot}`)).data),
      ),
    );
    const buildsets = records.map((r) => {
      expect(ids).toContain(r.claimedBy);
      return buildsetIdFor('periodic', 'timer', r.eventId);
    });
    // One buildset per slot and no other.
    await waitUntil(
      async () => (await w.buildsetIds('periodic')).length >= buildsets.length,
      'a buildset for every claimed slot',
    );
    expect(await w.buildsetIds('periodic')).toEqual([...buildsets].sort());

    for (const id of buildsets) {
      const bs = await w.finished('periodic', id, 30_000);
      expect([bs.result, bs.commit, bs.changedFiles]).toEqual(['SUCCESS', w.sha, null]);
      expect(bs.jobs.map((j) => [j.name, j.state, j.attempt])).toEqual([
        ['t-one', 'SUCCESS', 1],
        ['t-two', 'SUCCESS', 1],
      ]);
      const ran = w.records().filter((r) => r.buildset === id && r.event === 'end');
      expect(ran.map((r) => r.job).sort()).toEqual(['t-one', 't-two']);
      expect(
        w.builds.filter((b) => b.request.buildsetId === id && b.request.kind === 'job'),
      ).toHaveLength(2);
    }
    // Still nothing new: the drained schedulers put no event after their drain.
    expect(await slots()).toEqual(claimed);
  });
});
