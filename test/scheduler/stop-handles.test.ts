/**
 * A stopped scheduler leaves no timer behind, even when it stops in the
 * middle of a round that switches the layout (the round re-creates its
 * wake-ups after the switch). In this process against the shared ZooKeeper.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { loadLayoutFromSources, type Layout } from '../../src/config/index.js';
import { Scheduler } from '../../src/scheduler/runtime/index.js';
import type { ZkClient } from '../../src/zk/client.js';
import { ZkPaths } from '../../src/zk/paths.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { waitUntil } from '../fixtures/wait.js';
import { newChroot } from '../fixtures/zookeeper.js';
import { trackTimers, type TimerTracker } from '../support/timers.js';

const paths = new ZkPaths('/drawbridge');
let zk: ZooKeeperClient;

const manual = (name: string) =>
  `- pipeline:\n    name: ${name}\n    manager: serial\n    trigger:\n      manual: true\n` +
  `- project:\n    ${name}:\n      jobs: [j]\n`;

function layoutOf(...pipelines: string[]): Layout {
  const text = `- job:\n    name: j\n    run: playbooks/j.yml\n${pipelines.map(manual).join('')}`;
  const loaded = loadLayoutFromSources([{ file: 'zuul.d/layout.yaml', text }]);
  if (!loaded.layout) throw new Error(loaded.errors.map((e) => e.message).join('; '));
  return loaded.layout;
}

/** The real client, except that `mkdirp(path)` waits for `open()` once `hold(path)` was called. */
function gated(client: ZooKeeperClient) {
  let held: string | undefined;
  let reached = false;
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const mkdirp = async (path: string): Promise<void> => {
    if (path === held) {
      reached = true;
      await gate;
    }
    return client.mkdirp(path);
  };
  const proxy = new Proxy(client, {
    get(target, prop) {
      if (prop === 'mkdirp') return mkdirp;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  }) as ZkClient;
  return {
    zk: proxy,
    hold: (path: string) => (held = path),
    reached: () => reached,
    open: () => open(),
  };
}

/** A timer may end a moment after stop resolves (a reply in flight): poll, then name what is left. */
async function expectNoTimers(timers: TimerTracker): Promise<void> {
  await waitUntil(() => timers.pending() === 0, 'the timers of the scheduler to go', 2_000).catch(
    () => undefined,
  );
  expect(timers.describe()).toBe('');
}

function scheduler(client: ZkClient, layout: Layout): Scheduler {
  return new Scheduler(
    // A long safety interval: a leaked one outlives the test by far.
    { version: 'test', safetyIntervalMs: 60_000 },
    { zk: client, paths, layout, layoutVersion: 'v1', logger: pino({ level: 'silent' }) },
  );
}

beforeAll(async () => {
  const chroot = await newChroot('scheduler-stop-handles');
  zk = await connectZooKeeper({ connectString: chroot.connectString, sessionTimeoutMs: 4_000 });
});
afterAll(async () => {
  await zk?.close();
});

describe('scheduler stop', () => {
  it('leaves no timer behind after a plain start and stop', async () => {
    const timers = trackTimers();
    try {
      const s = scheduler(zk, layoutOf('deploy'));
      await s.start();
      expect(timers.pending()).toBeGreaterThan(0);
      await s.stop();
      await expectNoTimers(timers);
    } finally {
      timers.stop();
    }
  });

  it('leaves no timer behind when stopped while a round switches the layout', async () => {
    const timers = trackTimers();
    try {
      const g = gated(zk);
      const s = scheduler(g.zk, layoutOf('deploy'));
      await s.start();
      // The switch creates the new pipeline's queues: hold it there while the scheduler stops.
      g.hold(paths.pipelineLock('extra'));
      s.setLayout(layoutOf('deploy', 'extra'), 'v2');
      await waitUntil(g.reached, 'the round to reach the layout switch');
      const stopped = s.stop();
      await waitUntil(() => s.state === 'draining', 'the scheduler to begin draining');
      g.open();
      await stopped;
      expect(s.state).toBe('stopped');
      await expectNoTimers(timers);
    } finally {
      timers.stop();
    }
  });
});
