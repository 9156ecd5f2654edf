/**
 * The OpenAPI document (`/openapi.json`), built by @fastify/swagger from the
 * routes' own schemas, and a browsable page at `/docs` (@fastify/swagger-ui,
 * whose assets ship in the package, so it works without the internet).
 * Routes must be registered after this, inside a plugin, to be seen.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { WebApp } from './app.js';

export function openApi(app: WebApp, version: string): void {
  void app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Drawbridge REST API',
        version,
        description:
          'Status, layout and admin actions of a Drawbridge cluster. Errors are ' +
          '`{ "error": { "code", "message" } }`; codes are listed in docs/errors.md.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
    },
  });
  void app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, () =>
    app.swagger(),
  );
}
