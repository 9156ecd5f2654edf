/**
 * Generates Zuul-dialect layouts of any size in the shape of an infra-prod
 * deployment (config/example): bootstrap -> base -> letsencrypt -> services,
 * with hard chains, soft dependencies, file matchers, shared semaphores and
 * three pipelines. Deterministic for a seed; no side effects at import.
 */
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';

export interface GenerateOptions {
  /** Concrete jobs in the layout, at least 3 (bootstrap, base, letsencrypt). */
  readonly jobs: number;
  /** Decides the structure (which services chain, share semaphores, ...). Default 1. */
  readonly seed?: number;
  /** Sets `vars.example_sleep_seconds` of each job it returns a value > 0 for. */
  readonly sleepSeconds?: (job: string) => number;
  /**
   * Also emit playbooks/, their shared tasks and inventory/hosts, so the
   * files form a repository that really runs. Load the layout from
   * `zuul.d/` then: the playbooks are YAML too. Default false.
   */
  readonly playbooks?: boolean;
}

export interface GeneratedFile {
  /** Relative to the repository root, e.g. `zuul.d/jobs-00.yaml`. */
  readonly path: string;
  readonly text: string;
}

export interface GeneratedLayout {
  readonly files: GeneratedFile[];
  /** The concrete jobs, in the order the deploy pipeline lists them. */
  readonly jobs: readonly string[];
}

export const BOOTSTRAP = 'infra-prod-bootstrap-bastion';
export const BASE = 'infra-prod-base';
export const LETSENCRYPT = 'infra-prod-letsencrypt';
const ABSTRACT = 'infra-prod-playbook';
const TLS_BASE = 'infra-prod-service-tls';
const PLAIN_BASE = 'infra-prod-service-plain';
const JOBS_PER_FILE = 200;
// Hard chains deeper than this are rare in real deployments and make every
// ancestor list all of the chain's files.
const MAX_CHAIN_DEPTH = 3;

const SERVICES = [
  'adns', 'nameserver', 'mirror', 'zookeeper', 'zuul', 'nodepool', 'gitea', 'gitea-lb',
  'grafana', 'graphite', 'paste', 'etherpad', 'meetpad', 'lists', 'review', 'static',
  'keycloak', 'registry', 'codesearch', 'eavesdrop', 'kerberos', 'afs', 'borg-backup',
  'tracing', 'wiki', 'storyboard', 'refstack', 'translate', 'ethercalc', 'survey',
]; // prettier-ignore

interface Dep {
  readonly name: string;
  readonly soft: boolean;
}

const TLS_DEPS: readonly Dep[] = [
  { name: LETSENCRYPT, soft: false },
  { name: BASE, soft: true },
];
const PLAIN_DEPS: readonly Dep[] = [
  { name: BOOTSTRAP, soft: false },
  { name: BASE, soft: true },
];

interface GenJob {
  readonly name: string;
  readonly playbook: string;
  readonly deps: Dep[];
  /** The abstract job it inherits from; a service's usual dependencies come with it. */
  readonly parent: string;
  readonly files: string[];
  readonly irrelevantFiles: string[];
  readonly semaphores: string[];
  readonly timeout: number | undefined;
  /** Service index of the hard parent it chains from, for depth and file propagation. */
  readonly chainParent: number | undefined;
  readonly depth: number;
}

/** A tiny seeded PRNG (32-bit state, multiply-xorshift output): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    z ^= z >>> 15;
    return (z >>> 0) / 0x1_0000_0000;
  };
}

export function generateLayout(options: GenerateOptions): GeneratedLayout {
  if (!Number.isInteger(options.jobs) || options.jobs < 3) {
    throw new RangeError(`jobs must be an integer >= 3, got ${options.jobs}`);
  }
  const rand = seededRandom(options.seed ?? 1);
  const services = buildServices(options.jobs - 3, rand);
  const jobs = [...coreJobs(), ...services];
  const semaphores = semaphoreNames(services);
  const sleep = options.sleepSeconds ?? (() => 0);
  const files: GeneratedFile[] = [
    { path: 'zuul.d/pipelines.yaml', text: pipelinesYaml() },
    { path: 'zuul.d/semaphores.yaml', text: yamlOf(semaphores.map((s) => ({ semaphore: s }))) },
    ...jobFiles(jobs, sleep),
    { path: 'zuul.d/project.yaml', text: projectYaml(jobs, hourlyJobs(jobs, rand)) },
  ];
  if (options.playbooks === true) files.push(...runnableFiles(jobs));
  return { files, jobs: jobs.map((j) => j.name) };
}

function coreJobs(): GenJob[] {
  const docs = ['^docs/', '^README\\.md$'];
  const core = (name: string, playbook: string, extra: Partial<GenJob>): GenJob => ({
    name,
    playbook,
    deps: [],
    parent: ABSTRACT,
    files: [],
    irrelevantFiles: [],
    semaphores: [],
    timeout: undefined,
    chainParent: undefined,
    depth: 0,
    ...extra,
  });
  return [
    core(BOOTSTRAP, 'bootstrap-bastion.yaml', { irrelevantFiles: docs, timeout: 900 }),
    core(BASE, 'base.yaml', {
      deps: [{ name: BOOTSTRAP, soft: false }],
      files: ['^inventory/', '^playbooks/base\\.yaml$', '^playbooks/roles/base/'],
      timeout: 3600,
    }),
    // Services hard-depend on letsencrypt, so it runs for any non-doc change.
    core(LETSENCRYPT, 'letsencrypt.yaml', {
      deps: [
        { name: BOOTSTRAP, soft: false },
        { name: BASE, soft: true },
      ],
      irrelevantFiles: docs,
      semaphores: ['letsencrypt'],
    }),
  ];
}

function serviceName(i: number): string {
  const word = SERVICES[i % SERVICES.length]!;
  const round = Math.floor(i / SERVICES.length);
  return round === 0 ? word : `${word}-${round + 1}`;
}

function buildServices(count: number, rand: () => number): GenJob[] {
  const out: GenJob[] = [];
  const pick = (below: number): number => Math.floor(rand() * below);
  for (let i = 0; i < count; i++) {
    const svc = serviceName(i);
    const tls = rand() < 0.6;
    const chainFrom = i > 0 && rand() < 0.15 ? pick(i) : undefined;
    const upstream = chainFrom === undefined ? undefined : out[chainFrom];
    const chained = upstream !== undefined && upstream.depth < MAX_CHAIN_DEPTH;
    const deps: Dep[] = [...(tls ? TLS_DEPS : PLAIN_DEPS)];
    if (chained) deps.push({ name: upstream.name, soft: false });
    if (i > 1 && rand() < 0.25) {
      const soft = out[pick(i)]!.name;
      if (!deps.some((d) => d.name === soft)) deps.push({ name: soft, soft: true });
    }
    const own = [`^playbooks/service-${escape(svc)}\\.yaml$`, `^playbooks/roles/${escape(svc)}/`];
    if (rand() < 0.5) own.pop(); // not every service has its own role
    if (rand() < 0.5) own.unshift('^inventory/');
    const job: GenJob = {
      name: `infra-prod-service-${svc}`,
      playbook: `service-${svc}.yaml`,
      deps,
      parent: tls ? TLS_BASE : PLAIN_BASE,
      files: own,
      irrelevantFiles: [],
      semaphores: [],
      timeout: rand() < 0.3 ? [600, 1200, 2400, 3600][pick(4)] : undefined,
      chainParent: chained ? chainFrom : undefined,
      depth: chained ? upstream.depth + 1 : 0,
    };
    if (chained) propagateFiles(out, chainFrom, own);
    out.push(job);
  }
  assignSemaphores(out, rand);
  return out;
}

// A hard dependency must be selected whenever its dependent is: every hard
// ancestor in the chain also matches the dependent's files.
function propagateFiles(services: GenJob[], from: number | undefined, patterns: string[]): void {
  for (let at = from; at !== undefined; at = services[at]!.chainParent) {
    const files = services[at]!.files;
    for (const p of patterns) if (!files.includes(p)) files.push(p);
  }
}

/** About one service in ten takes one of a few semaphores, each shared by several. */
function assignSemaphores(services: GenJob[], rand: () => number): void {
  // Like the nameservers: no certificate needed, yet must not overlap issuance.
  const plain = services.find((j) => !j.deps.some((d) => d.name === LETSENCRYPT));
  plain?.semaphores.push('letsencrypt');
  const groups = Math.max(1, Math.floor(services.length / 40));
  for (const job of services) {
    if (job !== plain && rand() < 0.1) job.semaphores.push(`sem-${Math.floor(rand() * groups)}`);
  }
}

function semaphoreNames(services: readonly GenJob[]): { name: string; max: number }[] {
  const used = new Set(services.flatMap((j) => j.semaphores));
  used.add('letsencrypt');
  return [...used].sort().map((name) => ({ name, max: name === 'letsencrypt' ? 1 : 2 }));
}

function escape(text: string): string {
  return text.replace(/[.*+?^$()[\]{}|\\]/g, '\\$&');
}

function depsYaml(deps: readonly Dep[]): unknown[] {
  return deps.map((d) => (d.soft ? { name: d.name, soft: true } : d.name));
}

function jobStanza(job: GenJob, sleep: number): Record<string, unknown> {
  const vars: Record<string, unknown> = { playbook_name: job.playbook };
  if (sleep > 0) vars.example_sleep_seconds = sleep;
  // A service restates its dependencies only when it has more than its base
  // gives it, and then in full: the result is the same whether a child's
  // list replaces or extends the inherited one.
  const inherited =
    job.parent === TLS_BASE ? TLS_DEPS : job.parent === PLAIN_BASE ? PLAIN_DEPS : [];
  const restate = job.deps.length > inherited.length;
  return {
    job: {
      name: job.name,
      parent: job.parent,
      ...(job.timeout === undefined ? {} : { timeout: job.timeout }),
      ...(restate ? { dependencies: depsYaml(job.deps) } : {}),
      ...(job.files.length === 0 ? {} : { files: job.files }),
      ...(job.irrelevantFiles.length === 0 ? {} : { 'irrelevant-files': job.irrelevantFiles }),
      ...(job.semaphores.length === 0 ? {} : { semaphores: job.semaphores }),
      vars,
    },
  };
}

function jobFiles(jobs: readonly GenJob[], sleep: (job: string) => number): GeneratedFile[] {
  const abstract = {
    job: {
      name: ABSTRACT,
      abstract: true,
      description: 'Runs playbooks/<vars.playbook_name> on the bastion.',
      timeout: 1800,
    },
  };
  const bases = [
    { name: TLS_BASE, description: 'A service that serves TLS.', deps: TLS_DEPS },
    { name: PLAIN_BASE, description: 'A service without TLS.', deps: PLAIN_DEPS },
  ].map((b) => ({
    job: {
      name: b.name,
      parent: ABSTRACT,
      abstract: true,
      description: b.description,
      dependencies: depsYaml(b.deps),
    },
  }));
  const out: GeneratedFile[] = [];
  for (let start = 0; start < jobs.length; start += JOBS_PER_FILE) {
    const chunk = jobs.slice(start, start + JOBS_PER_FILE).map((j) => jobStanza(j, sleep(j.name)));
    const index = String(start / JOBS_PER_FILE).padStart(2, '0');
    out.push({
      path: `zuul.d/jobs-${index}.yaml`,
      text: yamlOf(start === 0 ? [abstract, ...bases, ...chunk] : chunk),
    });
  }
  return out;
}

/** A few jobs that need no certificates and no other service: hourly material. */
function hourlyJobs(jobs: readonly GenJob[], rand: () => number): string[] {
  const candidates = jobs.filter(
    (j) => j.deps.length > 0 && j.deps.every((d) => d.soft || d.name === BOOTSTRAP),
  );
  const picked = candidates.filter(() => rand() < 0.05);
  if (picked.length === 0 && candidates[0] !== undefined) picked.push(candidates[0]);
  return [BOOTSTRAP, ...picked.map((j) => j.name)];
}

function pipelinesYaml(): string {
  return yamlOf([
    {
      pipeline: {
        name: 'deploy',
        manager: 'serial',
        precedence: 'high',
        trigger: { git: [{ event: 'ref-updated', ref: '^refs/heads/master$' }] },
      },
    },
    {
      pipeline: {
        name: 'periodic',
        manager: 'supercedent',
        precedence: 'low',
        trigger: { timer: [{ time: '0 2 * * *' }] },
      },
    },
    {
      pipeline: {
        name: 'hourly',
        manager: 'supercedent',
        precedence: 'low',
        trigger: { timer: [{ time: '0 * * * * 0 120' }] },
      },
    },
  ]);
}

function projectYaml(jobs: readonly GenJob[], hourly: readonly string[]): string {
  const all = jobs.map((j) => j.name);
  return yamlOf([
    { project: { deploy: { jobs: all }, periodic: { jobs: all }, hourly: { jobs: hourly } } },
  ]);
}

function yamlOf(value: unknown): string {
  // No anchors: shared lists are written out in full, as a person would.
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Playbooks that record start/end and sleep, as config/example's do. */
function runnableFiles(jobs: readonly GenJob[]): GeneratedFile[] {
  const shared = (name: string): GeneratedFile => ({
    path: `playbooks/tasks/${name}`,
    text: readFileSync(
      new URL(`../config/example/playbooks/tasks/${name}`, import.meta.url),
      'utf8',
    ),
  });
  const inventory = [
    'localhost ansible_connection=local',
    '',
    '[all:vars]',
    'ansible_python_interpreter=auto_silent',
    '',
    '[bastion]',
    'localhost',
    '',
    '[services]',
    'localhost',
    '',
  ].join('\n');
  return [
    shared('record.yaml'),
    shared('work.yaml'),
    { path: 'inventory/hosts', text: inventory },
    ...jobs.map((j) => ({ path: `playbooks/${j.playbook}`, text: playbookYaml(j) })),
  ];
}

function playbookYaml(job: GenJob): string {
  const service = job.playbook.replace(/^service-/, '').replace(/\.yaml$/, '');
  const record = (event: string): Record<string, unknown> => ({
    name: `Record the ${event}`,
    'ansible.builtin.import_tasks': 'tasks/record.yaml',
    vars: { record_event: event },
  });
  return yamlOf([
    {
      name: `Deploy ${service}`,
      hosts: job.name === BOOTSTRAP ? 'bastion' : 'services',
      gather_facts: false,
      vars: { example_job: job.name, example_service: service },
      tasks: [
        record('start'),
        { name: `Deploy ${service}`, 'ansible.builtin.import_tasks': 'tasks/work.yaml' },
        record('end'),
      ],
    },
  ]);
}
