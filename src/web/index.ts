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
