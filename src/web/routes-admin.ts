/**
 * Admin actions. Operators enqueue, dequeue and promote buildsets; admins
 * reconfigure, restart schedulers and steer executors. Each becomes an
 * event or operation through the AdminActions port (admin.ts); an action
 * the port does not offer answers 501 `DRAWBRIDGE_ERR_WEB_NOT_IMPLEMENTED`.
 */
import type { FastifyRequest } from 'fastify';
import type { AdminActions, ExecutorAction, Requester } from './admin.js';
import type { WebApp, WebDeps } from './app.js';
import { WebNotImplementedError, WebUnknownError } from './errors.js';
import { assertReady } from './routes-health.js';
import { currentLayout, knownPipeline } from './routes-layout.js';
import { REF_PATTERN, withErrors } from './schemas.js';

const segment = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' } as const;
const SHA = { type: 'string', pattern: '^[0-9a-f]{40}$' } as const;
const REF = { type: 'string', pattern: REF_PATTERN } as const;

const pipelineParams = {
  type: 'object',
  required: ['pipeline'],
  properties: { pipeline: segment },
} as const;
const buildsetParams = {
  type: 'object',
  required: ['pipeline', 'buildset'],
  properties: { pipeline: segment, buildset: segment },
} as const;
const enqueueBody = {
  type: 'object',
  required: ['commit'],
  additionalProperties: false,
  properties: {
    commit: SHA,
    ref: { ...REF, description: 'defaults to the configured branch, refs/heads/<branch>' },
  },
} as const;
const acceptedBody = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string' } },
} as const;
const operationBody = {
  type: 'object',
  required: ['id', 'kind', 'state'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    state: { type: 'string' },
    detail: { type: 'object', additionalProperties: true },
  },
} as const;
const accepted = (body: object) => ({ ...withErrors(body), 202: body });

function requester(request: FastifyRequest): Requester {
  const p = request.principal;
  return { by: p ? `rest (${p.via} ${p.name})` : 'rest (anonymous)' };
}

export function adminRoutes(app: WebApp, deps: WebDeps): void {
  const actions = (): AdminActions => {
    assertReady(deps);
    if (deps.admin === undefined) throw new WebNotImplementedError('admin actions');
    return deps.admin;
  };
  const operator = { access: 'operator' as const };
  const admin = { access: 'admin' as const };

  app.post<{ Params: { pipeline: string }; Body: { commit: string; ref?: string } }>(
    '/api/pipelines/:pipeline/enqueue',
    {
      config: operator,
      schema: { params: pipelineParams, body: enqueueBody, response: accepted(acceptedBody) },
    },
    async (request, reply) => {
      // Checked against the layout ZooKeeper names current now: an event for a
      // pipeline no scheduler runs would never be read.
      const pipeline = knownPipeline(await currentLayout(deps), request.params.pipeline).name;
      const ref = request.body.ref ?? `refs/heads/${deps.defaultBranch ?? 'master'}`;
      const done = await actions().enqueue({
        ...requester(request),
        pipeline,
        ref,
        commit: request.body.commit,
      });
      return reply.code(202).send(done);
    },
  );

  for (const verb of ['dequeue', 'promote'] as const)
    app.post<{ Params: { pipeline: string; buildset: string } }>(
      `/api/pipelines/:pipeline/buildsets/:buildset/${verb}`,
      { config: operator, schema: { params: buildsetParams, response: accepted(acceptedBody) } },
      async (request, reply) => {
        const { pipeline, buildset } = request.params;
        const port = actions();
        knownPipeline(await currentLayout(deps), pipeline);
        if ((await deps.zk.exists(deps.paths.buildset(pipeline, buildset))) === null)
          throw new WebUnknownError('buildset', `${pipeline}/${buildset}`);
        const done = await port[verb]({ ...requester(request), pipeline, buildsetId: buildset });
        return reply.code(202).send(done);
      },
    );

  for (const [path, kind] of [
    ['/api/admin/reconfigure', 'reconfigure'],
    ['/api/admin/rolling-restart', 'rollingRestart'],
  ] as const)
    app.post(
      path,
      { config: admin, schema: { response: accepted(operationBody) } },
      async (request, reply) => {
        const port = actions();
        const run = port[kind]?.bind(port);
        if (run === undefined) throw new WebNotImplementedError(kind);
        return reply.code(202).send(await run(requester(request)));
      },
    );

  app.get<{ Params: { id: string } }>(
    '/api/admin/operations/:id',
    {
      config: { access: 'read' },
      schema: {
        params: { type: 'object', required: ['id'], properties: { id: segment } },
        response: withErrors(operationBody),
      },
    },
    async (request) => {
      const port = actions();
      if (port.operation === undefined) throw new WebNotImplementedError('operation progress');
      const op = await port.operation(request.params.id);
      if (op === undefined) throw new WebUnknownError('operation', request.params.id);
      return op;
    },
  );

  app.post<{ Params: { id: string; action: ExecutorAction } }>(
    '/api/executors/:id/:action',
    {
      config: admin,
      schema: {
        params: {
          type: 'object',
          required: ['id', 'action'],
          properties: {
            id: segment,
            action: { type: 'string', enum: ['pause', 'resume', 'drain'] },
          },
        },
        response: accepted(acceptedBody),
      },
    },
    async (request, reply) => {
      const port = actions();
      if (port.executor === undefined)
        throw new WebNotImplementedError(`executor ${request.params.action}`);
      const done = await port.executor({
        ...requester(request),
        executorId: request.params.id,
        action: request.params.action,
      });
      return reply.code(202).send(done);
    },
  );
}
