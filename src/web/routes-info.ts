/**
 * `/api/info`: what this web process is and what it accepts (auth methods,
 * webhook providers), so clients can adapt. Never a secret, only booleans
 * and names.
 */
import type { WebApp, WebDeps } from './app.js';
import { infoBody } from './schemas-layout.js';
import { withErrors } from './schemas.js';

export function infoRoutes(app: WebApp, deps: WebDeps): void {
  app.get(
    '/api/info',
    { config: { access: 'read' }, schema: { response: withErrors(infoBody) } },
    async () => {
      const current = deps.layout === undefined ? undefined : await deps.layout();
      return {
        name: 'drawbridge',
        version: deps.version ?? 'unknown',
        layoutVersion: current?.version ?? null,
        publicUrl: deps.publicUrl ?? null,
        readProtected: deps.auth?.readProtected ?? false,
        auth: deps.auth?.methods ?? { tokens: false, jwt: false },
        webhooks: Object.entries(deps.webhooks ?? {})
          .filter(([, secret]) => secret !== undefined)
          .map(([provider]) => provider)
          .sort(),
      };
    },
  );
}
