/**
 * JSON schemas of the API's responses. Fastify validates requests and
 * serialises replies with them; docs/operations.md shows the same shapes.
 */

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
        properties: { pipeline: { type: 'string' } },
        additionalProperties: true,
      },
    },
  },
} as const;

/** Every route answers errors with the same body. */
export function withErrors<T extends object>(ok: T): Record<string, unknown> {
  return { 200: ok, '4xx': errorBody, '5xx': errorBody };
}
