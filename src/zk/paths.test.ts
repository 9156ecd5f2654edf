import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ZkPaths, segment, rootPath } from './paths.js';
import { ZkError, ZkInvalidNameError } from './errors.js';

const paths = new ZkPaths('/prod/drawbridge');

describe('ZkPaths', () => {
  it('builds the documented tree under the root', () => {
    expect(paths.component('executor', 'exec-1.example.org')).toBe(
      '/prod/drawbridge/components/executor/exec-1.example.org',
    );
    expect(paths.pipelineLock('deploy')).toBe('/prod/drawbridge/pipelines/deploy/lock');
    expect(paths.pipelineResultEvents('deploy')).toBe(
      '/prod/drawbridge/pipelines/deploy/events/result',
    );
    expect(paths.buildset('deploy', 'b5e1')).toBe(
      '/prod/drawbridge/pipelines/deploy/buildsets/b5e1',
    );
    expect(paths.buildLock('r-17')).toBe('/prod/drawbridge/builds/locks/r-17');
    expect(paths.timerSlot('hourly', '20261123T1800Z')).toBe(
      '/prod/drawbridge/timers/hourly/20261123T1800Z',
    );
    expect(paths.layoutVersion('42')).toBe('/prod/drawbridge/layout/versions/42');
    expect(new ZkPaths().election('timers')).toBe('/drawbridge/election/timers');
  });

  it('lists unique startup directories, all under the root', () => {
    const dirs = paths.directories();
    expect(new Set(dirs).size).toBe(dirs.length);
    for (const d of dirs) expect(d.startsWith('/prod/drawbridge/')).toBe(true);
  });

  it('refuses names that could escape or collide', () => {
    for (const bad of [
      '',
      '.',
      '..',
      'a/b',
      '../x',
      '_c_x',
      '-x',
      'a b',
      'x\0',
      'é',
      'a'.repeat(101),
    ]) {
      expect(() => paths.pipeline(bad)).toThrow(ZkInvalidNameError);
    }
    expect(() => paths.components('db' as 'web')).toThrow(ZkInvalidNameError);
  });

  it('validates the root', () => {
    for (const bad of ['', '/', 'drawbridge', '/a/', '/a//b', '/a/../b', '/zookeeper']) {
      expect(() => rootPath(bad)).toThrow(ZkError);
    }
    expect(rootPath('/a/b-c')).toBe('/a/b-c');
  });

  it('any accepted name is exactly one plain segment below its parent', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (name) => {
        let ok: string;
        try {
          ok = segment('job', name);
        } catch (e) {
          expect(e).toBeInstanceOf(ZkInvalidNameError);
          return;
        }
        const p = paths.semaphore(ok);
        expect(p.split('/')).toEqual([...paths.semaphores().split('/'), name]);
        expect(name).not.toMatch(/^\.|\/|^_/);
      }),
      { numRuns: 2000 },
    );
  });
});
