/** The web API: fastify app, its lifecycle as a process, its errors. */
export { buildWebApp, type WebApp, type WebDeps } from './app.js';
export {
  WebServer,
  type WebServerDeps,
  type WebServerOptions,
  type WebServerState,
} from './server.js';
export { readStatuses, type StatusEntry } from './routes-status.js';
export * from './errors.js';
export { Authenticator, type Access, type AuthConfig, type Principal } from './auth.js';
export {
  zkAdminActions,
  type Accepted,
  type AdminActions,
  type ExecutorAction,
  type Operation,
  type Requester,
} from './admin.js';
export type { CurrentLayout, ExpectedDuration, LayoutProvider } from './routes-layout.js';
export { WEBHOOK_PROVIDERS, type WebhookProvider, type WebhookSecrets } from './webhooks.js';
