/**
 * `/api/components`: every registered scheduler, executor and web process,
 * read from the ZooKeeper registry (`?kind=` narrows it to one kind).
 */
import { COMPONENT_KINDS, type ComponentKind, listComponents } from '../zk/index.js';
import type { WebApp, WebDeps } from './app.js';
import { assertReady } from './routes-health.js';
import { componentsBody, componentsQuery, withErrors } from './schemas.js';

export function componentRoutes(app: WebApp, deps: WebDeps): void {
  app.get<{ Querystring: { kind?: ComponentKind } }>(
    '/api/components',
    { schema: { querystring: componentsQuery, response: withErrors(componentsBody) } },
    async (request) => {
      assertReady(deps);
      const kinds = request.query.kind ? [request.query.kind] : COMPONENT_KINDS;
      const lists = await Promise.all(
        kinds.map((k) => listComponents(deps.zk, deps.paths.components(k))),
      );
      return { components: lists.flat() };
    },
  );
}
