/**
 * Errors the web API answers with. Each carries its HTTP status; the one
 * error handler (error-handler.ts) turns any of them into the JSON body
 * `{ error: { code, message } }`. Codes are listed in docs/errors.md.
 */
import { DrawbridgeError } from '../errors.js';

/** A DrawbridgeError that knows the HTTP status it should be served with. */
export abstract class WebError extends DrawbridgeError {
  abstract readonly statusCode: number;
  /** Headers the answer must carry besides the body (a 416's Content-Range). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** No route matches the method and URL. */
export class WebNotFoundError extends WebError {
  readonly code = 'DRAWBRIDGE_ERR_WEB_NOT_FOUND';
  readonly statusCode = 404;
  constructor(
    readonly method: string,
    readonly url: string,
  ) {
    super(`no route for ${method} ${url}`);
  }
}

/** The request does not match the route's schema, or is otherwise malformed. */
export class WebBadRequestError extends WebError {
  readonly code = 'DRAWBRIDGE_ERR_WEB_BAD_REQUEST';
  constructor(
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

/** The API cannot answer now: ZooKeeper is unreachable, or the server is shutting down. */
export class WebUnavailableError extends WebError {
  readonly code = 'DRAWBRIDGE_ERR_WEB_UNAVAILABLE';
  readonly statusCode = 503;
  constructor(readonly reason: string) {
    super(`service unavailable: ${reason}`);
  }
}

/** Anything unexpected; the body says only this, the log has the cause. */
export class WebInternalError extends WebError {
  readonly code = 'DRAWBRIDGE_ERR_WEB_INTERNAL';
  readonly statusCode = 500;
  constructor(readonly requestId: string) {
    super(`internal error (request ${requestId}; the server log has the details)`);
  }
}

/** No credentials, or credentials that do not verify; the body never says which. */
export class WebUnauthorizedError extends WebError {
  readonly code = 'DRAWBRIDGE_ERR_WEB_UNAUTHORIZED';
  readonly statusCode = 401;
  constructor(readonly reason: string) {
    super(`authentication required: ${reason}`);
  }
}

/** Authenticated, but the role does not allow the route. */
export class WebForbiddenError extends WebError {
  readonly code = 'DRAWBRIDGE_ERR_WEB_FORBIDDEN';
  readonly statusCode = 403;
  constructor(
    readonly needed: string,
    readonly held: string,
  ) {
    super(`this needs the ${needed} role; the credentials give ${held}`);
  }
}

/** A webhook whose signature or secret does not match, or whose provider is not configured. */
export class WebWebhookRejectedError extends WebError {
  readonly code = 'DRAWBRIDGE_ERR_WEB_WEBHOOK_REJECTED';
  constructor(
    readonly provider: string,
    reason: string,
    readonly statusCode = 401,
  ) {
    super(`${provider} webhook rejected: ${reason}`);
  }
}

/** A named thing (pipeline, job, buildset) the request refers to does not exist. */
export class WebUnknownError extends WebError {
  readonly code = 'DRAWBRIDGE_ERR_WEB_UNKNOWN';
  readonly statusCode = 404;
  constructor(
    readonly kind: string,
    readonly what: string,
    detail?: string,
  ) {
    super(`no ${kind} "${what}"${detail === undefined ? '' : ` ${detail}`}`);
  }
}

/**
 * A pipeline the current layout does not have: never defined, or removed by
 * a reconfiguration. Same code as any unknown name; the message lists the known ones.
 */
export class WebUnknownPipelineError extends WebUnknownError {
  constructor(
    readonly pipeline: string,
    readonly known: readonly string[],
    readonly layoutVersion: string,
  ) {
    super(
      'pipeline',
      pipeline,
      `in the current layout (${layoutVersion}); it has: ${known.join(', ') || 'none'}`,
    );
  }
}

/** An admin action this web process has not been wired to perform (yet). */
export class WebNotImplementedError extends WebError {
  readonly code = 'DRAWBRIDGE_ERR_WEB_NOT_IMPLEMENTED';
  readonly statusCode = 501;
  constructor(readonly action: string) {
    super(`${action} is not available from this web process`);
  }
}

/** An operations error (src/ops) served with its own code: a busy rolling restart is a 409. */
export class WebOperationError extends WebError {
  readonly code: string;
  constructor(
    from: DrawbridgeError,
    readonly statusCode: number,
  ) {
    super(from.message, { cause: from });
    this.code = from.code;
  }
}

/** The server could not listen on its configured address. */
export class WebListenError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_WEB_LISTEN';
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`cannot listen on ${address}: ${reason}`);
  }
}

/** The config gives web something it cannot use (an RS256 key that is not a PEM public key, or without an audience); refusing beats serving unprotected. */
export class WebUnsupportedError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_WEB_UNSUPPORTED';
  constructor(
    readonly option: string,
    reason: string,
  ) {
    super(`web cannot use ${option}: ${reason}`);
  }
}
