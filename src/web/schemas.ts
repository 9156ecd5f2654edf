/**
 * JSON schemas of the API's responses. Fastify validates requests and
 * serialises replies with them; docs/rest-api.md describes the routes.
 */

/** A full ref name as admin routes and webhooks accept it: plain characters, nothing git would quote. */
export const REF_PATTERN = '^refs/[A-Za-z0-9._/-]{1,250}$';

export const errorBody = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

export const healthBody = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', enum: ['ok'] } },
} as const;

export const readyBody = {
  type: 'object',
  required: ['status', 'zookeeper'],
  properties: {
    status: { type: 'string', enum: ['ready'] },
    zookeeper: { type: 'string' },
  },
} as const;

const component = {
  type: 'object',
  required: ['id', 'kind', 'hostname', 'pid', 'version', 'state', 'startedAt', 'extra'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    hostname: { type: 'string' },
    pid: { type: 'integer' },
    version: { type: 'string' },
    state: { type: 'string' },
    startedAt: { type: 'string' },
    extra: { type: 'object', additionalProperties: true },
  },
} as const;

export const componentsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { kind: { type: 'string', enum: ['scheduler', 'executor', 'web'] } },
} as const;

export const componentsBody = {
  type: 'object',
  required: ['components'],
  properties: { components: { type: 'array', items: component } },
} as const;

const epochMs = { type: ['number', 'null'], description: 'milliseconds since the epoch' } as const;

/** What the scheduler's StatusStep holds; open, so a field added there is still served. */
const stepProps = {
  state: { type: 'string' },
  attempt: { type: 'number' },
  reason: { type: ['string', 'null'] },
  queuedAt: epochMs,
  startedAt: epochMs,
  endedAt: epochMs,
  expectedMs: { type: 'number', description: 'from past durations; 0 when unknown' },
  remainingMs: { type: 'number' },
  lastResult: { type: ['string', 'null'] },
  logPath: { type: ['string', 'null'] },
} as const;

const statusBuildset = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    position: { type: 'number' },
    ref: { type: 'string' },
    commit: { type: 'string' },
    state: { type: 'string', description: 'queued, checkout, running or done' },
    result: { type: ['string', 'null'] },
    createdAt: epochMs,
    startedAt: epochMs,
    endedAt: epochMs,
    remainingMs: { type: 'number', description: 'left along the critical path, checkout included' },
    criticalPath: { type: 'array', items: { type: 'string' } },
    estimatedStartAt: epochMs,
    estimatedEndAt: epochMs,
    checkout: { type: 'object', additionalProperties: true, properties: stepProps },
    jobs: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        properties: {
          name: { type: 'string' },
          dependencies: { type: 'array', items: { type: 'string' } },
          ...stepProps,
        },
      },
    },
  },
} as const;

/** A pipeline's summary is the scheduler's JSON, served as written. */
export const statusBody = {
  type: 'object',
  required: ['pipelines'],
  properties: {
    pipelines: {
      type: 'array',
      items: {
        type: 'object',
        required: ['pipeline'],
        properties: {
          pipeline: { type: 'string' },
          manager: { type: 'string' },
          generatedAt: epochMs,
          buildsets: { type: 'array', items: statusBuildset },
        },
        additionalProperties: true,
      },
    },
  },
} as const;

/** Every route answers errors with the same body. */
export function withErrors<T extends object>(ok: T): Record<string, unknown> {
  return { 200: ok, '4xx': errorBody, '5xx': errorBody };
}
