/**
 * A push to the bare repository deploys, end to end: the schedulers' own
 * pollers (one polled on demand, one every 200 ms) report it once, and the
 * buildset runs only the jobs the pushed files select.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import {
  buildsetIdFor,
  Scheduler,
  SchedulerConfigError,
} from '../../src/scheduler/runtime/index.js';
import { refStatePath, TriggerOptionError } from '../../src/scheduler/triggers/index.js';
import { listComponents } from '../../src/zk/registry.js';
import { createE2eWorld, jobStanza, waitUntil, type E2eWorld } from './e2e-support.js';

const MAIN = 'refs/heads/main';

const layout = (records: string): string =>
  [
    '- pipeline:\n    name: deploy\n    manager: serial\n    trigger:\n      git:\n        - event: ref-updated\n          ref: ^refs/heads/main$\n',
    jobStanza('p-a', records, '    files:\n      - ^a/\n'),
    jobStanza('p-b', records, '    files:\n      - ^b/\n'),
    jobStanza('p-all', records),
    '- project:\n    deploy:\n      jobs: [p-a, p-b, p-all]\n',
  ].join('\n');

describe('scheduler e2e: git push to deploy', () => {
  let w: E2eWorld;
  let onDemand: Scheduler;
  let timed: Scheduler;

  beforeAll(async () => {
    w = await createE2eWorld('push', layout);
    await w.startExecutor(2);
    onDemand = await w.startScheduler({ timers: false, repository: w.repository(0) });
    timed = await w.startScheduler({ timers: false, repository: w.repository(200) });
  }, 60_000);

  afterAll(async () => {
    await w?.dispose();
  });

  const jobsRun = (buildset: string) =>
    w
      .records()
      .filter((r) => r.buildset === buildset && r.event === 'end')
      .map((r) => r.job)
      .sort();

  it('refuses timers without a repository to read the head from', () => {
    const make = () =>
      new Scheduler(
        { version: 'test', triggers: { timers: true } },
        { ...w.world, layout: w.layout, layoutVersion: 'x', logger: pino({ level: 'silent' }) },
      );
    expect(make).toThrow(SchedulerConfigError);
    expect(make).toThrow(/scheduler option triggers: expected a repository when timers is true/);
  });

  it('fails to start, deregistered, when its clone path is not a bare repository', async () => {
    const before = await listComponents(w.world.zk, w.world.paths.components('scheduler'));
    const repository = { ...w.repository(0), localPath: w.world.repo.workdir };
    const s = await w.startScheduler({ timers: true, repository }).catch((e: unknown) => e);
    expect(s).toBeInstanceOf(TriggerOptionError);
    expect(await listComponents(w.world.zk, w.world.paths.components('scheduler'))).toEqual(before);
  });

  it('runs the pollers the options ask for, and no timers', () => {
    expect(onDemand.triggers?.poller?.state).toBe('running');
    expect(timed.triggers?.poller?.state).toBe('running');
    expect(onDemand.triggers?.timer).toBeUndefined();
  });

  it('deploys each pushed commit once, running only the jobs its files select', async () => {
    // The first poll of a ref records a baseline and deploys nothing.
    const first = await onDemand.triggers!.poller!.pollNow();
    expect(first.commit).toBe(w.sha);
    await waitUntil(
      async () => (await w.world.zk.exists(refStatePath(w.world.paths, MAIN))) !== null,
      'the baseline head to be recorded',
    );

    const pushA = await w.world.repo.commit({ 'a/site.yml': 'a: 1\n' }, 'touch a');
    const bsA = buildsetIdFor('deploy', 'ref', `poll-${MAIN}-${pushA}`);
    // The timed poller finds it on its own; no one asks.
    const deployedA = await w.finished('deploy', bsA, 30_000);
    expect([deployedA.result, deployedA.commit]).toEqual(['SUCCESS', pushA]);
    expect(deployedA.jobs.map((j) => [j.name, j.state])).toEqual([
      ['p-a', 'SUCCESS'],
      ['p-all', 'SUCCESS'],
    ]);
    expect(jobsRun(bsA)).toEqual(['p-a', 'p-all']);

    const pushB = await w.world.repo.commit({ 'b/site.yml': 'b: 1\n' }, 'touch b');
    const polled = await onDemand.triggers!.poller!.pollNow();
    expect(polled.commit).toBe(pushB);
    const bsB = buildsetIdFor('deploy', 'ref', `poll-${MAIN}-${pushB}`);
    const deployedB = await w.finished('deploy', bsB, 30_000);
    expect(deployedB.result).toBe('SUCCESS');
    expect(deployedB.changedFiles).toEqual(['b/site.yml']);
    expect(jobsRun(bsB)).toEqual(['p-all', 'p-b']);
    // Two pollers, two pushes: two buildsets, whichever poller saw each first.
    expect(await w.buildsetIds('deploy')).toEqual([bsA, bsB].sort());
  });

  it('stops the pollers when the schedulers drain', async () => {
    await Promise.all([onDemand.drain(), timed.drain()]);
    expect(onDemand.triggers?.poller?.state).toBe('stopped');
    expect(timed.triggers?.state).toBe('stopped');
    expect(() => onDemand.triggers!.poller!.pollNow()).toThrow(/stopped/);
  });
});
