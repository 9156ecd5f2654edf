/**
 * Builds each pipeline's job list from the project stanzas that apply to
 * the deployed repository: templates first, then the project's own
 * listings, each listing a variant applied over the resolved job.
 */
import { compilePattern, findCycle, type JobDependency } from '../graph/index.js';
import { E, W } from './layout-codes.js';
import { suggest, type Diagnostics } from './layout-diagnostics.js';
import { finalViolations, type DepDef } from './layout-job-parse.js';
import { applyPatch, deepMerge, type JobAcc } from './layout-merge.js';
import type { ListedJob, ProjectDef } from './layout-project-parse.js';
import { checkKnownDeps, type ResolvedJobs } from './layout-job-resolve.js';
import type { Pipeline, ResolvedJob } from './layout-types.js';

export interface PipelineInput {
  readonly pipelines: ReadonlyMap<string, Pipeline>;
  readonly projects: readonly ProjectDef[];
  readonly templates: ReadonlyMap<string, ProjectDef>;
  readonly resolved: ResolvedJobs;
  readonly playbookDir: string;
  readonly projectName: string | undefined;
}

/** A resolved pipeline job plus the dependency lines, for error placement. */
interface Built {
  readonly job: ResolvedJob;
  readonly deps: readonly DepDef[];
}

export function buildPipelineJobs(
  input: PipelineInput,
  diags: Diagnostics,
): Map<string, ResolvedJob[]> {
  const projects = applicableProjects(input, diags);
  const listed = new Map<string, Map<string, ListedJob[]>>(
    [...input.pipelines.keys()].map((p) => [p, new Map()]),
  );
  const warned = new Set<string>();
  let projectVars: Record<string, unknown> = {};
  for (const proj of projects) {
    if (proj.vars !== undefined) projectVars = deepMerge(projectVars, proj.vars);
    for (const ref of proj.templates) {
      const tpl = input.templates.get(ref.value);
      if (tpl === undefined) {
        const hint = suggest(ref.value, input.templates.keys());
        diags.error(
          E.unknownTemplate,
          { file: proj.file, line: ref.line, stanza: proj.stanza, key: 'templates' },
          `unknown project-template "${ref.value}"${hint}`,
        );
      } else collect(tpl, input, listed, warned, diags);
    }
    collect(proj, input, listed, warned, diags);
  }
  const out = new Map<string, ResolvedJob[]>();
  for (const [pipeline, byJob] of listed) {
    const built: Built[] = [];
    for (const [name, entries] of byJob) {
      const b = buildOne(pipeline, name, entries, projectVars, input, diags);
      if (b !== undefined) built.push(b);
    }
    checkDependencies(pipeline, built, input.resolved.defined, diags);
    out.set(
      pipeline,
      built.map((b) => b.job),
    );
  }
  return out;
}

/** Unnamed project stanzas, and those naming the deployed repository. */
function applicableProjects(input: PipelineInput, diags: Diagnostics): ProjectDef[] {
  const { projectName } = input;
  const out: ProjectDef[] = [];
  const names = new Set<string>();
  for (const p of input.projects) {
    if (p.name === undefined || projectName === undefined || sameProject(p.name, projectName)) {
      out.push(p);
      if (p.name !== undefined) names.add(p.name);
    } else {
      diags.warn(
        W.otherProject,
        { file: p.file, line: p.line, stanza: p.stanza },
        `project "${p.name}" is not the deployed repository "${projectName}"; ignored`,
      );
    }
  }
  if (projectName === undefined && names.size > 1) {
    const first = input.projects.find((p) => p.name !== undefined)!;
    diags.warn(
      W.manyProjects,
      { file: first.file, line: first.line, stanza: first.stanza },
      `project stanzas name ${names.size} different projects (${[...names].join(', ')}); all are applied; set the project name to pick one`,
    );
  }
  return out;
}

/** Zuul accepts a project's short name or its canonical host-qualified name. */
function sameProject(name: string, deployed: string): boolean {
  if (name.startsWith('^')) return fullMatch(name, deployed);
  return name === deployed || name.endsWith(`/${deployed}`) || deployed.endsWith(`/${name}`);
}

/** A project name starting with ^ is a regex that must match the whole name, as in Zuul. */
function fullMatch(pattern: string, name: string): boolean {
  try {
    const m = compilePattern(pattern).exec(name);
    return m !== null && m[0].length === name.length;
  } catch {
    return false; // reported when the stanza was read
  }
}

function collect(
  def: ProjectDef,
  input: PipelineInput,
  listed: Map<string, Map<string, ListedJob[]>>,
  warned: Set<string>,
  diags: Diagnostics,
): void {
  for (const section of def.sections) {
    const byJob = listed.get(section.pipeline);
    if (byJob === undefined) {
      const at = `${def.file}:${section.line}`;
      if (!warned.has(at)) {
        warned.add(at);
        const hint = suggest(section.pipeline, input.pipelines.keys());
        diags.warn(
          W.unknownPipeline,
          { file: def.file, line: section.line, stanza: def.stanza, key: section.pipeline },
          `no pipeline "${section.pipeline}" is defined; this section is ignored${hint}`,
        );
      }
      continue;
    }
    for (const job of section.jobs) {
      const list = byJob.get(job.name);
      if (list === undefined) byJob.set(job.name, [job]);
      else list.push(job);
    }
  }
}

function buildOne(
  pipeline: string,
  name: string,
  entries: readonly ListedJob[],
  projectVars: Record<string, unknown>,
  input: PipelineInput,
  diags: Diagnostics,
): Built | undefined {
  const first = entries[0]!;
  const where = { file: first.file, line: first.line, stanza: first.stanza, key: first.key };
  const base = input.resolved.jobs.get(name);
  if (base === undefined) {
    if (!input.resolved.defined.has(name)) {
      diags.error(
        E.unknownJob,
        where,
        `unknown job "${name}"${suggest(name, input.resolved.defined)}`,
      );
    }
    return undefined;
  }
  if (base.abstract) {
    diags.error(
      E.abstract,
      where,
      `job "${name}" is abstract and cannot run in pipeline "${pipeline}"`,
    );
    return undefined;
  }
  let acc: JobAcc = base;
  for (const e of entries) {
    if (e.variant === undefined) continue;
    if (base.final) {
      for (const [key, line] of finalViolations(e.variant)) {
        diags.error(
          E.final,
          { file: e.file, line, stanza: e.stanza, key: `${e.key}.${name}.${key}` },
          `job "${name}" is final; a project cannot change "${key}"`,
        );
      }
    }
    checkKnownDeps(e.variant.dependencies ?? [], input.resolved.defined, e.stanza, diags);
    acc = applyPatch(acc, e.variant, 'variant');
  }
  const vars = deepMerge(projectVars, acc.vars);
  const playbook = playbookOf(acc, vars, input.playbookDir);
  if (playbook === undefined) {
    diags.error(
      E.noPlaybook,
      where,
      `job "${name}" has no playbook: set "run", or "vars.playbook_name" (looked up under ${input.playbookDir}/)`,
    );
    return undefined;
  }
  const job: ResolvedJob = {
    name,
    pipeline,
    description: acc.description,
    playbook,
    vars,
    dependencies: acc.dependencies.map((d): JobDependency => ({ name: d.name, soft: d.soft })),
    files: acc.files,
    irrelevantFiles: acc.irrelevantFiles,
    semaphores: acc.semaphores.map((s) => s.value),
    timeoutMs: acc.timeoutMs,
    attempts: acc.attempts,
    source: input.resolved.sources.get(name)!,
    listedAt: { file: first.file, line: first.line },
  };
  return { job, deps: acc.dependencies };
}

/**
 * A job's own `run` wins; then `vars.playbook_name` (the infra-prod
 * convention, whose inherited `run` is a Zuul-side wrapper); then an
 * inherited `run`.
 */
export function playbookOf(
  acc: JobAcc,
  vars: Readonly<Record<string, unknown>>,
  playbookDir: string,
): string | undefined {
  if (acc.ownRun !== undefined) return acc.ownRun;
  const pn = vars['playbook_name'];
  if (typeof pn === 'string' && pn !== '')
    return playbookDir === '' ? pn : `${playbookDir.replace(/\/+$/, '')}/${pn}`;
  return acc.inheritedRun;
}

function checkDependencies(
  pipeline: string,
  built: readonly Built[],
  defined: ReadonlySet<string>,
  diags: Diagnostics,
): void {
  const inPipeline = new Set(built.map((b) => b.job.name));
  const edges = new Map<string, string[]>();
  const depLine = new Map<string, DepDef>();
  for (const { job, deps } of built) {
    edges.set(
      job.name,
      deps.map((d) => d.name),
    );
    for (const d of deps) {
      depLine.set(`${job.name}\0${d.name}`, d);
      if (!d.soft && defined.has(d.name) && !inPipeline.has(d.name)) {
        diags.error(
          E.hardDependency,
          { file: d.file, line: d.line, stanza: `job ${job.name}`, key: 'dependencies' },
          `job "${job.name}" has a hard dependency on "${d.name}", which is not in pipeline "${pipeline}"; list it there or make the dependency soft`,
        );
      }
    }
  }
  for (let cycle = findCycle(edges); cycle !== undefined; cycle = findCycle(edges)) {
    const d = depLine.get(`${cycle[0]!}\0${cycle[1]!}`)!;
    diags.error(
      E.dependencyCycle,
      { file: d.file, line: d.line, stanza: `job ${cycle[0]!}`, key: 'dependencies' },
      `dependency cycle in pipeline "${pipeline}": ${cycle.join(' -> ')}`,
    );
    for (const n of cycle.slice(0, -1)) edges.delete(n);
  }
}
