/**
 * `drawbridge api ...`: the CLI as a client of the REST API, for hosts that
 * reach a web process but not ZooKeeper. Readable tables by default (the
 * same renderers as the ZooKeeper-side commands), `--json` for scripts;
 * `logs -f` and `rolling-restart` follow what they show until it ends.
 */
import { toError } from '../errors.js';
import type { RegisteredComponent } from '../zk/index.js';
import type { PipelineStatus } from '../scheduler/index.js';
import type { Operation } from '../web/index.js';
import { renderStatus } from './admin-status.js';
import { ApiClient, CliApiError, SseParser, type ApiOptions } from './api-client.js';
import { renderComponents } from './components.js';
import type { Env } from './daemon-config-load.js';
import { CliUsageError } from './errors.js';
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

/** Pauses before each attempt to resume a followed log that broke off; after the last, give up. */
export const FOLLOW_RETRY_DELAYS_MS: readonly number[] = [250, 500, 1_000, 2_000];

/**
 * A build's log; with `follow`, its lines as they are written until the build
 * ends (0), or until the server reports the log lost (1, the `failure` event).
 */
export async function apiLogsCommand(
  o: ApiOptions & { build: string; follow?: boolean },
  env: Env,
  io: Io,
): Promise<number> {
  const api = await ApiClient.from(o, env, (line) => io.stderr.write(line));
  const path = `/api/builds/${encodeURIComponent(o.build)}/log`;
  if (!o.follow) {
    io.stdout.write(await api.text(path));
    return EXIT.ok;
  }
  const stream = { path: `${path}?follow=1`, lastEventId: undefined as string | undefined };
  for (let retry = 0; ; retry++) {
    const got = await followOnce(api, stream, io);
    if (got.kind === 'end') return EXIT.ok;
    if (got.kind === 'failure') {
      io.stderr.write(`drawbridge: the log of ${o.build} cannot be followed: ${got.message}\n`);
      return EXIT.invalid;
    }
    // Lines came through since the last break: a fresh break gets every retry again.
    if (got.progressed) retry = 0;
    const delay = FOLLOW_RETRY_DELAYS_MS[retry];
    if (delay === undefined)
      throw new CliApiError(
        `${api.base}${stream.path}`,
        got.error.status,
        got.error.serverCode,
        `the log stream broke off and ${FOLLOW_RETRY_DELAYS_MS.length} attempts to resume it ` +
          `failed; the last: ${got.error.reason}`,
      );
    const from = stream.lastEventId === undefined ? 'the start' : `byte ${stream.lastEventId}`;
    io.stderr.write(
      `drawbridge: the log stream broke off (${got.error.reason}); resuming from ${from} in ${delay} ms\n`,
    );
    await new Promise((r) => setTimeout(r, delay));
  }
}

type FollowOutcome =
  | { kind: 'end' }
  | { kind: 'failure'; message: string }
  | { kind: 'broken'; error: CliApiError; progressed: boolean };

/** One connection of a follow: prints its lines and keeps the id to resume from. */
async function followOnce(
  api: ApiClient,
  stream: { path: string; lastEventId: string | undefined },
  io: Io,
): Promise<FollowOutcome> {
  const url = `${api.base}${stream.path}`;
  let body: ReadableStream<Uint8Array>;
  try {
    body = await api.events(stream.path, stream.lastEventId);
  } catch (e) {
    // Unreachable, no answer, or a server error (a draining web answers 503): worth another try.
    if (e instanceof CliApiError && (e.status === null || e.status >= 500))
      return { kind: 'broken', error: e, progressed: false };
    throw e;
  }
  const parser = new SseParser(stream.lastEventId);
  const reader = body.getReader();
  let progressed = false;
  const broken = (reason: string): FollowOutcome => ({
    kind: 'broken',
    error: new CliApiError(url, null, null, reason),
    progressed,
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return broken('the server closed it before the log ended');
      for (const event of parser.push(value)) {
        if (parser.lastEventId !== '') stream.lastEventId = parser.lastEventId;
        if (event.type === 'end') return { kind: 'end' };
        if (event.type === 'failure') return { kind: 'failure', message: failureMessage(event) };
        if (event.type !== 'message') continue;
        io.stdout.write(`${event.data}\n`);
        progressed = true;
      }
    }
  } catch (e) {
    const cause = (toError(e) as Error & { cause?: unknown }).cause;
    return broken(cause === undefined ? toError(e).message : toError(cause).message);
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** The `failure` event carries `{"message": ...}`; anything else is shown as it came. */
function failureMessage(event: { data: string }): string {
  try {
    const message = (JSON.parse(event.data) as { message?: unknown } | null)?.message;
    if (typeof message === 'string') return message;
  } catch {
    // Not JSON: the data itself is the best description there is.
  }
  return event.data;
}

/** Between two looks at a rolling restart's progress (ms). */
const POLL_MS = 1_000;
/** While its progress stands still, a "still waiting" line this often (ms). */
const REMIND_MS = 5_000;
/** How long `api rolling-restart` waits by default (s): the restart goes on after it. */
export const DEFAULT_RESTART_WAIT_S = 3_600;

/** What the CLI reads of the rolling restart record in an operation's `detail`. */
interface RestartProgress {
  readonly message: string;
  readonly steps: readonly { readonly state: string }[];
  readonly error: { readonly code: string; readonly message: string } | null;
  /** False once the web process that drove it is gone: it will not move any more. */
  readonly driverAlive: boolean;
}

/**
 * Starts a rolling restart of the schedulers through the API and follows it:
 * 0 once it succeeded; 1 when it failed, the server refused to start one (409),
 * its driver is gone, or `--timeout` passed first (it goes on on the server then).
 */
export async function apiRollingRestartCommand(
  o: ApiCommandOptions & { timeout?: string },
  env: Env,
  io: Io,
): Promise<number> {
  const timeoutS = o.timeout === undefined ? DEFAULT_RESTART_WAIT_S : Number(o.timeout);
  if (o.timeout !== undefined && !(/^\d+(\.\d+)?$/.test(o.timeout) && timeoutS > 0))
    throw new CliUsageError(`--timeout: expected seconds > 0, got "${o.timeout}"`, '--timeout');
  const api = await ApiClient.from(o, env, (line) => io.stderr.write(line));
  let op: Operation;
  try {
    op = await api.post<Operation>('/api/admin/rolling-restart');
  } catch (e) {
    if (!(e instanceof CliApiError && e.status === 409)) throw e;
    io.stderr.write(`drawbridge: ${e.reason}${e.serverCode ? ` (${e.serverCode})` : ''}\n`);
    return EXIT.invalid;
  }
  const started = Date.now();
  const deadline = started + timeoutS * 1000;
  const first = progressOf(op);
  if (!o.json)
    io.stdout.write(`rolling restart ${op.id}: ${first.steps.length} schedulers, one at a time\n`);
  let shown = '';
  let shownAt = started;
  for (;;) {
    const p = progressOf(op);
    const key = JSON.stringify([p.message, p.steps.map((s) => s.state)]);
    if (key !== shown) {
      const done = p.steps.filter((s) => s.state === 'done' || s.state === 'gone').length;
      io.stderr.write(`  [${done}/${p.steps.length}] ${p.message}\n`);
      [shown, shownAt] = [key, Date.now()];
    } else if (Date.now() - shownAt >= REMIND_MS) {
      const waited = Math.round((Date.now() - started) / 1000);
      io.stderr.write(`  still waiting (${waited} s): ${p.message}\n`);
      shownAt = Date.now();
    }
    const ended = restartEnded(op, p, timeoutS, deadline - Date.now());
    if (ended !== undefined) {
      if (o.json) io.stdout.write(json(op));
      if (ended.ok) io.stdout.write(o.json ? '' : `${ended.line}\n`);
      else io.stderr.write(`drawbridge: ${ended.line}\n`);
      return ended.ok ? EXIT.ok : EXIT.invalid;
    }
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, deadline - Date.now())));
    op = await api.get<Operation>(`/api/admin/operations/${encodeURIComponent(op.id)}`);
  }
}

/** Whether to stop following, and the last line to print; undefined: keep following. */
function restartEnded(
  op: Operation,
  p: RestartProgress,
  timeoutS: number,
  leftMs: number,
): { ok: boolean; line: string } | undefined {
  const name = `rolling restart ${op.id}`;
  if (op.state === 'succeeded') return { ok: true, line: `${name} succeeded: ${p.message}` };
  if (op.state === 'failed') {
    const why = p.error === null ? p.message : `${p.error.message} (${p.error.code})`;
    return { ok: false, line: `${name} failed: ${why}` };
  }
  if (!p.driverAlive)
    return {
      ok: false,
      line: `${name} stopped moving: the web process that drove it is gone (${p.message}); start another`,
    };
  if (leftMs <= 0)
    return {
      ok: false,
      line:
        `${name} is still ${op.state} after ${timeoutS} s; stopped waiting ` +
        `(it goes on: GET /api/admin/operations/${op.id})`,
    };
  return undefined;
}

/** The progress fields of the record, read defensively: `detail` is free-form by contract. */
function progressOf(op: Operation): RestartProgress {
  const d = op.detail ?? {};
  const steps = Array.isArray(d['steps']) ? (d['steps'] as unknown[]) : [];
  const error = d['error'] as { code?: unknown; message?: unknown } | null | undefined;
  return {
    message: typeof d['message'] === 'string' ? d['message'] : op.state,
    steps: steps.map((s) => ({ state: String((s as { state?: unknown } | null)?.state) })),
    error:
      typeof error?.code === 'string' && typeof error.message === 'string'
        ? { code: error.code, message: error.message }
        : null,
    driverAlive: d['driverAlive'] !== false,
  };
}
