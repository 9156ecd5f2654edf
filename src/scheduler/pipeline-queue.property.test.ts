/**
 * Properties of the pipeline queue under random operations: a shell that
 * starts exactly what `startable` allows never runs two buildsets at once in
 * a serial pipeline (or for one ref in a supercedent one), never holds two
 * queued buildsets for one ref under supercedent, and never loses a buildset.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { PipelineManager } from '../config/index.js';
import type { Buildset, PipelineState } from '../model/buildset.js';
import { applyInput } from './buildset-machine.js';
import {
  dequeue,
  emptyPipelineState,
  enqueue,
  promote,
  removeDone,
  startable,
  type QueueChange,
} from './pipeline-queue.js';
import { buildset, completion, job } from './test-fixtures.js';

const REFS = ['refs/heads/main', 'refs/heads/stable'];
const arbOps = fc.array(fc.record({ op: fc.nat(5), pick: fc.nat() }), { maxLength: 60 });
const arbManager = fc.constantFrom<PipelineManager>('serial', 'supercedent', 'independent');

class QueueSim {
  state: PipelineState = emptyPipelineState('deploy');
  readonly records = new Map<string, Buildset>();
  readonly history = new Set<string>();
  next = 0;
  now = 1000;

  constructor(readonly manager: PipelineManager) {}

  write(change: QueueChange): void {
    this.state = change.state;
    for (const bs of change.changed) this.records.set(bs.id, bs);
  }

  step(op: number, pick: number): void {
    this.now += 10;
    const ids = this.state.queue;
    const some = ids[pick % Math.max(1, ids.length)];
    if (op === 0) {
      const bs = buildset([job('a')], {
        id: `b${this.next++}`,
        ref: REFS[pick % 2],
        now: this.now,
      });
      this.records.set(bs.id, bs);
      this.write(enqueue(this.state, this.manager, bs, this.records, this.now));
    } else if (op === 1) {
      for (const id of startable(this.state, this.manager, this.records)) {
        const t = applyInput(
          this.records.get(id)!,
          { type: 'start', requestId: `co-${id}` },
          this.now,
        );
        this.records.set(id, t.buildset);
      }
    } else if (op === 2 && some !== undefined) {
      this.finish(some);
    } else if (op === 3 && some !== undefined) {
      this.write(dequeue(this.state, some, 'dequeued', this.records, this.now));
    } else if (op === 4 && some !== undefined) {
      this.state = promote(this.state, some, this.records);
    } else if (op === 5) {
      const { state, removed } = removeDone(this.state, this.records);
      for (const id of removed) {
        expect(this.records.get(id)?.state).toBe('done');
        this.history.add(id);
      }
      this.state = state;
    }
  }

  /** A started buildset's checkout fails: the quickest way to an end. */
  finish(id: string): void {
    const bs = this.records.get(id)!;
    if (bs.state !== 'checkout') return;
    const t = applyInput(bs, completion(bs, 'checkout', 'FAILURE'), this.now);
    this.records.set(id, t.buildset);
  }

  check(): void {
    const listed = this.state.queue.map((id) => this.records.get(id)!);
    expect(new Set(this.state.queue).size).toBe(this.state.queue.length);
    const active = listed.filter((b) => b.state === 'checkout' || b.state === 'running');
    const queued = listed.filter((b) => b.state === 'queued');
    const perRef = (list: Buildset[]) =>
      Math.max(0, ...REFS.map((r) => list.filter((b) => b.ref === r).length));
    if (this.manager === 'serial') expect(active.length).toBeLessThanOrEqual(1);
    if (this.manager === 'supercedent') {
      expect(perRef(active)).toBeLessThanOrEqual(1);
      expect(perRef(queued)).toBeLessThanOrEqual(1);
    }
    // Every buildset ever created is listed or in history, never both.
    for (const id of this.records.keys())
      expect(this.state.queue.includes(id) !== this.history.has(id)).toBe(true);
    if (this.manager !== 'supercedent')
      for (const bs of this.records.values()) expect(bs.message ?? '').not.toMatch(/superseded/);
  }
}

describe('pipeline queue properties', () => {
  it('keeps each manager’s rules under random operations', () => {
    fc.assert(
      fc.property(arbManager, arbOps, (manager, ops) => {
        const sim = new QueueSim(manager);
        for (const { op, pick } of ops) {
          sim.step(op, pick);
          sim.check();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('serial starts buildsets in queue order when none is promoted', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), (n) => {
        const sim = new QueueSim('serial');
        for (let i = 0; i < n; i++) sim.step(0, 0);
        const started: string[] = [];
        for (let i = 0; i < n; i++) {
          sim.step(1, 0);
          const now = sim.state.queue.find((id) => sim.records.get(id)?.state === 'checkout');
          if (now !== undefined) started.push(now);
          sim.finish(now ?? '');
        }
        expect(started).toEqual(Array.from({ length: n }, (_, i) => `b${i}`));
      }),
    );
  });
});
