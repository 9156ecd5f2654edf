/**
 * What the layout says: `/api/pipelines`, `/api/jobs`, `/api/jobs/:name`
 * and `/api/plan` (the buildset a change would get, as `drawbridge plan`
 * prints it). The layout comes through a port, so web does not care
 * whether it was read from files or, after a reconfiguration, elsewhere.
 */
import type { Job, Layout, Pipeline, Trigger } from '../config/index.js';
import { criticalPath, freezeGraph, topologicalLevels } from '../graph/index.js';
import type { Selection } from '../graph/index.js';
import type { WebApp, WebDeps } from './app.js';
import { WebUnavailableError, WebUnknownError, WebUnknownPipelineError } from './errors.js';
import {
  jobBody,
  jobParams,
  jobsBody,
  jobsQuery,
  pipelinesBody,
  planBody,
  planQuery,
} from './schemas-layout.js';
import { withErrors } from './schemas.js';

export interface CurrentLayout {
  readonly layout: Layout;
  readonly version: string;
}

/** The layout web answers from; undefined while none could be loaded. */
export type LayoutProvider = () => Promise<CurrentLayout | undefined>;

/** Past duration of one build of a job (from history); undefined when unknown. */
export type ExpectedDuration = (job: string) => Promise<number | undefined> | number | undefined;

export async function currentLayout(deps: WebDeps): Promise<CurrentLayout> {
  const current = deps.layout === undefined ? undefined : await deps.layout();
  if (current === undefined) throw new WebUnavailableError('no job layout is loaded');
  return current;
}

/** The pipeline, or a 404 that lists the ones the current layout has. */
export function knownPipeline({ layout, version }: CurrentLayout, name: string): Pipeline {
  const p = layout.pipelines.get(name);
  if (p === undefined)
    throw new WebUnknownPipelineError(name, [...layout.pipelines.keys()], version);
  return p;
}

export function layoutRoutes(app: WebApp, deps: WebDeps): void {
  const read = { access: 'read' as const };

  app.get(
    '/api/pipelines',
    { config: read, schema: { response: withErrors(pipelinesBody) } },
    async () => {
      const { layout, version } = await currentLayout(deps);
      return {
        layoutVersion: version,
        pipelines: [...layout.pipelines.values()].map((p) => ({
          name: p.name,
          manager: p.manager,
          precedence: p.precedence,
          description: p.description ?? null,
          triggers: p.triggers.map(triggerView),
          semaphores: [...p.semaphores],
          jobs: (layout.pipelineJobs.get(p.name) ?? []).map((j) => j.name),
        })),
      };
    },
  );

  app.get<{ Querystring: { pipeline?: string } }>(
    '/api/jobs',
    { config: read, schema: { querystring: jobsQuery, response: withErrors(jobsBody) } },
    async (request) => {
      const current = await currentLayout(deps);
      const { layout, version } = current;
      const only = request.query.pipeline;
      if (only !== undefined) knownPipeline(current, only);
      const names =
        only === undefined
          ? [...layout.jobs.keys()]
          : (layout.pipelineJobs.get(only) ?? []).map((j) => j.name);
      const jobs = names.flatMap((n) => {
        const j = layout.jobs.get(n);
        return j === undefined ? [] : [jobView(layout, j)];
      });
      return { layoutVersion: version, jobs };
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api/jobs/:name',
    { config: read, schema: { params: jobParams, response: withErrors(jobBody) } },
    async (request) => {
      const { layout, version } = await currentLayout(deps);
      const job = layout.jobs.get(request.params.name);
      if (job === undefined) throw new WebUnknownError('job', request.params.name);
      return { layoutVersion: version, job: jobView(layout, job) };
    },
  );

  app.get<{ Querystring: { pipeline: string; files?: string | string[] } }>(
    '/api/plan',
    { config: read, schema: { querystring: planQuery, response: withErrors(planBody) } },
    async (request) => {
      const current = await currentLayout(deps);
      const { layout, version } = current;
      knownPipeline(current, request.query.pipeline);
      const selection = selectionOf(request.query.files);
      return {
        ...(await plan(layout, request.query.pipeline, selection, deps.expectedMs)),
        layoutVersion: version,
      };
    },
  );
}

function selectionOf(files: string | string[] | undefined): Selection {
  if (files === undefined) return { kind: 'all' };
  const list = (Array.isArray(files) ? files : [files])
    .flatMap((f) => f.split(','))
    .map((f) => f.trim())
    .filter((f) => f !== '');
  return { kind: 'files', files: list };
}

async function plan(
  layout: Layout,
  pipeline: string,
  selection: Selection,
  expected: ExpectedDuration | undefined,
): Promise<Omit<PlanView, 'layoutVersion'>> {
  const jobs = layout.pipelineJobs.get(pipeline) ?? [];
  const graph = freezeGraph(jobs, selection);
  const errors = graph.errors.map((e) => ({ code: e.code, message: e.message }));
  // Levels and the critical path need an acyclic graph; freeze reports a cycle as an error.
  const runnable = errors.length === 0;
  const levels = runnable ? topologicalLevels(graph) : [];
  const levelOf = new Map(levels.flatMap((names, i) => names.map((n) => [n, i + 1] as const)));
  const durations = new Map<string, number | undefined>();
  for (const j of graph.jobs) durations.set(j.name, await expected?.(j.name));
  const known = (n: string) => {
    const d = durations.get(n);
    return d !== undefined && Number.isFinite(d) && d >= 0 ? d : undefined;
  };
  const critical =
    runnable && graph.jobs.length > 0 ? criticalPath(graph, (n) => known(n) ?? 0) : undefined;
  const unknown = critical?.path.some((n) => known(n) === undefined) ?? true;
  return {
    pipeline,
    selection,
    jobs: graph.jobs.map((j) => ({
      name: j.name,
      dependencies: [...j.dependencies],
      level: levelOf.get(j.name) ?? 0,
      expectedMs: known(j.name) ?? null,
    })),
    selectionReasons: graph.selection.map((r) => ({
      name: r.job,
      selected: r.selected,
      reason: r.message,
    })),
    levels,
    criticalPath: critical?.path ?? [],
    estimatedMakespanMs: critical && !unknown ? critical.makespanMs : null,
    errors,
  };
}

interface PlanView {
  readonly pipeline: string;
  readonly layoutVersion: string;
  readonly selection: Selection;
  readonly jobs: {
    name: string;
    dependencies: string[];
    level: number;
    expectedMs: number | null;
  }[];
  readonly selectionReasons: { name: string; selected: boolean; reason: string }[];
  readonly levels: string[][];
  readonly criticalPath: string[];
  readonly estimatedMakespanMs: number | null;
  readonly errors: { code: string; message: string }[];
}

function triggerView(t: Trigger): Record<string, unknown> {
  if (t.kind === 'timer') return { kind: t.kind, time: t.time };
  if (t.kind === 'manual') return { kind: t.kind };
  return { kind: t.kind, refs: [...t.refs], branches: [...t.branches] };
}

function jobView(layout: Layout, j: Job): Record<string, unknown> {
  const pipelines = [...layout.pipelineJobs]
    .filter(([, jobs]) => jobs.some((r) => r.name === j.name))
    .map(([p]) => p);
  return {
    name: j.name,
    parent: j.parent ?? null,
    description: j.description ?? null,
    abstract: j.abstract,
    playbook: j.playbook ?? null,
    dependencies: j.dependencies.map((d) => ({ name: d.name, soft: d.soft })),
    files: [...j.files],
    irrelevantFiles: [...j.irrelevantFiles],
    semaphores: [...j.semaphores],
    timeoutMs: j.timeoutMs ?? null,
    attempts: j.attempts,
    varNames: Object.keys(j.vars).sort(),
    pipelines,
    source: `${j.source.file}:${j.source.line}`,
  };
}
