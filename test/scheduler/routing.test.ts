import { describe, expect, it } from '@jest/globals';
import { loadLayoutFromSources } from '../../src/config/index.js';
import type { TriggerEvent } from '../../src/model/index.js';
import {
  buildsetIdFor,
  checkoutRequestId,
  jobRequestId,
  pipelineOrder,
  pipelinesFor,
  resolveSchedulerOptions,
  SchedulerConfigError,
} from '../../src/scheduler/runtime/index.js';
import { segment } from '../../src/zk/paths.js';
import { layoutText } from './support.js';

const layout = loadLayoutFromSources([
  { file: 'zuul.d/test.yaml', text: layoutText('/tmp/r') },
]).layout!;
const sha = 'a'.repeat(40);

function push(ref: string): TriggerEvent {
  return {
    type: 'ref-updated',
    id: `push-${ref}`,
    ref,
    oldCommit: null,
    newCommit: sha,
    changedFiles: null,
    source: 'poll',
    detail: 'test',
    receivedAt: 0,
  };
}

describe('pipelinesFor', () => {
  it('matches ref-updated events by the triggers’ ref regexes, anchored', () => {
    expect(pipelinesFor(layout, push('refs/heads/main'))).toEqual(['deploy']);
    expect(pipelinesFor(layout, push('refs/heads/release'))).toEqual(['selective']);
    expect(pipelinesFor(layout, push('refs/heads/main2'))).toEqual([]);
    expect(pipelinesFor(layout, push('refs/tags/main'))).toEqual([]);
  });

  it('sends a timer event to the pipeline it names, if the layout has it', () => {
    const timer = (pipeline: string): TriggerEvent => ({
      type: 'timer',
      id: 't1',
      pipeline,
      slot: '20261123T1800Z',
      ref: 'refs/heads/main',
      commit: sha,
      firedAt: 0,
    });
    expect(pipelinesFor(layout, timer('sema'))).toEqual(['sema']);
    expect(pipelinesFor(layout, timer('gone'))).toEqual([]);
  });
});

describe('pipelineOrder', () => {
  it('visits high precedence first, then normal, then low, by name within each', () => {
    expect(pipelineOrder(layout).map((p) => p.name)).toEqual([
      'deploy',
      'cancel',
      'failing',
      'lost',
      'selective',
      'sema-other',
      'sema',
    ]);
  });
});

describe('runtime ids', () => {
  it('are deterministic, distinct per pipeline and event, and valid znode names', () => {
    const a = buildsetIdFor('deploy', 'ref', 'poll-refs/heads/main-abc');
    expect(buildsetIdFor('deploy', 'ref', 'poll-refs/heads/main-abc')).toBe(a);
    expect(buildsetIdFor('periodic', 'ref', 'poll-refs/heads/main-abc')).not.toBe(a);
    const weird = jobRequestId(a, 'Job with spaces/and slashes');
    expect(weird).not.toBe(jobRequestId(a, 'Job with spaces_and slashes'));
    for (const id of [a, checkoutRequestId(a), `${weird}.3`, jobRequestId(a, 'x'.repeat(200))])
      expect(segment('id', id)).toBe(id);
  });
});

describe('resolveSchedulerOptions', () => {
  it('fills in defaults and freezes the result', () => {
    const o = resolveSchedulerOptions({ version: '1.0' });
    expect(o).toEqual({
      version: '1.0',
      safetyIntervalMs: 3_000,
      keepDoneBuildsets: 20,
      eventsPerPass: 100,
    });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('names the option that is out of range', () => {
    const bad = () => resolveSchedulerOptions({ version: '1.0', safetyIntervalMs: 10 });
    expect(bad).toThrow(SchedulerConfigError);
    expect(bad).toThrow(/scheduler option safetyIntervalMs/);
  });
});
