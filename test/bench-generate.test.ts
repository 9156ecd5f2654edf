/**
 * The benchmark layout generator (bench/generate.ts): it must load cleanly,
 * freeze for every single-file change, and really run in ansible.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BOOTSTRAP, LETSENCRYPT, generateLayout, seededRandom } from '../bench/generate.js';
import { loadLayout, pipelineJobs } from '../src/config/index.js';
import { parseCron } from '../src/cron/index.js';
import { freezeGraph } from '../src/graph/index.js';
import {
  ansible,
  example,
  hardEdges,
  loadGenerated,
  recordLines,
  selectedFor,
  timerOf,
} from './support/example.js';

describe('seededRandom', () => {
  it('repeats for a seed, differs across seeds, stays in [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBeGreaterThan(990);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });
});

describe('generateLayout', () => {
  it('rejects fewer than 3 jobs or a fraction', () => {
    expect(() => generateLayout({ jobs: 2 })).toThrow(RangeError);
    expect(() => generateLayout({ jobs: 10.5 })).toThrow(/integer >= 3/);
  });

  it('is deterministic for a seed and varies with it', () => {
    const a = generateLayout({ jobs: 120, seed: 5 });
    expect(generateLayout({ jobs: 120, seed: 5 })).toEqual(a);
    const b = generateLayout({ jobs: 120, seed: 6 });
    expect(b.files.map((f) => f.text)).not.toEqual(a.files.map((f) => f.text));
  });

  it.each([3, 4, 31, 60, 250])('%i jobs load cleanly and freeze in every pipeline', (jobs) => {
    for (const seed of [1, 2, 3]) {
      const g = generateLayout({ jobs, seed });
      const layout = loadGenerated(g.files);
      expect(pipelineJobs(layout, 'deploy').map((j) => j.name)).toEqual(g.jobs);
      expect(new Set(g.jobs).size).toBe(jobs);
      for (const p of ['deploy', 'periodic', 'hourly']) {
        const graph = freezeGraph(pipelineJobs(layout, p), { kind: 'all' });
        expect(graph.errors).toEqual([]);
        expect(graph.jobs.length).toBe(pipelineJobs(layout, p).length);
      }
    }
  });

  it('keeps hard chains consistent with file matchers for any one-file change', () => {
    const g = generateLayout({ jobs: 200, seed: 11 });
    const layout = loadGenerated(g.files);
    for (const job of pipelineJobs(layout, 'deploy')) {
      const file = job.playbook;
      expect(selectedFor(layout, file)).toContain(job.name);
    }
    expect(selectedFor(layout, 'docs/index.rst')).toEqual([]);
    expect(selectedFor(layout, 'inventory/hosts').length).toBeGreaterThan(3);
  });

  it('has the shape of an infra-prod deployment at 1000 jobs', () => {
    const g = generateLayout({ jobs: 1000, seed: 1 });
    const layout = loadGenerated(g.files);
    const deploy = pipelineJobs(layout, 'deploy');
    expect(deploy).toHaveLength(1000);
    const byName = new Map(deploy.map((j) => [j.name, j]));
    const services = deploy.filter((j) => j.name.startsWith('infra-prod-service-'));
    expect(services).toHaveLength(997);
    // Every service hangs off the bastion, directly or through letsencrypt.
    const hard = hardEdges(deploy);
    const serviceChains = hard.filter(([, to]) => to.startsWith('infra-prod-service-'));
    expect(serviceChains.length).toBeGreaterThan(50);
    expect(hard.filter(([, to]) => to === LETSENCRYPT).length).toBeGreaterThan(400);
    const softBetweenServices = deploy.flatMap((j) =>
      j.dependencies.filter((d) => d.soft && d.name.startsWith('infra-prod-service-')),
    );
    expect(softBetweenServices.length).toBeGreaterThan(100);
    expect(services.every((j) => j.files.length > 0)).toBe(true);
    expect(byName.get(BOOTSTRAP)?.irrelevantFiles).toEqual(['^docs/', '^README\\.md$']);
    // Semaphores are shared by a few jobs each; none serialises everything.
    const holders = new Map<string, number>();
    for (const j of deploy) for (const s of j.semaphores) holders.set(s, (holders.get(s) ?? 0) + 1);
    expect(holders.get('letsencrypt')).toBe(2);
    expect(holders.size).toBeGreaterThan(5);
    expect(Math.max(...holders.values())).toBeLessThan(50);
    const hourly = pipelineJobs(layout, 'hourly');
    expect(hourly.length).toBeGreaterThan(1);
    expect(hourly.length).toBeLessThan(100);
    expect(parseCron(timerOf(layout, 'hourly')).minutes).toEqual([0]);
  });

  it('sets vars.example_sleep_seconds from sleepSeconds, and only when > 0', () => {
    const sleep = (job: string): number => (job === BOOTSTRAP ? 0 : (job.length % 4) + 0.5);
    const layout = loadGenerated(generateLayout({ jobs: 60, seed: 3, sleepSeconds: sleep }).files);
    for (const j of pipelineJobs(layout, 'deploy')) {
      const want = sleep(j.name);
      expect([j.name, j.vars.example_sleep_seconds]).toEqual([j.name, want > 0 ? want : undefined]);
    }
  });
});

describe('generateLayout with playbooks: a repository that runs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'drawbridge-generate-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a playbook per job and the example shared tasks, then runs them', async () => {
    const g = generateLayout({ jobs: 4, seed: 2, playbooks: true });
    for (const f of g.files) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.text);
    }
    const { layout, errors } = await loadLayout([join(dir, 'zuul.d')]);
    expect(errors).toEqual([]);
    for (const j of pipelineJobs(layout!, 'deploy'))
      expect(existsSync(join(dir, j.playbook))).toBe(true);
    expect(readFileSync(join(dir, 'playbooks/tasks/record.yaml'), 'utf8')).toBe(
      readFileSync(join(example, 'playbooks/tasks/record.yaml'), 'utf8'),
    );
    const record = join(dir, 'out/record.log');
    const run = await ansible(dir, [
      'playbooks/bootstrap-bastion.yaml',
      'playbooks/base.yaml',
      '-e',
      JSON.stringify({ drawbridge_record_file: record, example_state_dir: join(dir, 'out/state') }),
    ]);
    expect({ exitCode: run.exitCode, out: run.exitCode === 0 ? '' : run.stdout }).toEqual({
      exitCode: 0,
      out: '',
    });
    const lines = recordLines(record);
    expect(lines.map(([job, event]) => `${job} ${event}`)).toEqual([
      `${BOOTSTRAP} start`,
      `${BOOTSTRAP} end`,
      'infra-prod-base start',
      'infra-prod-base end',
    ]);
    const times = lines.map((l) => Number(l[2]));
    expect(times.every((t, i) => Number.isInteger(t) && (i === 0 || t >= times[i - 1]!))).toBe(
      true,
    );
  });
});
