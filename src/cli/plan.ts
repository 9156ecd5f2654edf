import { formatDiagnostic, loadLayout, pipelineJobs } from '../config/index.js';
import type { ResolvedJob } from '../config/index.js';
import {
  criticalPath,
  durationsFromSeconds,
  freezeGraph,
  topologicalLevels,
} from '../graph/index.js';
import type { FrozenGraph, Selection } from '../graph/index.js';
import { CliUsageError } from './errors.js';
import { EXIT, type Io } from './io.js';
import { parseSeconds, readDurations, selectionFrom } from './plan-input.js';
import { renderDot, renderText } from './plan-render.js';

export interface PlanOptions {
  readonly pipeline: string;
  readonly files?: string;
  readonly gitRange?: string;
  readonly repo: string;
  readonly durations?: string;
  readonly defaultDuration: string;
  readonly format: 'text' | 'json' | 'dot';
  readonly playbookDir: string;
  readonly project?: string;
}

/** Everything a plan says, in the shape `--format json` prints. */
export interface Plan {
  readonly pipeline: string;
  readonly selection: Selection;
  readonly describe: string;
  readonly jobs: { name: string; dependencies: { name: string; soft: boolean }[]; level: number }[];
  readonly selection_reasons: { name: string; selected: boolean; reason: string }[];
  readonly levels: string[][];
  readonly critical_path: string[];
  readonly estimated_makespan_s: number | null;
  readonly errors: { code: string; message: string }[];
}

/** `drawbridge plan`: 0 when the buildset could run, 1 when it could not. */
export async function planCommand(
  paths: readonly string[],
  options: PlanOptions,
  io: Io,
): Promise<number> {
  const defaultSeconds = parseSeconds(options.defaultDuration, '--default-duration');
  const { selection, describe } = await selectionFrom(options);
  const durations = options.durations ? await readDurations(options.durations) : {};

  const loaded = await loadLayout(paths, {
    playbookDir: options.playbookDir,
    ...(options.project === undefined ? {} : { projectName: options.project }),
  });
  for (const d of [...loaded.errors, ...loaded.warnings])
    io.stderr.write(`${formatDiagnostic(d)}\n`);
  if (!loaded.layout) {
    io.stderr.write(`layout invalid: ${loaded.errors.length} errors; no plan\n`);
    return EXIT.invalid;
  }
  if (!loaded.layout.pipelines.has(options.pipeline)) {
    const known = [...loaded.layout.pipelines.keys()].join(', ') || '(none)';
    throw new CliUsageError(
      `no pipeline "${options.pipeline}" in the layout; it has: ${known}`,
      '--pipeline',
    );
  }

  const jobs = pipelineJobs(loaded.layout, options.pipeline);
  const graph = freezeGraph(jobs, selection);
  const plan = buildPlan(
    options.pipeline,
    selection,
    describe,
    jobs,
    graph,
    durationsFromSeconds(durations, defaultSeconds),
  );

  if (options.format === 'json') io.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
  else if (options.format === 'dot') io.stdout.write(renderDot(plan));
  else io.stdout.write(renderText(plan));
  return plan.errors.length === 0 ? EXIT.ok : EXIT.invalid;
}

function buildPlan(
  pipeline: string,
  selection: Selection,
  describe: string,
  jobs: readonly ResolvedJob[],
  graph: FrozenGraph,
  durationMs: (job: string) => number,
): Plan {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const errors = graph.errors.map((e) => ({ code: e.code, message: e.message }));
  // Levels and the critical path need an acyclic graph; freeze reports a cycle as an error.
  const runnable = errors.length === 0;
  const levels = runnable ? topologicalLevels(graph) : [];
  const levelOf = new Map(levels.flatMap((names, i) => names.map((n) => [n, i + 1] as const)));
  const critical = runnable && graph.jobs.length > 0 ? criticalPath(graph, durationMs) : undefined;
  return {
    pipeline,
    selection,
    describe,
    jobs: graph.jobs.map((job) => ({
      name: job.name,
      dependencies: job.dependencies.map((dep) => ({
        name: dep,
        soft: byName.get(job.name)?.dependencies.find((d) => d.name === dep)?.soft ?? false,
      })),
      level: levelOf.get(job.name) ?? 0,
    })),
    selection_reasons: graph.selection.map((r) => ({
      name: r.job,
      selected: r.selected,
      reason: r.message,
    })),
    levels,
    critical_path: critical?.path ?? [],
    estimated_makespan_s: critical ? critical.makespanMs / 1000 : null,
    errors,
  };
}
