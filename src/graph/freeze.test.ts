import { describe, expect, it } from '@jest/globals';
import { freezeGraph } from './freeze.js';
import { DuplicateJobError, GraphCycleError, HardDependencyError } from './errors.js';
import type { GraphJob, Selection } from './types.js';

interface Spec {
  hard?: string[];
  soft?: string[];
  files?: string[];
  irrelevant?: string[];
}

function job(name: string, spec: Spec = {}): GraphJob {
  return {
    name,
    dependencies: [
      ...(spec.hard ?? []).map((n) => ({ name: n, soft: false })),
      ...(spec.soft ?? []).map((n) => ({ name: n, soft: true })),
    ],
    files: spec.files ?? [],
    irrelevantFiles: spec.irrelevant ?? [],
  };
}

const ALL: Selection = { kind: 'all' };
const changed = (...files: string[]): Selection => ({ kind: 'files', files });

describe('freezeGraph', () => {
  it('keeps every job and edge for a timer buildset', () => {
    const g = freezeGraph([job('base'), job('dns', { hard: ['base'], files: ['x'] })], ALL);
    expect(g.errors).toEqual([]);
    expect(g.jobs).toEqual([
      { name: 'base', dependencies: [], droppedSoftDependencies: [] },
      { name: 'dns', dependencies: ['base'], droppedSoftDependencies: [] },
    ]);
    expect(g.selection.map((r) => r.reason.kind)).toEqual(['selection-all', 'selection-all']);
  });

  it('records a reason for every input job, selected or not, in input order', () => {
    const g = freezeGraph(
      [
        job('mail', { files: ['roles/mail/'] }),
        job('base'),
        job('docs', { irrelevant: ['roles/'] }),
      ],
      changed('roles/dns/tasks.yaml'),
    );
    expect(g.selection.map((r) => [r.job, r.selected, r.reason.kind])).toEqual([
      ['mail', false, 'no-file-matched'],
      ['base', true, 'no-matchers'],
      ['docs', false, 'all-files-irrelevant'],
    ]);
    expect(g.jobs.map((j) => j.name)).toEqual(['base']);
  });

  it('drops a soft dependency on an unselected job and says so', () => {
    const g = freezeGraph(
      [job('build', { files: ['src/'] }), job('deploy', { soft: ['build'] })],
      changed('inventory/hosts'),
    );
    expect(g.errors).toEqual([]);
    expect(g.jobs).toEqual([
      { name: 'deploy', dependencies: [], droppedSoftDependencies: ['build'] },
    ]);
  });

  it('drops a soft dependency on a job the pipeline does not define', () => {
    const g = freezeGraph([job('deploy', { soft: ['ghost'] })], ALL);
    expect(g.errors).toEqual([]);
    expect(g.jobs[0]?.droppedSoftDependencies).toEqual(['ghost']);
  });

  it('keeps a soft dependency on a selected job as an ordinary edge', () => {
    const g = freezeGraph(
      [job('build', { files: ['src/'] }), job('deploy', { soft: ['build'] })],
      changed('src/main.c'),
    );
    expect(g.jobs[1]).toEqual({
      name: 'deploy',
      dependencies: ['build'],
      droppedSoftDependencies: [],
    });
  });

  it('reports a hard dependency on an unselected job as a buildset error', () => {
    const g = freezeGraph(
      [job('build', { files: ['src/'] }), job('deploy', { hard: ['build'] })],
      changed('inventory/hosts'),
    );
    expect(g.errors).toHaveLength(1);
    const err = g.errors[0] as HardDependencyError;
    expect(err).toBeInstanceOf(HardDependencyError);
    expect(err.code).toBe('DRAWBRIDGE_ERR_GRAPH_HARD_DEPENDENCY');
    expect([err.job, err.dependency, err.dependencyStatus]).toEqual([
      'deploy',
      'build',
      'not-selected',
    ]);
    expect(err.message).toContain('deploy hard-depends on build');
    expect(g.jobs).toEqual([{ name: 'deploy', dependencies: [], droppedSoftDependencies: [] }]);
  });

  it('reports a hard dependency on an undefined job', () => {
    const g = freezeGraph([job('deploy', { hard: ['ghost'] })], ALL);
    const err = g.errors[0] as HardDependencyError;
    expect([err.job, err.dependency, err.dependencyStatus]).toEqual([
      'deploy',
      'ghost',
      'not-defined',
    ]);
  });

  it('ignores hard dependencies of jobs that are not selected themselves', () => {
    const g = freezeGraph([job('deploy', { hard: ['ghost'], files: ['x'] })], changed('y'));
    expect(g.errors).toEqual([]);
    expect(g.jobs).toEqual([]);
  });

  it('reports every broken hard dependency, in input order', () => {
    const g = freezeGraph([job('a', { hard: ['x', 'y'] }), job('b', { hard: ['z'] })], ALL);
    expect(g.errors.map((e) => (e as HardDependencyError).dependency)).toEqual(['x', 'y', 'z']);
  });

  it('merges repeated dependencies; a hard mention wins over a soft one', () => {
    const g = freezeGraph(
      [
        job('a'),
        job('b', { hard: ['a', 'a'], soft: ['a'] }),
        job('c', { soft: ['ghost', 'ghost'], hard: ['ghost'] }),
      ],
      ALL,
    );
    expect(g.jobs[1]?.dependencies).toEqual(['a']);
    expect(g.errors.map((e) => e.message)).toEqual([
      'job c hard-depends on ghost, which is not a job of this pipeline',
    ]);
  });

  it('keeps dependencies in declared order', () => {
    const g = freezeGraph([job('a'), job('b'), job('c', { soft: ['b'], hard: ['a'] })], ALL);
    expect(g.jobs[2]?.dependencies).toEqual(['a', 'b']);
  });

  it('reports a cycle among selected jobs', () => {
    const g = freezeGraph(
      [job('a', { hard: ['c'] }), job('b', { hard: ['a'] }), job('c', { soft: ['b'] })],
      ALL,
    );
    expect(g.errors).toHaveLength(1);
    const err = g.errors[0] as GraphCycleError;
    expect(err).toBeInstanceOf(GraphCycleError);
    expect(err.cycle).toEqual(['a', 'c', 'b', 'a']);
  });

  it('does not report a cycle broken by deselection', () => {
    const g = freezeGraph(
      [job('a', { soft: ['b'] }), job('b', { soft: ['a'], files: ['b/'] })],
      changed('a/x'),
    );
    expect(g.errors).toEqual([]);
  });

  it('throws on duplicate job names', () => {
    expect(() => freezeGraph([job('a'), job('a')], ALL)).toThrow(DuplicateJobError);
  });

  it('returns deeply frozen data', () => {
    const g = freezeGraph([job('a'), job('b', { hard: ['a'] })], changed());
    expect(Object.isFrozen(g)).toBe(true);
    expect(Object.isFrozen(g.jobs)).toBe(true);
    expect(Object.isFrozen(g.jobs[1]?.dependencies)).toBe(true);
    expect(Object.isFrozen(g.selection[0]?.reason)).toBe(true);
    expect(Object.isFrozen(g.errors)).toBe(true);
  });

  it('is deterministic', () => {
    const jobs = [job('a', { files: ['a'] }), job('b', { soft: ['a'] }), job('c', { hard: ['b'] })];
    expect(JSON.stringify(freezeGraph(jobs, changed('b')))).toBe(
      JSON.stringify(freezeGraph(jobs, changed('b'))),
    );
  });

  it('freezes 1000 jobs with matchers quickly', () => {
    const jobs: GraphJob[] = [];
    for (let i = 0; i < 1000; i++) {
      jobs.push(
        job(`job-${i}`, {
          hard: i > 0 ? [`job-${Math.floor(i / 2)}`] : [],
          soft: i > 2 ? [`job-${i - 3}`] : [],
          files: i % 3 === 0 ? [] : [`roles/r${i % 50}/`, 'inventory/'],
          irrelevant: ['docs/', '.*\\.md$'],
        }),
      );
    }
    const files = Array.from({ length: 40 }, (_, k) => `roles/r${k}/tasks/main.yaml`);
    freezeGraph(jobs, changed(...files)); // warm the pattern cache, as a running daemon would
    const started = performance.now();
    const g = freezeGraph(jobs, changed(...files));
    const elapsed = performance.now() - started;
    expect(g.selection).toHaveLength(1000);
    // Generous bound for a shared CI machine; locally this takes a few ms.
    expect(elapsed).toBeLessThan(100);
  });
});
