/**
 * The one place errors become HTTP answers: a WebError keeps its status, a
 * schema failure is a 400, ZooKeeper being away is a 503, anything else a
 * 500 whose details stay in the log. The body is always `{ error: { code, message } }`.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { toError } from '../errors.js';
import { OpsBusyError, OpsLastComponentError, OpsUnknownComponentError } from '../ops/index.js';
import { ZkConnectionLossError, ZkSessionLostError, ZkTimeoutError } from '../zk/index.js';
import {
  WebBadRequestError,
  WebError,
  WebInternalError,
  WebNotFoundError,
  WebOperationError,
  WebUnauthorizedError,
  WebUnavailableError,
} from './errors.js';

export function toWebError(e: unknown, requestId: string): WebError {
  if (e instanceof WebError) return e;
  if (
    e instanceof ZkConnectionLossError ||
    e instanceof ZkSessionLostError ||
    e instanceof ZkTimeoutError
  ) {
    return new WebUnavailableError(`ZooKeeper: ${e.message}`);
  }
  // An operation refused for a reason the caller can act on keeps its own code.
  if (e instanceof OpsBusyError || e instanceof OpsLastComponentError)
    return new WebOperationError(e, 409);
  if (e instanceof OpsUnknownComponentError) return new WebOperationError(e, 404);
  const f = e as Partial<FastifyError>;
  // Fastify's own client errors (schema, content type, body size) keep their status.
  if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) {
    return new WebBadRequestError(toError(e).message, f.statusCode);
  }
  return new WebInternalError(requestId);
}

export function errorHandler(e: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const err = toWebError(e, request.id);
  if (err instanceof WebInternalError) request.log.error({ err: toError(e) }, 'request failed');
  else request.log.debug({ err }, 'request refused');
  if (err instanceof WebUnauthorizedError) void reply.header('www-authenticate', 'Bearer');
  for (const [name, value] of Object.entries(err.headers ?? {})) void reply.header(name, value);
  void reply.code(err.statusCode).send({ error: { code: err.code, message: err.message } });
}

export function notFoundHandler(request: FastifyRequest): never {
  throw new WebNotFoundError(request.method, request.url);
}
