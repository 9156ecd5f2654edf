/** loadLayout against the real file system: directory expansion, ordering, read errors. */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLayout, pipelineJobs } from '../../src/config/index.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'drawbridge-layout-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function put(rel: string, text: string): Promise<string> {
  const path = join(root, rel);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
  return path;
}

describe('loadLayout', () => {
  it('loads a directory recursively in sorted path order, *.yaml and *.yml only', async () => {
    await put('zuul.d/b/jobs.yaml', '- job: {name: app, vars: {from: b}}\n');
    await put('zuul.d/a.yml', '- job: {name: app, run: app.yaml, vars: {from: a}}\n');
    await put('zuul.d/notes.txt', 'this: [is not: yaml\n');
    await put(
      'zuul.d/z.yaml',
      '- pipeline: {name: deploy, manager: serial}\n- project: {deploy: {jobs: [app]}}\n',
    );
    const r = await loadLayout([join(root, 'zuul.d')]);
    expect(r.errors).toEqual([]);
    const [app] = pipelineJobs(r.layout!, 'deploy');
    // a.yml is read first, so it holds the first definition and b/jobs.yaml the variant.
    expect(app!.source).toEqual({ file: join(root, 'zuul.d/a.yml'), line: 1 });
    expect(app!.vars).toEqual({ from: 'b' });
    expect(r.warnings.map((w) => w.file)).toEqual([join(root, 'zuul.d/b/jobs.yaml')]);
  });

  it('takes files and directories together, in the order given', async () => {
    const pipelines = await put('pipelines.yaml', '- pipeline: {name: deploy, manager: serial}\n');
    await put(
      'jobs/one.yaml',
      '- job: {name: one, run: one.yaml}\n- project: {deploy: {jobs: [one]}}\n',
    );
    const r = await loadLayout([pipelines, join(root, 'jobs')]);
    expect(r.errors).toEqual([]);
    expect(pipelineJobs(r.layout!, 'deploy').map((j) => j.name)).toEqual(['one']);
  });

  it('follows symlinked layout files and reads a file reached twice only once', async () => {
    const shared = await put(
      'shared/pipelines.yaml',
      '- pipeline: {name: deploy, manager: serial}\n',
    );
    await put(
      'zuul.d/jobs.yaml',
      '- job: {name: one, run: one.yaml}\n- project: {deploy: {jobs: [one]}}\n',
    );
    await symlink(shared, join(root, 'zuul.d/pipelines.yaml'));
    const jobs = join(root, 'zuul.d/jobs.yaml');
    const r = await loadLayout([join(root, 'zuul.d'), jobs]);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.layout!.pipelines.get('deploy')!.source.file).toBe(
      join(root, 'zuul.d/pipelines.yaml'),
    );
  });

  it('reports errors from every file at once', async () => {
    await put('d/1.yaml', '- job:\n    name: a\n   run: x\n');
    await put('d/2.yaml', '- job: {name: b, run: b.yaml, attempts: -1}\n');
    const r = await loadLayout([join(root, 'd')]);
    expect(r.layout).toBeUndefined();
    expect(r.errors.map((e) => [e.file, e.line, e.code])).toEqual([
      [join(root, 'd/1.yaml'), 3, 'DRAWBRIDGE_ERR_CONFIG_YAML'],
      [join(root, 'd/2.yaml'), 1, 'DRAWBRIDGE_ERR_CONFIG_TYPE'],
    ]);
  });

  it('reports a missing path and an empty directory without a stack trace', async () => {
    await mkdir(join(root, 'empty'));
    const missing = join(root, 'nope.yaml');
    const r = await loadLayout([missing, join(root, 'empty')]);
    expect(r.layout).toBeUndefined();
    expect(r.errors).toEqual([
      {
        code: 'DRAWBRIDGE_ERR_CONFIG_READ',
        severity: 'error',
        file: missing,
        line: 0,
        message: 'cannot read layout: no such file or directory',
      },
      {
        code: 'DRAWBRIDGE_ERR_CONFIG_READ',
        severity: 'error',
        file: join(root, 'empty'),
        line: 0,
        message: `cannot read layout: no *.yaml or *.yml files under ${join(root, 'empty')}`,
      },
    ]);
  });
});
