import { describe, expect, it } from '@jest/globals';
import { GraphCycleError, InvalidDurationError } from './errors.js';
import { freezeGraph } from './freeze.js';
import type { FrozenGraph } from './freeze.js';
import { criticalPath, durationsFromSeconds, topologicalLevels } from './schedule.js';

function graph(deps: Record<string, string[]>): FrozenGraph {
  const jobs = Object.entries(deps).map(([name, parents]) => ({
    name,
    dependencies: parents.map((p) => ({ name: p, soft: false })),
    files: [],
    irrelevantFiles: [],
  }));
  return freezeGraph(jobs, { kind: 'all' });
}

const minutes = (m: Record<string, number>) => (job: string) => (m[job] ?? 0) * 60_000;

describe('topologicalLevels', () => {
  it('puts each job one level below its deepest dependency', () => {
    const g = graph({ web: ['tls', 'base'], tls: ['dns'], dns: ['base'], base: [], backup: [] });
    expect(topologicalLevels(g)).toEqual([['base', 'backup'], ['dns'], ['tls'], ['web']]);
  });

  it('returns no levels for an empty graph', () => {
    expect(topologicalLevels(graph({}))).toEqual([]);
  });

  it('throws a GraphCycleError on a cyclic graph', () => {
    const g = graph({ a: ['b'], b: ['a'], c: [] });
    expect(() => topologicalLevels(g)).toThrow(GraphCycleError);
    try {
      topologicalLevels(g);
    } catch (e) {
      expect((e as GraphCycleError).cycle).toEqual(['a', 'b', 'a']);
    }
  });

  it('copes with a chain of 20000 jobs', () => {
    const deps: Record<string, string[]> = {};
    for (let i = 0; i < 20_000; i++) deps[`j${i}`] = i === 0 ? [] : [`j${i - 1}`];
    const levels = topologicalLevels(graph(deps));
    expect(levels).toHaveLength(20_000);
    expect(levels[19_999]).toEqual(['j19999']);
  });
});

describe('criticalPath', () => {
  const g = graph({ base: [], dns: ['base'], mail: ['base'], tls: ['dns', 'mail'], backup: [] });

  it('follows the longest chain of durations', () => {
    const r = criticalPath(g, minutes({ base: 2, dns: 1, mail: 5, tls: 3, backup: 9 }));
    expect(r).toEqual({ path: ['base', 'mail', 'tls'], makespanMs: 10 * 60_000 });
  });

  it('can be a single long job', () => {
    const r = criticalPath(g, minutes({ base: 1, dns: 1, mail: 1, tls: 1, backup: 30 }));
    expect(r).toEqual({ path: ['backup'], makespanMs: 30 * 60_000 });
  });

  it('breaks ties by declared dependency order, then input order', () => {
    const r = criticalPath(g, () => 1000);
    expect(r).toEqual({ path: ['base', 'dns', 'tls'], makespanMs: 3000 });
  });

  it('is empty for an empty graph', () => {
    expect(criticalPath(graph({}), () => 1)).toEqual({ path: [], makespanMs: 0 });
  });

  it('rejects negative and non-finite durations', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => criticalPath(g, (j) => (j === 'dns' ? bad : 1))).toThrow(InvalidDurationError);
    }
    try {
      criticalPath(g, (j) => (j === 'dns' ? -5 : 1));
    } catch (e) {
      expect(e).toMatchObject({
        job: 'dns',
        durationMs: -5,
        code: 'DRAWBRIDGE_ERR_GRAPH_BAD_DURATION',
      });
    }
  });

  it('throws a GraphCycleError on a cyclic graph', () => {
    expect(() => criticalPath(graph({ a: ['a'] }), () => 1)).toThrow(GraphCycleError);
  });
});

describe('durationsFromSeconds', () => {
  it('converts seconds to milliseconds and falls back to the default', () => {
    const d = durationsFromSeconds({ base: 90, dns: 0 }, 300);
    expect(d('base')).toBe(90_000);
    expect(d('dns')).toBe(0);
    expect(d('unknown')).toBe(300_000);
  });

  it('ignores inherited object keys', () => {
    const d = durationsFromSeconds({}, 5);
    expect(d('toString')).toBe(5000);
    expect(d('__proto__')).toBe(5000);
  });
});
