import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jitterMs, parseCron } from '../../src/cron/index.js';
import type { TimerEvent } from '../../src/model/events.js';
import {
  slotRecordCodec,
  TimerTrigger,
  type TimerFiring,
  type TimerTriggerOptions,
} from '../../src/scheduler/triggers/index.js';
import { slotTime } from '../../src/scheduler/triggers/timer-plan.js';
import { ZkPaths } from '../../src/zk/paths.js';
import type { ZooKeeperClient } from '../../src/zk/zk-client.js';
import { newChroot, type TestChroot } from '../fixtures/zookeeper.js';
import { closeAll, connect, tree, waitFor } from '../zk/recipe-helpers.js';
import { drain, events, silent, timerLayout } from './support.js';

const HEAD = 'a'.repeat(40);
// Every second, up to one second of jitter: several slots within a few seconds.
const EVERY_SECOND = '* * * * * * 1';
const schedule = parseCron(EVERY_SECOND);
const paths = new ZkPaths('/drawbridge');

let chroot: TestChroot;
let clients: ZooKeeperClient[];
const triggers: TimerTrigger[] = [];

function trigger(
  client: ZooKeeperClient,
  id: string,
  extra: Partial<TimerTriggerOptions> = {},
): TimerTrigger {
  const t = new TimerTrigger(
    timerLayout({ periodic: [EVERY_SECOND] }),
    {
      branch: 'main',
      schedulerId: id,
      resolveHead: () => Promise.resolve(HEAD),
      lateToleranceMs: 500,
      keepSlots: 2,
      retainSlotsMs: 0,
      ...extra,
    },
    { zk: client, paths, logger: silent },
  );
  triggers.push(t);
  return t;
}

function record(t: TimerTrigger): TimerFiring[] {
  const seen: TimerFiring[] = [];
  t.onFiring((f) => seen.push(f));
  return seen;
}

async function slotNodes(): Promise<string[]> {
  return (await clients[0]!.children(paths.timerSlots('periodic'))).sort();
}

beforeAll(async () => {
  chroot = await newChroot('timer-trigger');
  clients = await Promise.all([1, 2, 3].map(() => connect(chroot.connectString)));
});

afterAll(async () => {
  try {
    await Promise.all(triggers.map((t) => t.stop()));
    await drain(clients[0]!, paths);
    // Only the documented nodes remain: the queue's directory and recent slot nodes.
    const left = await tree(clients[0]!);
    const slots = left.filter((p) => p.startsWith('/drawbridge/timers/periodic/'));
    expect(left.filter((p) => !slots.includes(p))).toEqual([
      '/drawbridge',
      '/drawbridge/events',
      '/drawbridge/events/trigger',
      '/drawbridge/events/trigger/entries',
      '/drawbridge/timers',
      '/drawbridge/timers/periodic',
    ]);
    expect(slots.every((p) => /\/\d{8}T\d{6}Z-[0-9a-z]+$/.test(p))).toBe(true);
  } finally {
    await closeAll();
  }
});

describe('TimerTrigger', () => {
  it('three schedulers put exactly one event per slot, after its jitter, and prune old slots', async () => {
    const three = clients.map((c, i) => trigger(c, `scheduler-${i}`));
    const seen = three.map(record);
    await Promise.all(three.map((t) => t.start()));
    const claimed = (): TimerFiring[] => seen.flat().filter((f) => f.outcome === 'claimed');
    await waitFor(
      () => new Set(claimed().map((f) => f.slot)).size >= 6,
      'six claimed slots',
      20_000,
    );
    await Promise.all(three.map((t) => t.stop()));
    expect(three.map((t) => t.state)).toEqual(['stopped', 'stopped', 'stopped']);

    const all = seen.flat();
    expect(all.filter((f) => f.outcome === 'failed')).toEqual([]);
    const put = (await events(clients[0]!, paths)) as TimerEvent[];
    const slots = put.map((e) => e.slot);
    expect(new Set(slots).size).toBe(slots.length); // never two events for one slot
    expect(slots.sort()).toEqual(
      claimed()
        .map((f) => f.slot)
        .sort(),
    );
    // Every slot any scheduler attempted was claimed by exactly one.
    for (const slot of new Set(all.map((f) => f.slot)))
      expect(all.filter((f) => f.slot === slot && f.outcome === 'claimed')).toHaveLength(1);
    // Schedulers did compete: some attempts found the slot taken.
    expect(all.filter((f) => f.outcome === 'taken').length).toBeGreaterThan(0);

    for (const e of put) {
      expect(e).toMatchObject({
        type: 'timer',
        pipeline: 'periodic',
        ref: 'refs/heads/main',
        commit: HEAD,
      });
      expect(e.id).toBe(`timer-periodic-${e.slot}`);
      const slotMs = slotTime(e.slot)!;
      const due = slotMs + jitterMs(schedule, `periodic/${e.slot}`);
      expect(e.firedAt).toBeGreaterThanOrEqual(due);
      expect(e.firedAt).toBeLessThan(slotMs + 1000 + 1500); // jitter bound plus scheduling slack
    }
    // Claimants prune: with keepSlots 2, the oldest of six slots is gone.
    const nodes = await slotNodes();
    const oldest = [...slots].sort()[0]!;
    expect(nodes).not.toContain(oldest);
    expect(nodes.length).toBeGreaterThanOrEqual(2);
    const rec = slotRecordCodec.decode(
      (await clients[0]!.get(paths.timerSlot('periodic', nodes.at(-1)!))).data,
    );
    expect(rec.claimedBy).toMatch(/^scheduler-[012]$/);
    await drain(clients[0]!, paths);
  });

  it('a scheduler stopped in the middle of a firing puts nothing; the others still claim every slot', async () => {
    let stuck = 0;
    const stopping = trigger(clients[0]!, 'stuck', {
      resolveHead: (_ref, signal) => {
        stuck += 1;
        // Hangs until stop() aborts it, like a fetch cut off mid-way.
        return new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error)),
        );
      },
    });
    const healthy = trigger(clients[1]!, 'healthy');
    const stuckSeen = record(stopping);
    const healthySeen = record(healthy);
    await Promise.all([stopping.start(), healthy.start()]);
    await waitFor(() => stuck > 0, 'the stuck scheduler to begin a firing');
    const begun = Date.now();
    await stopping.stop();
    expect(Date.now() - begun).toBeLessThan(2000);
    expect(stuckSeen.map((f) => f.outcome)).toEqual(['failed']);
    expect(stopping.upcoming()).toEqual([]);

    const claimedByHealthy = (): string[] =>
      healthySeen.filter((f) => f.outcome === 'claimed').map((f) => f.slot);
    await waitFor(
      () => claimedByHealthy().includes(stuckSeen[0]!.slot),
      'the other scheduler to claim that slot',
    );
    await waitFor(
      () => claimedByHealthy().length >= 3,
      'three slots claimed by the healthy scheduler',
    );
    await healthy.stop();
    const put = (await events(clients[0]!, paths)) as TimerEvent[];
    expect(put.map((e) => e.slot).sort()).toEqual(claimedByHealthy().sort());
    for (const name of await slotNodes()) {
      const rec = slotRecordCodec.decode(
        (await clients[0]!.get(paths.timerSlot('periodic', name))).data,
      );
      expect(rec.claimedBy).not.toBe('stuck');
    }
    await drain(clients[0]!, paths);
  });

  it('a slot whose node exists is not fired again (no event without its slot node)', async () => {
    const t = trigger(clients[2]!, 'late');
    const seen = record(t);
    await t.start();
    const next = t.upcoming()[0]!;
    expect(next.slotMs).toBeGreaterThan(Date.now() - 1000); // armed from now: no catch-up
    await clients[2]!.mkdirp(paths.timerSlots('periodic'));
    await clients[2]!.create(paths.timerSlot('periodic', next.slot), Buffer.from('{}'));
    await waitFor(() => seen.some((f) => f.slot === next.slot), 'the pre-claimed slot to come due');
    await t.stop();
    expect(seen.find((f) => f.slot === next.slot)!.outcome).toBe('taken');
    expect(
      (await events(clients[2]!, paths)).filter((e) => e.type === 'timer' && e.slot === next.slot),
    ).toEqual([]);
    await drain(clients[2]!, paths);
  });

  it('guards its lifecycle: start and stop are idempotent, no start after stop', async () => {
    const t = trigger(clients[0]!, 'lifecycle');
    const started = t.start();
    expect(t.start()).toBe(started);
    await started;
    expect(t.upcoming()).toHaveLength(1);
    const stopped = t.stop();
    expect(t.stop()).toBe(stopped);
    await stopped;
    expect(() => t.start()).toThrow(/cannot start while stopped/);
    expect(() => t.setLayout(timerLayout({}))).toThrow(/stopped/);
  });

  it('setLayout arms new timers and disarms removed ones', async () => {
    const t = trigger(clients[0]!, 'relayout');
    await t.start();
    t.setLayout(timerLayout({ periodic: [EVERY_SECOND], nightly: ['0 2 * * *'] }));
    expect(
      t
        .upcoming()
        .map((f) => f.pipeline)
        .sort(),
    ).toEqual(['nightly', 'periodic']);
    t.setLayout(timerLayout({ nightly: ['0 2 * * *'] }));
    expect(t.upcoming().map((f) => f.pipeline)).toEqual(['nightly']);
    await t.stop();
  });
});
