/**
 * Errors the web API answers with. Each carries its HTTP status; the one
 * error handler (error-handler.ts) turns any of them into the JSON body
 * `{ error: { code, message } }`. Codes are listed in docs/errors.md.
 */
import { DrawbridgeError } from '../errors.js';

/** A DrawbridgeError that knows the HTTP status it should be served with. */
export abstract class WebError extends DrawbridgeError {
  abstract readonly statusCode: number;
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

/** The config asks for a web feature this build does not have; refusing beats serving unprotected. */
export class WebUnsupportedError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_WEB_UNSUPPORTED';
  constructor(
    readonly option: string,
    reason: string,
  ) {
    super(`${option} is not supported by this build's web server: ${reason}`);
  }
}
