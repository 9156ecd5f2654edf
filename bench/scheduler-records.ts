/**
 * Reading what the bastion recorded during one run of the job graph, and the
 * figures computed from it. Four lines per job, all from the bastion's clock:
 *   launch — the ansible-playbook wrapper starts, just before ansible-playbook
 *   start  — the playbook's first task (after ansible's start-up)
 *   end    — the playbook's last task
 *   exit   — ansible-playbook has exited, the wrapper is about to
 * The wrapper lines are written by the `ansiblePlaybook` command the executor
 * and the Makefile both run; the start/end lines by the playbooks themselves.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { criticalPath, type FrozenGraph } from '../src/graph/index.js';
import { summarize, type Summary } from './stats.js';

export interface JobTimes {
  readonly launch: number;
  readonly start: number;
  readonly end: number;
  readonly exit: number;
}

const EVENTS = ['launch', 'start', 'end', 'exit'] as const;

/** The record file of one run, checked: every job of the graph has its four lines exactly once. */
export function readRecords(file: string, graph: FrozenGraph): Map<string, JobTimes> {
  const seen = new Map<string, Partial<Record<(typeof EVENTS)[number], number>>>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const [job, event, at] = line.split(' ');
    if (job === undefined || !EVENTS.includes(event as never) || !/^\d+$/.test(at ?? ''))
      throw new Error(`bad record line in ${file}: ${line}`);
    const t = seen.get(job) ?? {};
    const e = event as (typeof EVENTS)[number];
    if (t[e] !== undefined) throw new Error(`${job} recorded ${e} twice in ${file}`);
    t[e] = Number(at);
    seen.set(job, t);
  }
  const out = new Map<string, JobTimes>();
  for (const { name } of graph.jobs) {
    const t = seen.get(name);
    if (
      t?.launch === undefined ||
      t.start === undefined ||
      t.end === undefined ||
      t.exit === undefined
    )
      throw new Error(`${name} did not record all of ${EVENTS.join(', ')} in ${file}`);
    out.set(name, { launch: t.launch, start: t.start, end: t.end, exit: t.exit });
  }
  if (seen.size !== out.size) throw new Error(`${file} records jobs outside the graph`);
  return out;
}

export interface RunFigures {
  /** First launch to last exit, ms. */
  readonly makespan_ms: number;
  /** Critical path of the graph weighted by each job's own launch→exit time in this run, ms. */
  readonly critical_path_ms: number;
  readonly critical_path: readonly string[];
  readonly makespan_over_critical_path: number;
  /** The same two with the playbooks' own start/end lines (ansible start-up excluded). */
  readonly tasks_makespan_ms: number;
  readonly tasks_critical_path_ms: number;
  /** Sum of launch→exit over jobs, ms (what a sequential run cannot go below). */
  readonly sum_of_durations_ms: number;
  readonly job_duration_ms: Summary;
  /** ansible-playbook start-up: launch→start, ms. */
  readonly ansible_startup_ms: Summary;
  /** Per job with dependencies: its launch minus the latest exit among its dependencies. */
  readonly dispatch_latency_ms: Summary | null;
  /** The same latency seen per release: see fanoutLatency(). */
  readonly dispatch_by_release: FanoutLatency | null;
  readonly peak_concurrent_playbooks: number;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

export function dispatchGaps(graph: FrozenGraph, times: ReadonlyMap<string, JobTimes>): number[] {
  const gaps: number[] = [];
  for (const job of graph.jobs) {
    if (job.dependencies.length === 0) continue;
    const parentExit = Math.max(...job.dependencies.map((d) => at(times, d).exit));
    gaps.push(at(times, job.name).launch - parentExit);
  }
  return gaps;
}

export interface FanoutLatency {
  /** Parent exits that released at least one dependent (the dependent's latest-ending parent). */
  readonly releases: number;
  /** Most dependents released by one exit. */
  readonly widest: number;
  /** Exit to the first dependent's launch: the latency no fan-out width is inside. */
  readonly first_dependent_ms: Summary;
  /** Exit to the last dependent's launch, per release. */
  readonly last_dependent_ms: Summary;
  /** (last - first) / (dependents - 1) over releases of two or more: the cost of each further start. */
  readonly per_further_dependent_ms: Summary | null;
}

/**
 * Dispatch latency per release: a job whose last parent ends releases all
 * its waiting dependents at once, and their launches queue behind each other
 * on the starting side; a p99 over all edges then measures the widest
 * release's throughput as much as latency. This separates the two.
 */
export function fanoutLatency(
  graph: { readonly jobs: readonly { name: string; dependencies: readonly string[] }[] },
  times: ReadonlyMap<string, JobTimes>,
): FanoutLatency | null {
  const released = new Map<string, number[]>();
  for (const job of graph.jobs) {
    if (job.dependencies.length === 0) continue;
    const parent = job.dependencies.reduce((a, b) =>
      at(times, b).exit > at(times, a).exit ? b : a,
    );
    const list = released.get(parent) ?? [];
    list.push(at(times, job.name).launch - at(times, parent).exit);
    released.set(parent, list);
  }
  if (released.size === 0) return null;
  const groups = [...released.values()].map((l) => l.sort((a, b) => a - b));
  const wide = groups.filter((g) => g.length > 1);
  return {
    releases: groups.length,
    widest: Math.max(...groups.map((g) => g.length)),
    first_dependent_ms: summarize(groups.map((g) => g[0]!)),
    last_dependent_ms: summarize(groups.map((g) => g[g.length - 1]!)),
    per_further_dependent_ms:
      wide.length === 0
        ? null
        : summarize(wide.map((g) => r3((g[g.length - 1]! - g[0]!) / (g.length - 1)))),
  };
}

function at(times: ReadonlyMap<string, JobTimes>, job: string): JobTimes {
  const t = times.get(job);
  if (!t) throw new Error(`no times for ${job}`);
  return t;
}

function peakConcurrency(times: readonly JobTimes[]): number {
  const edges = times.flatMap((t) => [
    [t.launch, 1],
    [t.exit, -1],
  ]);
  edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let now = 0;
  let peak = 0;
  for (const [, d] of edges) peak = Math.max(peak, (now += d!));
  return peak;
}

export function runFigures(graph: FrozenGraph, times: ReadonlyMap<string, JobTimes>): RunFigures {
  const all = [...times.values()];
  const makespan = Math.max(...all.map((t) => t.exit)) - Math.min(...all.map((t) => t.launch));
  const cp = criticalPath(graph, (j) => at(times, j).exit - at(times, j).launch);
  const tasks = Math.max(...all.map((t) => t.end)) - Math.min(...all.map((t) => t.start));
  const tasksCp = criticalPath(graph, (j) => at(times, j).end - at(times, j).start);
  const gaps = dispatchGaps(graph, times);
  return {
    makespan_ms: makespan,
    critical_path_ms: cp.makespanMs,
    critical_path: cp.path,
    makespan_over_critical_path: r3(makespan / cp.makespanMs),
    tasks_makespan_ms: tasks,
    tasks_critical_path_ms: tasksCp.makespanMs,
    sum_of_durations_ms: all.reduce((s, t) => s + t.exit - t.launch, 0),
    job_duration_ms: summarize(all.map((t) => t.exit - t.launch)),
    ansible_startup_ms: summarize(all.map((t) => t.start - t.launch)),
    dispatch_latency_ms: gaps.length === 0 ? null : summarize(gaps),
    dispatch_by_release: fanoutLatency(graph, times),
    peak_concurrent_playbooks: peakConcurrency(all),
  };
}

/**
 * Sums, then removes, what the wrapper's `times` left per job in `dir`: the CPU
 * seconds (user + system) of each ansible-playbook and of every process it
 * waited for. The same playbooks cost more CPU under some schedulings than
 * others (docs/performance.md), so the makespans alone do not tell why they differ.
 * Throws unless there is one file per job: a missing one would undercount.
 */
export function takeAnsibleCpuSeconds(dir: string, jobs: number): number {
  const names = readdirSync(dir);
  if (names.length !== jobs)
    throw new Error(`ansible CPU: ${names.length} files in ${dir}, expected one per job (${jobs})`);
  let total = 0;
  for (const name of names) {
    const file = join(dir, name);
    // Line 1: the shell's own times; line 2: its waited-for children's. The
    // decimal separator follows the locale, as in EPOCHREALTIME.
    const children = readFileSync(file, 'utf8').split('\n')[1] ?? '';
    const parts = [...children.matchAll(/(\d+)m(\d+)[.,](\d+)s/g)];
    if (parts.length !== 2) throw new Error(`ansible CPU: cannot read ${file}: ${children}`);
    for (const m of parts) total += Number(m[1]) * 60 + Number(`${m[2]}.${m[3]}`);
    rmSync(file);
  }
  return Math.round(total * 10) / 10;
}

/** Busy and total jiffies of all CPUs, from /proc/stat. */
export function cpuJiffies(): { busy: number; total: number } {
  const first = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const f = first.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/** Fraction of the machine's CPU time that was busy between two readings. */
export function busyFraction(
  a: { busy: number; total: number },
  b: { busy: number; total: number },
): number {
  return r3((b.busy - a.busy) / Math.max(1, b.total - a.total));
}
