/**
 * The web API as a fastify app, without listening: `buildWebApp` wires the
 * routes and the error handler; WebServer (server.ts) listens. It reads
 * ZooKeeper only and never imports the scheduler.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { HistoryReader } from '../history/index.js';
import type { ZkClient, ZkPaths } from '../zk/index.js';
import { type AdminActions, zkAdminActions } from './admin.js';
import { authHook } from './auth-hook.js';
import { Authenticator } from './auth.js';
import { errorHandler, notFoundHandler } from './error-handler.js';
import { zkLayoutProvider } from './layout-zk.js';
import { openApi } from './openapi.js';
import { pageRoutes } from './routes-page.js';
import { adminRoutes } from './routes-admin.js';
import { componentRoutes } from './routes-components.js';
import { healthRoutes } from './routes-health.js';
import { historyRoutes } from './routes-history.js';
import { infoRoutes } from './routes-info.js';
import { type ExpectedDuration, type LayoutProvider, layoutRoutes } from './routes-layout.js';
import { logRoutes } from './routes-logs.js';
import { metricsRoutes } from './routes-metrics.js';
import { semaphoreRoutes } from './routes-semaphores.js';
import { statusRoutes } from './routes-status.js';
import { webhookRoutes } from './routes-webhooks.js';
import type { WebhookSecrets } from './webhooks.js';

export type WebApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;

export interface WebDeps {
  readonly zk: ZkClient;
  readonly paths: ZkPaths;
  readonly logger: Logger;
  /** True once the server drains: readiness answers 503 from then on. */
  readonly shuttingDown?: () => boolean;
  /** Aborted when the server drains or stops: a streaming route ends its stream on it. */
  readonly closing?: AbortSignal;
  /** Who may do what; absent: reads are public and every action answers 401. */
  readonly auth?: Authenticator;
  /** Default: enqueue, dequeue and promote as ZooKeeper events; the others answer 501. */
  readonly admin?: AdminActions;
  /** Default: the layout ZooKeeper names current; while there is none, layout routes answer 503. */
  readonly layout?: LayoutProvider;
  /** Past build durations for `/api/plan` (history); absent: unknown. */
  readonly expectedMs?: ExpectedDuration;
  readonly webhooks?: WebhookSecrets;
  readonly version?: string;
  readonly publicUrl?: string;
  /** `repository.branch`: the ref an enqueue without one deploys. */
  readonly defaultBranch?: string;
  /** Finished buildsets and builds (src/history); absent: history routes answer 503. */
  readonly history?: HistoryReader;
  /** `executor.logRoot`: finished builds' logs are read here when this host has them. */
  readonly logRoot?: string;
}

export function buildWebApp(deps: WebDeps): WebApp {
  const log = deps.logger.child({ component: 'web' });
  const app = Fastify({
    loggerInstance: log,
    // Per-request lines are debug, not info: info is for lifecycle.
    logController: new LogController({ disableRequestLogging: true }),
    // Idle keep-alive connections must not hold a shutdown up.
    forceCloseConnections: 'idle',
    // A request on a connection still open during close gets its route's own answer
    // (readiness: a 503 with a code), not fastify's bare 503 body.
    return503OnClosing: false,
    // Refuse what a schema does not name instead of silently dropping it.
    ajv: { customOptions: { removeAdditional: false } },
  });
  app.addHook('onResponse', (request, reply, done) => {
    request.log.debug(
      { method: request.method, url: request.url, status: reply.statusCode },
      'request served',
    );
    done();
  });
  // A connection kept alive past a drain's close would hold the drain up until it idles out.
  app.addHook('onSend', async (_request, reply) => {
    if (deps.shuttingDown?.()) void reply.header('connection', 'close');
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  const routeDeps = {
    ...deps,
    logger: log,
    admin: deps.admin ?? zkAdminActions(deps.zk, deps.paths),
    layout: deps.layout ?? zkLayoutProvider(deps.zk, deps.paths),
  };
  authHook(
    app,
    deps.auth ?? new Authenticator({ readProtected: false, tokens: [], jwt: undefined }),
  );
  openApi(app, deps.version ?? '0.0.0');
  // Routes go inside this plugin: @fastify/swagger sees only routes registered after it loaded.
  void app.register((api: WebApp, _opts, done) => {
    healthRoutes(api, routeDeps);
    componentRoutes(api, routeDeps);
    statusRoutes(api, routeDeps);
    infoRoutes(api, routeDeps);
    layoutRoutes(api, routeDeps);
    semaphoreRoutes(api, routeDeps);
    adminRoutes(api, routeDeps);
    webhookRoutes(api, routeDeps);
    historyRoutes(api, routeDeps);
    logRoutes(api, routeDeps);
    metricsRoutes(api, routeDeps);
    pageRoutes(api);
    done();
  });
  return app;
}
