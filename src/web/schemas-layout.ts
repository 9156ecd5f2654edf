/**
 * JSON schemas of the layout routes (pipelines, jobs, plan, semaphores) and
 * of `/api/info`. A parameter a schema does not name is a 400.
 */

const name = { type: 'string', minLength: 1, maxLength: 200 } as const;
const strings = { type: 'array', items: { type: 'string' } } as const;
const source = { type: 'string', description: 'file:line of the definition' } as const;

export const infoBody = {
  type: 'object',
  required: ['name', 'version', 'layoutVersion', 'readProtected', 'auth', 'webhooks'],
  properties: {
    name: { type: 'string' },
    version: { type: 'string' },
    layoutVersion: { type: ['string', 'null'] },
    publicUrl: { type: ['string', 'null'] },
    readProtected: { type: 'boolean' },
    auth: {
      type: 'object',
      required: ['tokens', 'jwt'],
      properties: { tokens: { type: 'boolean' }, jwt: { type: 'boolean' } },
    },
    webhooks: strings,
  },
} as const;

const trigger = {
  type: 'object',
  required: ['kind'],
  properties: {
    kind: { type: 'string', enum: ['timer', 'ref-updated', 'manual'] },
    time: { type: 'string' },
    refs: strings,
    branches: strings,
  },
} as const;

const pipeline = {
  type: 'object',
  required: ['name', 'manager', 'precedence', 'description', 'triggers', 'semaphores', 'jobs'],
  properties: {
    name: { type: 'string' },
    manager: { type: 'string', enum: ['serial', 'supercedent', 'independent'] },
    precedence: { type: 'string' },
    description: { type: ['string', 'null'] },
    triggers: { type: 'array', items: trigger },
    semaphores: strings,
    jobs: strings,
  },
} as const;

export const pipelinesBody = {
  type: 'object',
  required: ['layoutVersion', 'pipelines'],
  properties: { layoutVersion: { type: 'string' }, pipelines: { type: 'array', items: pipeline } },
} as const;

const dependency = {
  type: 'object',
  required: ['name', 'soft'],
  properties: { name: { type: 'string' }, soft: { type: 'boolean' } },
} as const;

export const job = {
  type: 'object',
  required: [
    'name',
    'parent',
    'description',
    'abstract',
    'playbook',
    'dependencies',
    'files',
    'irrelevantFiles',
    'semaphores',
    'timeoutMs',
    'attempts',
    'varNames',
    'pipelines',
    'source',
  ],
  properties: {
    name: { type: 'string' },
    parent: { type: ['string', 'null'] },
    description: { type: ['string', 'null'] },
    abstract: { type: 'boolean' },
    playbook: { type: ['string', 'null'] },
    dependencies: { type: 'array', items: dependency },
    files: strings,
    irrelevantFiles: strings,
    semaphores: strings,
    timeoutMs: { type: ['integer', 'null'] },
    attempts: { type: 'integer' },
    varNames: { ...strings, description: 'names only: values may be sensitive' },
    pipelines: strings,
    source,
  },
} as const;

export const jobsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { pipeline: name },
} as const;

export const jobsBody = {
  type: 'object',
  required: ['layoutVersion', 'jobs'],
  properties: { layoutVersion: { type: 'string' }, jobs: { type: 'array', items: job } },
} as const;

export const jobParams = {
  type: 'object',
  required: ['name'],
  properties: { name },
} as const;

export const jobBody = {
  type: 'object',
  required: ['layoutVersion', 'job'],
  properties: { layoutVersion: { type: 'string' }, job },
} as const;

export const planQuery = {
  type: 'object',
  required: ['pipeline'],
  additionalProperties: false,
  properties: {
    pipeline: name,
    files: {
      description: 'changed files: repeat the parameter, or separate them with commas',
      anyOf: [
        { type: 'string', maxLength: 100_000 },
        { type: 'array', maxItems: 10_000, items: { type: 'string', maxLength: 4096 } },
      ],
    },
  },
} as const;

export const planBody = {
  type: 'object',
  required: [
    'pipeline',
    'layoutVersion',
    'selection',
    'jobs',
    'selectionReasons',
    'levels',
    'criticalPath',
    'estimatedMakespanMs',
    'errors',
  ],
  properties: {
    pipeline: { type: 'string' },
    layoutVersion: { type: 'string' },
    selection: {
      type: 'object',
      required: ['kind'],
      properties: { kind: { type: 'string', enum: ['all', 'files'] }, files: strings },
    },
    jobs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'dependencies', 'level', 'expectedMs'],
        properties: {
          name: { type: 'string' },
          dependencies: strings,
          level: { type: 'integer' },
          expectedMs: { type: ['number', 'null'] },
        },
      },
    },
    selectionReasons: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'selected', 'reason'],
        properties: {
          name: { type: 'string' },
          selected: { type: 'boolean' },
          reason: { type: 'string' },
        },
      },
    },
    levels: { type: 'array', items: strings },
    criticalPath: strings,
    estimatedMakespanMs: {
      type: ['number', 'null'],
      description: 'from past durations; null when a job on the path has none',
    },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['code', 'message'],
        properties: { code: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const;

export const semaphoresBody = {
  type: 'object',
  required: ['semaphores'],
  properties: {
    semaphores: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'max', 'holders'],
        properties: {
          name: { type: 'string' },
          max: { type: 'integer' },
          holders: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id', 'owner'],
              properties: { id: { type: 'string' }, owner: { type: 'string' } },
            },
          },
        },
      },
    },
  },
} as const;
