/**
 * History: `/api/buildsets`, `/api/builds` (filter by pipeline, job,
 * result, ref, time range; limit and skip) and one of each by id, read from
 * the SQL history (src/history). Only finished buildsets are there; running
 * ones are in `/api/status`. Times are ISO 8601 strings.
 */
import { toError } from '../errors.js';
import {
  HistoryUnavailableError,
  type HistoryBuild,
  type HistoryBuildset,
  type HistoryFilter,
  type HistoryReader,
} from '../history/index.js';
import type { WebApp, WebDeps } from './app.js';
import { WebBadRequestError, WebError, WebUnavailableError } from './errors.js';
import { withErrors } from './schemas.js';

/** The buildset or build is not in the history (yet: it may still run). */
export class WebHistoryNotFoundError extends WebError {
  readonly code = 'DRAWBRIDGE_ERR_WEB_HISTORY_NOT_FOUND';
  readonly statusCode = 404;
  constructor(
    readonly kind: 'buildset' | 'build',
    readonly id: string,
  ) {
    super(`no finished ${kind} ${JSON.stringify(id)} in the history`);
  }
}

export const PAGE_DEFAULT = 50;
export const PAGE_MAX = 500;

const name = { type: 'string', minLength: 1, maxLength: 200 } as const;
const time = {
  type: 'string',
  minLength: 1,
  maxLength: 40,
  description: 'ISO 8601 date-time, or epoch milliseconds',
} as const;

export const historyQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    pipeline: name,
    job: name,
    result: { type: 'string', pattern: '^[A-Z_]{1,20}$' },
    ref: { type: 'string', minLength: 1, maxLength: 400 },
    since: time,
    until: time,
    limit: { type: 'integer', minimum: 1, maximum: PAGE_MAX, default: PAGE_DEFAULT },
    skip: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0 },
  },
} as const;

const nullableString = { type: ['string', 'null'] } as const;
const iso = { type: 'string', format: 'date-time' } as const;
const isoOrNull = { type: ['string', 'null'], format: 'date-time' } as const;

const buildsetItem = {
  type: 'object',
  required: ['id', 'pipeline', 'ref', 'commit', 'result', 'createdAt', 'endedAt'],
  properties: {
    id: { type: 'string' },
    pipeline: { type: 'string' },
    ref: { type: 'string' },
    commit: { type: 'string' },
    oldCommit: nullableString,
    trigger: {
      type: 'object',
      properties: { kind: { type: 'string' }, detail: { type: 'string' } },
    },
    changedFiles: { type: ['array', 'null'], items: { type: 'string' } },
    layoutVersion: { type: 'string' },
    result: { type: 'string' },
    message: nullableString,
    createdAt: iso,
    startedAt: isoOrNull,
    endedAt: iso,
    durationMs: { type: ['integer', 'null'] },
  },
} as const;

const buildItem = {
  type: 'object',
  required: ['id', 'buildsetId', 'pipeline', 'job', 'kind', 'result', 'attempt', 'endedAt'],
  properties: {
    id: { type: 'string' },
    buildsetId: { type: 'string' },
    pipeline: { type: 'string' },
    job: { type: 'string' },
    kind: { type: 'string', enum: ['checkout', 'job'] },
    ref: { type: 'string' },
    commit: { type: 'string' },
    result: { type: 'string' },
    attempt: { type: 'integer' },
    reason: nullableString,
    queuedAt: isoOrNull,
    startedAt: isoOrNull,
    endedAt: iso,
    durationMs: { type: ['integer', 'null'] },
    exitCode: { type: ['integer', 'null'] },
    logPath: nullableString,
    logUrl: { type: 'string', description: 'this API route serving the log' },
  },
} as const;

const page = { more: { type: 'boolean' }, limit: { type: 'integer' }, skip: { type: 'integer' } };

export const buildsetsBody = {
  type: 'object',
  required: ['buildsets', 'more', 'limit', 'skip'],
  properties: { buildsets: { type: 'array', items: buildsetItem }, ...page },
} as const;

export const buildsBody = {
  type: 'object',
  required: ['builds', 'more', 'limit', 'skip'],
  properties: { builds: { type: 'array', items: buildItem }, ...page },
} as const;

const buildsetBody = {
  type: 'object',
  required: ['buildset', 'builds'],
  properties: { buildset: buildsetItem, builds: { type: 'array', items: buildItem } },
} as const;

const buildBody = {
  type: 'object',
  required: ['build'],
  properties: { build: buildItem },
} as const;

const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 300 } },
} as const;

interface HistoryQuery {
  pipeline?: string;
  job?: string;
  result?: string;
  ref?: string;
  since?: string;
  until?: string;
  limit: number;
  skip: number;
}

export function historyRoutes(app: WebApp, deps: WebDeps): void {
  app.get<{ Querystring: HistoryQuery }>(
    '/api/buildsets',
    { schema: { querystring: historyQuery, response: withErrors(buildsetsBody) } },
    async (request) => {
      const { limit, skip } = request.query;
      const page = await fromHistory(deps, (h) =>
        h.listBuildsets(filterOf(request.query), { limit, skip }),
      );
      return { buildsets: page.items.map(buildsetView), more: page.more, limit, skip };
    },
  );

  app.get<{ Querystring: HistoryQuery }>(
    '/api/builds',
    { schema: { querystring: historyQuery, response: withErrors(buildsBody) } },
    async (request) => {
      const { limit, skip } = request.query;
      const page = await fromHistory(deps, (h) =>
        h.listBuilds(filterOf(request.query), { limit, skip }),
      );
      return { builds: page.items.map(buildView), more: page.more, limit, skip };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/buildsets/:id',
    { schema: { params: idParams, response: withErrors(buildsetBody) } },
    async (request) => {
      const entry = await fromHistory(deps, (h) => h.getBuildset(request.params.id));
      if (entry === null) throw new WebHistoryNotFoundError('buildset', request.params.id);
      return { buildset: buildsetView(entry.buildset), builds: entry.builds.map(buildView) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/builds/:id',
    { schema: { params: idParams, response: withErrors(buildBody) } },
    async (request) => {
      const build = await fromHistory(deps, (h) => h.getBuild(request.params.id));
      if (build === null) throw new WebHistoryNotFoundError('build', request.params.id);
      return { build: buildView(build) };
    },
  );
}

/**
 * Without a history (an app embedded without one; the daemon always has
 * one) the history is empty rather than an error: nothing finished is known.
 */
const NO_HISTORY: HistoryReader = {
  listBuildsets: () => Promise.resolve({ items: [], more: false }),
  listBuilds: () => Promise.resolve({ items: [], more: false }),
  getBuildset: () => Promise.resolve(null),
  getBuild: () => Promise.resolve(null),
  stats: () => Promise.resolve({ buildsets: [], builds: [], durations: [] }),
};

/** Runs a history call; a database that is away is a 503. */
export async function fromHistory<T>(
  deps: WebDeps,
  call: (h: HistoryReader) => Promise<T>,
): Promise<T> {
  try {
    return await call(deps.history ?? NO_HISTORY);
  } catch (e) {
    if (e instanceof HistoryUnavailableError) throw new WebUnavailableError(e.message);
    throw toError(e);
  }
}

function filterOf(q: HistoryQuery): HistoryFilter {
  const since = q.since === undefined ? undefined : instant('since', q.since);
  const until = q.until === undefined ? undefined : instant('until', q.until);
  return {
    ...(q.pipeline === undefined ? {} : { pipeline: q.pipeline }),
    ...(q.job === undefined ? {} : { job: q.job }),
    ...(q.result === undefined ? {} : { result: q.result }),
    ...(q.ref === undefined ? {} : { ref: q.ref }),
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
  };
}

/** `2026-01-31T12:00:00Z`, `2026-01-31`, or epoch milliseconds. */
function instant(key: string, text: string): number {
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms) || ms < 0 || ms > 8.64e15)
    throw new WebBadRequestError(
      `querystring/${key} must be an ISO 8601 date-time or epoch milliseconds`,
    );
  return ms;
}

const isoOf = (ms: number): string => new Date(ms).toISOString();
const isoOrNullOf = (ms: number | null): string | null => (ms === null ? null : isoOf(ms));

function buildsetView(b: HistoryBuildset): Record<string, unknown> {
  return {
    id: b.id,
    pipeline: b.pipeline,
    ref: b.ref,
    commit: b.commit,
    oldCommit: b.oldCommit,
    trigger: { kind: b.triggerKind, detail: b.triggerDetail },
    changedFiles: b.changedFiles,
    layoutVersion: b.layoutVersion,
    result: b.result,
    message: b.message,
    createdAt: isoOf(b.createdAt),
    startedAt: isoOrNullOf(b.startedAt),
    endedAt: isoOf(b.endedAt),
    durationMs: b.startedAt === null ? null : b.endedAt - b.startedAt,
  };
}

function buildView(b: HistoryBuild): Record<string, unknown> {
  return {
    id: b.id,
    buildsetId: b.buildsetId,
    pipeline: b.pipeline,
    job: b.job,
    kind: b.kind,
    ref: b.ref,
    commit: b.commit,
    result: b.result,
    attempt: b.attempt,
    reason: b.reason,
    queuedAt: isoOrNullOf(b.queuedAt),
    startedAt: isoOrNullOf(b.startedAt),
    endedAt: isoOf(b.endedAt),
    durationMs: b.startedAt === null ? null : b.endedAt - b.startedAt,
    exitCode: b.exitCode,
    logPath: b.logPath,
    logUrl: `/api/builds/${encodeURIComponent(b.id)}/log`,
  };
}
