import { describe, expect, it } from '@jest/globals';
import { buildsetCodec } from '../model/buildset.js';
import { createBuildset } from './create.js';
import { createInput, job } from './test-fixtures.js';

describe('createBuildset', () => {
  it('freezes every job with its edges and execution attributes when no files are given', () => {
    const jobs = [
      job('base', [], { semaphores: ['db'], timeoutMs: 5000, attempts: 2, vars: { x: 1 } }),
      job('web', ['base', '~absent']),
    ];
    const result = createBuildset(createInput(jobs));
    if (result.kind !== 'created') throw new Error(result.kind);
    const bs = result.buildset;
    expect(bs.state).toBe('queued');
    expect(bs.result).toBeNull();
    expect(bs.graph.jobs).toEqual([
      {
        name: 'base',
        dependencies: [],
        droppedSoftDependencies: [],
        playbook: 'playbooks/base.yaml',
        vars: { x: 1 },
        semaphores: ['db'],
        timeoutMs: 5000,
        attempts: 2,
      },
      {
        name: 'web',
        dependencies: ['base'],
        droppedSoftDependencies: ['absent'],
        playbook: 'playbooks/web.yaml',
        vars: {},
        semaphores: [],
        timeoutMs: null,
        attempts: 3,
      },
    ]);
    expect(bs.jobs.map((j) => [j.name, j.state, j.attempt])).toEqual([
      ['base', 'WAITING', 0],
      ['web', 'WAITING', 0],
    ]);
    expect(bs.checkout.state).toBe('WAITING');
    // What is created must be what the codec accepts.
    expect(buildsetCodec.decode(buildsetCodec.encode(bs))).toEqual(bs);
  });

  it('copies vars deeply, so later changes to the layout do not reach the buildset', () => {
    const vars = { nested: { list: [1, 2] } };
    const result = createBuildset(createInput([job('base', [], { vars })]));
    vars.nested.list.push(3);
    if (result.kind !== 'created') throw new Error(result.kind);
    expect(result.buildset.graph.jobs[0]?.vars).toEqual({ nested: { list: [1, 2] } });
  });

  it('selects by changed files and keeps the selection messages', () => {
    const jobs = [
      job('base', [], { files: ['roles/base/'] }),
      job('docs', [], { files: ['docs/'] }),
    ];
    const result = createBuildset(createInput(jobs, { changedFiles: ['roles/base/main.yaml'] }));
    if (result.kind !== 'created') throw new Error(result.kind);
    expect(result.buildset.graph.jobs.map((j) => j.name)).toEqual(['base']);
    expect(result.buildset.graph.selection.map((s) => [s.job, s.selected])).toEqual([
      ['base', true],
      ['docs', false],
    ]);
    expect(result.buildset.graph.selection[0]?.message).toMatch(/roles\/base\/main\.yaml/);
  });

  it('reports nothing to do when the change selects no job', () => {
    const result = createBuildset(
      createInput([job('docs', [], { files: ['docs/'] })], { changedFiles: ['README.md'] }),
    );
    expect(result.kind).toBe('nothing-to-do');
    if (result.kind !== 'nothing-to-do') return;
    expect(result.selection).toEqual([
      { job: 'docs', selected: false, message: expect.any(String) as unknown },
    ]);
  });

  it('ends at once in ERROR when a hard dependency was not selected', () => {
    const jobs = [job('base', [], { files: ['roles/base/'] }), job('web', ['base'])];
    const result = createBuildset(createInput(jobs, { changedFiles: ['site.yaml'], now: 7 }));
    if (result.kind !== 'created') throw new Error(result.kind);
    const bs = result.buildset;
    expect(bs.state).toBe('done');
    expect(bs.result).toBe('ERROR');
    expect(bs.endedAt).toBe(7);
    expect(bs.message).toMatch(/^configuration error: job web hard-depends on base/);
    expect(bs.jobs.map((j) => [j.name, j.state])).toEqual([['web', 'SKIPPED']]);
    expect(bs.jobs[0]?.reason).toBe(`skipped: ${bs.message}`);
    expect(bs.checkout.state).toBe('SKIPPED');
    expect(buildsetCodec.decode(buildsetCodec.encode(bs))).toEqual(bs);
  });

  it('ends at once in ERROR on a dependency cycle', () => {
    const result = createBuildset(createInput([job('a', ['b']), job('b', ['a'])]));
    if (result.kind !== 'created') throw new Error(result.kind);
    expect(result.buildset.result).toBe('ERROR');
    expect(result.buildset.message).toMatch(/cycle/);
  });

  it('ends at once in ERROR, with no jobs, on a file pattern JavaScript cannot run', () => {
    const jobs = [job('a', [], { files: ['(?x)a'] })];
    const result = createBuildset(createInput(jobs, { changedFiles: ['a'] }));
    if (result.kind !== 'created') throw new Error(result.kind);
    expect(result.buildset.state).toBe('done');
    expect(result.buildset.result).toBe('ERROR');
    expect(result.buildset.message).toMatch(/pattern/);
    expect(result.buildset.jobs).toEqual([]);
  });
});
