import { describe, expect, it } from '@jest/globals';
import type { Buildset, PipelineState } from '../model/buildset.js';
import { applyInput } from './buildset-machine.js';
import { MissingBuildsetError, WrongBuildsetError } from './errors.js';
import {
  dequeue,
  emptyPipelineState,
  enqueue,
  promote,
  removeDone,
  startable,
} from './pipeline-queue.js';
import { buildset, job, running } from './test-fixtures.js';

type Phase = 'queued' | 'checkout' | 'running' | 'done';

function make(id: string, phase: Phase = 'queued', ref = 'refs/heads/main'): Buildset {
  const bs = buildset([job('a')], { id, ref });
  if (phase === 'queued') return bs;
  if (phase === 'checkout')
    return applyInput(bs, { type: 'start', requestId: `co-${id}` }, 1).buildset;
  if (phase === 'running') return running(bs);
  return applyInput(bs, { type: 'cancel', reason: 'x' }, 1).buildset;
}

function world(...records: Buildset[]): { state: PipelineState; map: Map<string, Buildset> } {
  return {
    state: { pipeline: 'deploy', queue: records.map((b) => b.id) },
    map: new Map(records.map((b) => [b.id, b])),
  };
}

describe('enqueue', () => {
  it('appends, and a replay changes nothing', () => {
    const { state, map } = world(make('b1'));
    const b2 = make('b2');
    map.set('b2', b2);
    const change = enqueue(state, 'serial', b2, map, 10);
    expect(change).toEqual({
      state: { pipeline: 'deploy', queue: ['b1', 'b2'] },
      changed: [],
      actions: [],
    });
    const again = enqueue(change.state, 'serial', b2, map, 11);
    expect(again.state).toBe(change.state);
    expect(again.changed).toEqual([]);
  });

  it('refuses a buildset of another pipeline', () => {
    const bs = { ...make('b1'), pipeline: 'periodic' };
    expect(() => enqueue(emptyPipelineState('deploy'), 'serial', bs, new Map(), 1)).toThrow(
      WrongBuildsetError,
    );
  });

  it('supercedent: a newer buildset cancels the older queued one for the same ref', () => {
    const { state, map } = world(
      make('b1', 'running'),
      make('b2'),
      make('b3', 'queued', 'refs/heads/stable'),
    );
    const change = enqueue(state, 'supercedent', make('b4'), map, 50);
    expect(change.state.queue).toEqual(['b1', 'b2', 'b3', 'b4']);
    expect(change.changed.map((b) => [b.id, b.state, b.result, b.message])).toEqual([
      ['b2', 'done', 'CANCELED', 'superseded by b4'],
    ]);
    expect(change.changed[0]?.jobs[0]?.reason).toBe('superseded by b4');
    expect(change.actions).toEqual([
      { type: 'release-semaphores', job: 'a', holder: null, semaphores: [] },
    ]);
  });

  it('supercedent: a running buildset is never replaced', () => {
    const { state, map } = world(make('b1', 'checkout'), make('b2', 'running'));
    const change = enqueue(state, 'supercedent', make('b3'), map, 50);
    expect(change.changed).toEqual([]);
    expect(change.state.queue).toEqual(['b1', 'b2', 'b3']);
  });

  it('serial and independent replace nothing', () => {
    for (const manager of ['serial', 'independent'] as const) {
      const { state, map } = world(make('b1'));
      expect(enqueue(state, manager, make('b2'), map, 1).changed).toEqual([]);
    }
  });
});

describe('startable', () => {
  it('serial: the first queued one, only when none is checking out or running', () => {
    let w = world(make('b1'), make('b2'));
    expect(startable(w.state, 'serial', w.map)).toEqual(['b1']);
    w = world(make('b0', 'done'), make('b1', 'checkout'), make('b2'));
    expect(startable(w.state, 'serial', w.map)).toEqual([]);
    w = world(make('b2'), make('b1', 'running'));
    expect(startable(w.state, 'serial', w.map)).toEqual([]);
    w = world(make('b0', 'done'), make('b1'), make('b2'));
    expect(startable(w.state, 'serial', w.map)).toEqual(['b1']);
  });

  it('supercedent: one lane per ref', () => {
    const w = world(
      make('b1', 'running'),
      make('b2'),
      make('s1', 'queued', 'refs/heads/stable'),
      make('s2', 'queued', 'refs/heads/stable'),
    );
    expect(startable(w.state, 'supercedent', w.map)).toEqual(['s1']);
  });

  it('independent: every queued one', () => {
    const w = world(make('b1', 'running'), make('b2'), make('b3', 'done'), make('b4'));
    expect(startable(w.state, 'independent', w.map)).toEqual(['b2', 'b4']);
  });

  it('throws when the queue names a buildset without a record', () => {
    const w = world(make('b1'));
    expect(() => startable({ ...w.state, queue: ['b1', 'gone'] }, 'serial', w.map)).toThrow(
      MissingBuildsetError,
    );
  });
});

describe('promote', () => {
  it('moves a queued buildset to the front, so serial starts it next', () => {
    const w = world(make('b1', 'running'), make('b2'), make('b3'));
    const state = promote(w.state, 'b3', w.map);
    expect(state.queue).toEqual(['b3', 'b1', 'b2']);
    expect(startable(state, 'serial', w.map)).toEqual([]);
    const after = new Map(w.map).set('b1', make('b1', 'done'));
    expect(startable(state, 'serial', after)).toEqual(['b3']);
    expect(promote(state, 'b3', w.map)).toBe(state);
  });

  it('leaves the queue alone for an unknown, started or finished buildset', () => {
    const w = world(make('b1', 'running'), make('b2', 'done'), make('b3'));
    expect(promote(w.state, 'nope', w.map)).toBe(w.state);
    expect(promote(w.state, 'b1', w.map)).toBe(w.state);
    expect(promote(w.state, 'b2', w.map)).toBe(w.state);
  });
});

describe('dequeue and removeDone', () => {
  it('cancels a running buildset, which stays listed until removed', () => {
    const w = world(make('b1', 'running'), make('b2'));
    const change = dequeue(w.state, 'b1', 'dequeued by bob', w.map, 70);
    expect(change.state).toBe(w.state);
    expect(change.changed.map((b) => [b.id, b.result, b.message])).toEqual([
      ['b1', 'CANCELED', 'dequeued by bob'],
    ]);
    const after = new Map(w.map).set('b1', change.changed[0] as Buildset);
    expect(dequeue(w.state, 'b1', 'again', after, 71).changed).toEqual([]);
    const removed = removeDone(w.state, after);
    expect(removed).toEqual({ state: { pipeline: 'deploy', queue: ['b2'] }, removed: ['b1'] });
    expect(removeDone(removed.state, after).state).toBe(removed.state);
  });

  it('changes nothing for an id no longer in the queue (a replayed dequeue)', () => {
    const w = world(make('b1'));
    expect(dequeue(w.state, 'gone', 'x', w.map, 1)).toEqual({
      state: w.state,
      changed: [],
      actions: [],
    });
  });
});
