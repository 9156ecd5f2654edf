/**
 * The web API as a fastify app, without listening: `buildWebApp` wires the
 * routes and the error handler, so tests call `app.inject` and WebServer
 * (server.ts) listens. It reads ZooKeeper only and never imports the scheduler.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { ZkClient, ZkPaths } from '../zk/index.js';
import { errorHandler, notFoundHandler } from './error-handler.js';
import { componentRoutes } from './routes-components.js';
import { healthRoutes } from './routes-health.js';
import { statusRoutes } from './routes-status.js';

export type WebApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;

export interface WebDeps {
  readonly zk: ZkClient;
  readonly paths: ZkPaths;
  readonly logger: Logger;
  /** True once the server drains: readiness answers 503 from then on. */
  readonly shuttingDown?: () => boolean;
}

export function buildWebApp(deps: WebDeps): WebApp {
  const log = deps.logger.child({ component: 'web' });
  const app = Fastify({
    loggerInstance: log,
    // Per-request lines are debug, not info: info is for lifecycle.
    logController: new LogController({ disableRequestLogging: true }),
    // Idle keep-alive connections must not hold a shutdown up.
    forceCloseConnections: 'idle',
  });
  app.addHook('onResponse', (request, reply, done) => {
    request.log.debug(
      { method: request.method, url: request.url, status: reply.statusCode },
      'request served',
    );
    done();
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  const routeDeps = { ...deps, logger: log };
  healthRoutes(app, routeDeps);
  componentRoutes(app, routeDeps);
  statusRoutes(app, routeDeps);
  return app;
}
