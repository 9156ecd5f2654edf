/**
 * Every request passes one check before its body is even read: the route
 * declares what it needs in `config.access` (default `read`, so a route
 * that forgets is protected whenever reads are), the Authenticator decides.
 */
import type { WebApp } from './app.js';
import type { Access, Authenticator, Principal } from './auth.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    /** Who authenticated; undefined on a route that did not ask. */
    principal?: Principal;
  }
}

/** The API's own description, served without credentials: `/openapi.json`, `/docs` and under `/docs/`. */
function describesApi(url: string): boolean {
  return url === '/openapi.json' || url === '/docs' || url.startsWith('/docs/');
}

export function authHook(app: WebApp, auth: Authenticator): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request) => {
    const url = request.routeOptions.url;
    // No route matched: the answer is a 404 whoever asks, so there is nothing to guard.
    if (url === undefined) return;
    const declared = request.routeOptions.config.access;
    const access: Access = declared ?? (describesApi(url) ? 'public' : 'read');
    request.principal = await auth.check(access, request.headers.authorization);
  });
}
