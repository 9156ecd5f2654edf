/**
 * Liveness and readiness. Liveness says only that the process answers.
 * Readiness says the instance should get traffic: ZooKeeper connected and
 * not shutting down; a load balancer stops sending requests on a 503.
 */
import type { WebApp, WebDeps } from './app.js';
import { WebUnavailableError } from './errors.js';
import { healthBody, readyBody, withErrors } from './schemas.js';

export function healthRoutes(app: WebApp, deps: WebDeps): void {
  const probe = { access: 'public' as const };
  app.get('/api/health', { config: probe, schema: { response: withErrors(healthBody) } }, () => ({
    status: 'ok' as const,
  }));

  app.get('/api/ready', { config: probe, schema: { response: withErrors(readyBody) } }, () => {
    assertReady(deps);
    return { status: 'ready' as const, zookeeper: deps.zk.state };
  });
}

/** Throws the 503 a route answers with while the instance is not ready. */
export function assertReady(deps: WebDeps): void {
  if (deps.shuttingDown?.()) throw new WebUnavailableError('shutting down');
  if (deps.zk.state !== 'connected') {
    throw new WebUnavailableError(`ZooKeeper is ${deps.zk.state}`);
  }
}
