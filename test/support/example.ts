/** Shared by the tests of the example repository and of the layout generator. */
import { expect } from '@jest/globals';
import { execa } from 'execa';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadLayoutFromSources, pipelineJobs } from '../../src/config/index.js';
import type { Layout, ResolvedJob } from '../../src/config/index.js';
import { freezeGraph } from '../../src/graph/index.js';

export const root = new URL('../..', import.meta.url).pathname;
export const example = join(root, 'config/example');

export function loadGenerated(files: readonly { path: string; text: string }[]): Layout {
  const sources = files
    .filter((f) => f.path.startsWith('zuul.d/'))
    .map((f) => ({ file: f.path, text: f.text }));
  const result = loadLayoutFromSources(sources);
  expect(result.errors.map((e) => e.message)).toEqual([]);
  expect(result.warnings.map((e) => e.message)).toEqual([]);
  return result.layout!;
}

/** Freezes `pipeline` for a change of one file; returns the selected job names. */
export function selectedFor(layout: Layout, file: string, pipeline = 'deploy'): string[] {
  const graph = freezeGraph(pipelineJobs(layout, pipeline), { kind: 'files', files: [file] });
  expect({ file, errors: graph.errors.map((e) => e.message) }).toEqual({ file, errors: [] });
  return graph.jobs.map((j) => j.name);
}

export function hardEdges(jobs: readonly ResolvedJob[]): [string, string][] {
  return jobs.flatMap((j) =>
    j.dependencies.filter((d) => !d.soft).map((d): [string, string] => [j.name, d.name]),
  );
}

export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)));
}

export async function ansible(cwd: string, args: string[]) {
  return execa('ansible-playbook', ['-i', 'inventory', ...args], {
    cwd,
    reject: false,
    timeout: 120_000,
    env: { ANSIBLE_NOCOLOR: '1', ANSIBLE_RETRY_FILES_ENABLED: '0' },
  });
}

export function recordLines(file: string): string[][] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' '));
}

export function timerOf(layout: Layout, pipeline: string): string {
  const t = layout.pipelines.get(pipeline)?.triggers.find((x) => x.kind === 'timer');
  if (t?.kind !== 'timer') throw new Error(`${pipeline} has no timer`);
  return t.time;
}
