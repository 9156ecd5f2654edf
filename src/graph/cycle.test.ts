import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { findCycle } from './cycle.js';

const graph = (entries: Record<string, string[]>): Map<string, string[]> =>
  new Map(Object.entries(entries));

/** Checks that `cycle` is closed and follows real edges. */
function assertRealCycle(edges: ReadonlyMap<string, readonly string[]>, cycle: readonly string[]) {
  expect(cycle.length).toBeGreaterThanOrEqual(2);
  expect(cycle[0]).toBe(cycle[cycle.length - 1]);
  for (let i = 0; i + 1 < cycle.length; i++) {
    expect(edges.get(cycle[i]!)).toContain(cycle[i + 1]);
  }
  expect(new Set(cycle.slice(1)).size).toBe(cycle.length - 1);
}

describe('findCycle', () => {
  it('returns undefined for an acyclic graph', () => {
    expect(findCycle(graph({ a: ['b', 'c'], b: ['c'], c: [] }))).toBeUndefined();
    expect(findCycle(new Map())).toBeUndefined();
  });

  it('finds a three-job cycle', () => {
    expect(findCycle(graph({ a: ['b'], b: ['c'], c: ['a'] }))).toEqual(['a', 'b', 'c', 'a']);
  });

  it('finds a self-dependency', () => {
    expect(findCycle(graph({ a: [], b: ['b'] }))).toEqual(['b', 'b']);
  });

  it('reports only the cycle, not the path leading into it', () => {
    expect(findCycle(graph({ x: ['a'], a: ['b'], b: ['a'] }))).toEqual(['a', 'b', 'a']);
  });

  it('ignores edges to unknown nodes', () => {
    expect(findCycle(graph({ a: ['ghost'], b: ['a', 'ghost'] }))).toBeUndefined();
  });

  it('is deterministic for the same input', () => {
    const g = graph({ a: ['b', 'c'], b: ['a'], c: ['a'] });
    expect(findCycle(g)).toEqual(['a', 'b', 'a']);
    expect(findCycle(g)).toEqual(findCycle(graph({ a: ['b', 'c'], b: ['a'], c: ['a'] })));
  });

  it('handles a chain of 100000 nodes without recursion', () => {
    const edges = new Map<string, string[]>();
    const n = 100_000;
    for (let i = 0; i < n; i++) edges.set(`j${i}`, i + 1 < n ? [`j${i + 1}`] : []);
    expect(findCycle(edges)).toBeUndefined();
    edges.set(`j${n - 1}`, ['j0']);
    const cycle = findCycle(edges);
    expect(cycle?.length).toBe(n + 1);
    expect(cycle?.[0]).toBe('j0');
  });

  it('property: a DAG has no cycle; adding a back edge creates a real one', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 30 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 80 }),
              fc.tuple(fc.nat(n - 1), fc.nat(n - 1)),
            ),
          ),
        ([n, pairs, [x, y]]) => {
          const edges = new Map<string, string[]>();
          for (let i = 0; i < n; i++) edges.set(`n${i}`, []);
          // Only point from a higher to a lower index: acyclic by construction.
          for (const [a, b] of pairs) if (a > b) edges.get(`n${a}`)!.push(`n${b}`);
          expect(findCycle(edges)).toBeUndefined();
          // Close a path: an edge from lower to higher when higher reaches lower.
          const lo = Math.min(x, y);
          const hi = Math.max(x, y);
          edges.get(`n${lo}`)!.push(`n${hi}`);
          const cycle = findCycle(edges);
          if (cycle !== undefined) assertRealCycle(edges, cycle);
          if (lo === hi) expect(cycle).toEqual([`n${lo}`, `n${lo}`]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
