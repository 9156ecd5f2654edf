/**
 * The benchmark layout generator (bench/generate.ts) and the example
 * infrastructure repository (config/example) it imitates: both must load
 * cleanly, freeze for every single-file change, and really run in ansible.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { BOOTSTRAP, LETSENCRYPT, generateLayout, seededRandom } from '../bench/generate.js';
import { loadLayout, loadLayoutFromSources, pipelineJobs } from '../src/config/index.js';
import type { Layout, ResolvedJob } from '../src/config/index.js';
import { parseCron } from '../src/cron/index.js';
import { freezeGraph } from '../src/graph/index.js';

const root = new URL('..', import.meta.url).pathname;
const example = join(root, 'config/example');

function loadGenerated(files: readonly { path: string; text: string }[]): Layout {
  const sources = files
    .filter((f) => f.path.startsWith('zuul.d/'))
    .map((f) => ({ file: f.path, text: f.text }));
  const result = loadLayoutFromSources(sources);
  expect(result.errors.map((e) => e.message)).toEqual([]);
  expect(result.warnings.map((e) => e.message)).toEqual([]);
  return result.layout!;
}

/** Freezes `pipeline` for a change of one file; returns the selected job names. */
function selectedFor(layout: Layout, file: string, pipeline = 'deploy'): string[] {
  const graph = freezeGraph(pipelineJobs(layout, pipeline), { kind: 'files', files: [file] });
  expect({ file, errors: graph.errors.map((e) => e.message) }).toEqual({ file, errors: [] });
  return graph.jobs.map((j) => j.name);
}

function hardEdges(jobs: readonly ResolvedJob[]): [string, string][] {
  return jobs.flatMap((j) =>
    j.dependencies.filter((d) => !d.soft).map((d): [string, string] => [j.name, d.name]),
  );
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)));
}

async function ansible(cwd: string, args: string[]) {
  return execa('ansible-playbook', ['-i', 'inventory/hosts.ini', ...args], {
    cwd,
    reject: false,
    timeout: 120_000,
    env: { ANSIBLE_NOCOLOR: '1', ANSIBLE_RETRY_FILES_ENABLED: '0' },
  });
}

function recordLines(file: string): string[][] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' '));
}

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
    expect(selectedFor(layout, 'inventory/hosts.ini').length).toBeGreaterThan(3);
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

function timerOf(layout: Layout, pipeline: string): string {
  const t = layout.pipelines.get(pipeline)?.triggers.find((x) => x.kind === 'timer');
  if (t?.kind !== 'timer') throw new Error(`${pipeline} has no timer`);
  return t.time;
}

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

describe('config/example', () => {
  let layout: Layout;
  beforeAll(async () => {
    const result = await loadLayout([join(example, 'zuul.d')]);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    layout = result.layout!;
  });

  it('defines deploy (serial, on master), a daily periodic and a short hourly pipeline', () => {
    expect(layout.pipelines.get('deploy')?.manager).toBe('serial');
    expect(layout.pipelines.get('deploy')?.triggers).toMatchObject([
      { kind: 'ref-updated', refs: ['^refs/heads/master$'] },
    ]);
    const daily = parseCron(timerOf(layout, 'periodic'));
    expect([daily.minutes, daily.hours, daily.daysOfMonth.length]).toEqual([[0], [2], 31]);
    expect(parseCron(timerOf(layout, 'hourly')).hours).toHaveLength(24);
    expect(pipelineJobs(layout, 'deploy').length).toBeGreaterThanOrEqual(25);
    expect(pipelineJobs(layout, 'periodic')).toHaveLength(pipelineJobs(layout, 'deploy').length);
    expect(pipelineJobs(layout, 'hourly').length).toBeLessThan(6);
  });

  it('has a playbook on disk for every job, through vars.playbook_name', () => {
    for (const p of ['deploy', 'periodic', 'hourly']) {
      for (const j of pipelineJobs(layout, p)) {
        expect([j.name, existsSync(join(example, j.playbook))]).toEqual([j.name, true]);
        expect(j.playbook).toBe(`playbooks/${String(j.vars.playbook_name)}`);
      }
    }
    expect(layout.jobs.get('infra-prod-playbook')?.abstract).toBe(true);
  });

  it('shares the letsencrypt semaphore (max 1) between exactly two jobs', () => {
    expect(layout.semaphores.get('letsencrypt')?.max).toBe(1);
    const holders = pipelineJobs(layout, 'deploy').filter((j) =>
      j.semaphores.includes('letsencrypt'),
    );
    expect(holders.map((j) => j.name).sort()).toEqual([
      LETSENCRYPT,
      'infra-prod-service-nameserver',
    ]);
  });

  it('mixes hard chains and soft dependencies', () => {
    const deploy = pipelineJobs(layout, 'deploy');
    expect(hardEdges(deploy)).toEqual(
      expect.arrayContaining([
        ['infra-prod-base', BOOTSTRAP],
        ['infra-prod-service-gitea', LETSENCRYPT],
        ['infra-prod-service-afs', 'infra-prod-service-kerberos'],
        ['infra-prod-service-mirror-update', 'infra-prod-service-afs'],
      ]),
    );
    const gitea = deploy.find((j) => j.name === 'infra-prod-service-gitea-lb');
    expect(gitea?.dependencies).toContainEqual({ name: 'infra-prod-service-gitea', soft: true });
  });

  it('freezes every pipeline for a timer run', () => {
    for (const p of ['deploy', 'periodic', 'hourly']) {
      expect(freezeGraph(pipelineJobs(layout, p), { kind: 'all' }).errors).toEqual([]);
    }
  });

  it('freezes deploy for a change to any one file of the repository', () => {
    for (const file of [...filesUnder(example), 'docs/index.rst', 'README.md'])
      selectedFor(layout, file);
  });

  it('selects what a change touches', () => {
    expect(selectedFor(layout, 'playbooks/service-gitea.yaml')).toEqual([
      BOOTSTRAP,
      LETSENCRYPT,
      'infra-prod-service-gitea',
    ]);
    expect(selectedFor(layout, 'playbooks/roles/gitea/tasks/main.yaml')).toContain(
      'infra-prod-service-gitea',
    );
    expect(selectedFor(layout, 'playbooks/service-mirror-update.yaml')).toEqual([
      BOOTSTRAP,
      LETSENCRYPT,
      'infra-prod-service-kerberos',
      'infra-prod-service-afs',
      'infra-prod-service-mirror-update',
    ]);
    const inventory = selectedFor(layout, 'inventory/hosts.ini');
    expect(inventory).toContain('infra-prod-base');
    expect(inventory).not.toContain('infra-prod-manage-projects');
    expect(selectedFor(layout, 'README.md')).toEqual([]);
  });

  describe('playbooks in ansible', () => {
    let out: string;
    beforeAll(() => {
      out = mkdtempSync(join(tmpdir(), 'drawbridge-example-'));
    });
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    it('all pass a syntax check', async () => {
      const playbooks = readdirSync(join(example, 'playbooks')).filter((f) => f.endsWith('.yaml'));
      expect(playbooks.length).toBeGreaterThanOrEqual(25);
      const run = await ansible(example, [
        '--syntax-check',
        ...playbooks.map((p) => `playbooks/${p}`),
      ]);
      expect({ exitCode: run.exitCode, err: run.stderr }).toMatchObject({ exitCode: 0 });
    });

    it('record start and end, write state, and fail on request', async () => {
      const vars = (extra: object): string =>
        JSON.stringify({
          drawbridge_record_file: join(out, 'record.log'),
          example_state_dir: join(out, 'state'),
          ...extra,
        });
      const run = await ansible(example, [
        'playbooks/service-gitea.yaml',
        'playbooks/service-paste.yaml',
        '-e',
        vars({ example_fail_jobs: ['infra-prod-service-paste'] }),
      ]);
      expect(run.exitCode).not.toBe(0);
      expect(run.stdout).toContain(
        'infra-prod-service-paste fails because example_fail_jobs lists it',
      );
      expect(recordLines(join(out, 'record.log')).map(([j, e]) => `${j} ${e}`)).toEqual([
        'infra-prod-service-gitea start',
        'infra-prod-service-gitea end',
        'infra-prod-service-paste start',
      ]);
      expect(readFileSync(join(out, 'state/gitea.txt'), 'utf8')).toContain(
        'deployed-by: infra-prod-service-gitea',
      );
      expect(existsSync(join(out, 'state/gitea-app.ini'))).toBe(true);
      expect(existsSync(join(out, 'state/paste.txt'))).toBe(false);
    });
  });
});
