/**
 * `drawbridge api ...`: the CLI as a client of the REST API, for hosts that
 * reach a web process but not ZooKeeper. Readable tables by default (the
 * same renderers as the ZooKeeper-side commands), `--json` for scripts.
 */
import type { RegisteredComponent } from '../zk/index.js';
import type { PipelineStatus } from '../scheduler/index.js';
import { renderStatus } from './admin-status.js';
import { ApiClient, type ApiOptions } from './api-client.js';
import { renderComponents } from './components.js';
import type { Env } from './daemon-config-load.js';
import { EXIT, type Io } from './io.js';
import type { Plan } from './plan.js';
import { renderText } from './plan-render.js';

export interface ApiCommandOptions extends ApiOptions {
  readonly json?: boolean;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

export async function apiStatusCommand(o: ApiCommandOptions, env: Env, io: Io): Promise<number> {
  const api = await ApiClient.from(o, env, (line) => io.stderr.write(line));
  const body = await api.get<{ pipelines: PipelineStatus[] }>('/api/status');
  io.stdout.write(o.json ? json(body) : renderStatus(body.pipelines));
  return EXIT.ok;
}

export async function apiComponentsCommand(
  o: ApiCommandOptions & { kind?: string },
  env: Env,
  io: Io,
): Promise<number> {
  const api = await ApiClient.from(o, env, (line) => io.stderr.write(line));
  const body = await api.get<{ components: RegisteredComponent[] }>('/api/components', {
    kind: o.kind,
  });
  io.stdout.write(o.json ? json(body) : renderComponents(body.components, null, Date.now()));
  return EXIT.ok;
}

export async function apiEnqueueCommand(
  o: ApiCommandOptions & { pipeline: string; commit: string; ref?: string },
  env: Env,
  io: Io,
): Promise<number> {
  const api = await ApiClient.from(o, env, (line) => io.stderr.write(line));
  const body = await api.post<{ id: string }>(
    `/api/pipelines/${encodeURIComponent(o.pipeline)}/enqueue`,
    { commit: o.commit, ...(o.ref === undefined ? {} : { ref: o.ref }) },
  );
  io.stdout.write(
    o.json ? json(body) : `enqueued ${o.pipeline} at ${o.commit.slice(0, 12)}: event ${body.id}\n`,
  );
  return EXIT.ok;
}

export async function apiBuildsetCommand(
  verb: 'dequeue' | 'promote',
  o: ApiCommandOptions & { pipeline: string; buildset: string },
  env: Env,
  io: Io,
): Promise<number> {
  const api = await ApiClient.from(o, env, (line) => io.stderr.write(line));
  const p = encodeURIComponent(o.pipeline);
  const b = encodeURIComponent(o.buildset);
  const body = await api.post<{ id: string }>(`/api/pipelines/${p}/buildsets/${b}/${verb}`);
  io.stdout.write(o.json ? json(body) : `${verb} of ${o.buildset} requested: event ${body.id}\n`);
  return EXIT.ok;
}

interface RestPlan {
  pipeline: string;
  selection: Plan['selection'];
  jobs: { name: string; dependencies: string[]; level: number }[];
  selectionReasons: { name: string; selected: boolean; reason: string }[];
  levels: string[][];
  criticalPath: string[];
  estimatedMakespanMs: number | null;
  errors: { code: string; message: string }[];
}

/** 0 when the buildset could run, 1 when it could not (as `drawbridge plan`). */
export async function apiPlanCommand(
  o: ApiCommandOptions & { pipeline: string; files?: string },
  env: Env,
  io: Io,
): Promise<number> {
  const api = await ApiClient.from(o, env, (line) => io.stderr.write(line));
  const plan = await api.get<RestPlan>('/api/plan', { pipeline: o.pipeline, files: o.files });
  io.stdout.write(o.json ? json(plan) : renderText(toCliPlan(plan)));
  return plan.errors.length === 0 ? EXIT.ok : EXIT.invalid;
}

function toCliPlan(p: RestPlan): Plan {
  return {
    pipeline: p.pipeline,
    selection: p.selection,
    describe:
      p.selection.kind === 'files'
        ? `${p.selection.files.length} changed file(s)`
        : 'every job (as for a timer or manual run)',
    jobs: p.jobs.map((j) => ({
      name: j.name,
      dependencies: j.dependencies.map((name) => ({ name, soft: false })),
      level: j.level,
    })),
    selection_reasons: p.selectionReasons,
    levels: p.levels,
    critical_path: p.criticalPath,
    estimated_makespan_s: p.estimatedMakespanMs === null ? null : p.estimatedMakespanMs / 1000,
    errors: p.errors,
  };
}
