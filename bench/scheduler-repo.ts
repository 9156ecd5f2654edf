/**
 * The scheduler bench's repository: a generated infra-prod layout whose
 * playbooks sleep a known time per job, made runnable on the loopback
 * bastion, plus a wide layout of trivial jobs. Written to a temp dir and
 * committed to a bare git repository the executor fetches from.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { loadLayout, loadLayoutFromSources, type Layout } from '../src/config/index.js';
import type { LayoutSpec } from './component-process.js';
import { generateLayout, type GeneratedFile } from './generate.js';

const run = promisify(execFile);

export const GRAPH_PIPELINE = 'deploy';
export const TRIVIAL_PIPELINE = 'bench-trivial';

export interface BenchRepo {
  /** Bare repository: the executor's fetch URL. */
  readonly url: string;
  readonly sha: string;
  /** The 60-job (or quick) infra-prod layout, pipeline `deploy`. */
  readonly graphLayout: Layout;
  /** `trivialJobs` independent jobs, pipeline `bench-trivial`. */
  readonly trivialLayout: Layout;
  /** Where a scheduler process loads each of the two layouts from. */
  readonly graphLayoutSpec: LayoutSpec;
  readonly trivialLayoutSpec: LayoutSpec;
  /** Seconds each graph job's playbook sleeps. */
  readonly sleepSeconds: ReadonlyMap<string, number>;
}

export interface RepoOptions {
  readonly dir: string;
  readonly jobs: number;
  /** Sleep seconds are `base + step * (hash(job) % 5)`. */
  readonly sleepBase: number;
  readonly sleepStep: number;
  readonly trivialJobs: number;
  /** Absolute path every playbook appends its `<job> start|end <ms>` lines to. */
  readonly recordFile: string;
  readonly stateDir: string;
}

/** FNV-1a: a stable per-job number, independent of the layout's seed. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export function sleepFor(job: string, base: number, step: number): number {
  return Math.round((base + step * (hash(job) % 5)) * 1000) / 1000;
}

/**
 * Two changes to what generateLayout emits, both said in docs/performance.md:
 * - semaphores are removed: neither the critical path nor make knows them,
 *   so with them the comparison would measure the semaphores, not the scheduler;
 * - the inventory names this run's record file and state dir for every host.
 */
function runnable(files: readonly GeneratedFile[], o: RepoOptions): GeneratedFile[] {
  return files.map((f) => {
    if (f.path === 'inventory/hosts') {
      const vars = `drawbridge_record_file=${o.recordFile}\nexample_state_dir=${o.stateDir}\n`;
      return { path: f.path, text: f.text.replace('[all:vars]\n', `[all:vars]\n${vars}`) };
    }
    if (!/^zuul\.d\/jobs-\d+\.yaml$/.test(f.path)) return f;
    const stanzas = parse(f.text) as { job: Record<string, unknown> }[];
    for (const s of stanzas) delete s.job.semaphores;
    return { path: f.path, text: stringify(stanzas, { lineWidth: 0 }) };
  });
}

function trivialLayoutText(jobs: number): string {
  const names = Array.from({ length: jobs }, (_, i) => `trivial-${String(i).padStart(4, '0')}`);
  return stringify(
    [
      {
        pipeline: {
          name: TRIVIAL_PIPELINE,
          manager: 'serial',
          precedence: 'normal',
          trigger: { manual: true },
        },
      },
      ...names.map((name) => ({ job: { name, run: 'playbooks/noop.yaml' } })),
      { project: { [TRIVIAL_PIPELINE]: { jobs: names } } },
    ],
    { lineWidth: 0 },
  );
}

const NOOP_PLAYBOOK = `- hosts: localhost
  gather_facts: false
  tasks: []
`;

export async function createBenchRepo(o: RepoOptions): Promise<BenchRepo> {
  const work = join(o.dir, 'src');
  const sleepSeconds = new Map<string, number>();
  const generated = generateLayout({
    jobs: o.jobs,
    seed: 1,
    playbooks: true,
    sleepSeconds: (job) => {
      const s = sleepFor(job, o.sleepBase, o.sleepStep);
      sleepSeconds.set(job, s);
      return s;
    },
  });
  const files = [
    ...runnable(generated.files, o),
    { path: 'playbooks/noop.yaml', text: NOOP_PLAYBOOK },
  ];
  for (const f of files) {
    mkdirSync(dirname(join(work, f.path)), { recursive: true });
    writeFileSync(join(work, f.path), f.text);
  }
  const graphLayoutSpec = { dirs: [join(work, 'zuul.d')] };
  const graph = await loadLayout(graphLayoutSpec.dirs);
  if (!graph.layout)
    throw new Error(`bench layout invalid: ${graph.errors.map((e) => e.message).join('; ')}`);
  const trivialLayoutSpec = {
    sources: [{ file: 'zuul.d/trivial.yaml', text: trivialLayoutText(o.trivialJobs) }],
  };
  const trivial = loadLayoutFromSources(trivialLayoutSpec.sources);
  if (!trivial.layout)
    throw new Error(`trivial layout invalid: ${trivial.errors.map((e) => e.message).join('; ')}`);

  const git = (cwd: string, ...args: string[]) =>
    run('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@drawbridge.invalid', ...args], {
      cwd,
    });
  const url = join(o.dir, 'infra.git');
  await git(o.dir, 'init', '--quiet', '--initial-branch=main', work);
  await git(work, 'add', '--all');
  await git(work, 'commit', '--quiet', '-m', 'bench layout');
  await git(o.dir, 'clone', '--quiet', '--bare', work, url);
  const sha = (await git(work, 'rev-parse', 'HEAD')).stdout.trim();
  return {
    url,
    sha,
    graphLayout: graph.layout,
    trivialLayout: trivial.layout,
    graphLayoutSpec,
    trivialLayoutSpec,
    sleepSeconds,
  };
}
