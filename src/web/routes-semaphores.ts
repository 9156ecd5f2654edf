/**
 * `/api/semaphores`: every semaphore of the layout with its `max` and its
 * holders as ZooKeeper has them (a holder id is a build request id).
 * Stale holders are listed too: web only reads, a scheduler cleans up.
 */
import { ZkSemaphore } from '../zk/index.js';
import type { WebApp, WebDeps } from './app.js';
import { assertReady } from './routes-health.js';
import { currentLayout } from './routes-layout.js';
import { semaphoresBody } from './schemas-layout.js';
import { withErrors } from './schemas.js';

export function semaphoreRoutes(app: WebApp, deps: WebDeps): void {
  app.get(
    '/api/semaphores',
    { config: { access: 'read' }, schema: { response: withErrors(semaphoresBody) } },
    async () => {
      assertReady(deps);
      const { layout } = await currentLayout(deps);
      const semaphores = await Promise.all(
        [...layout.semaphores.values()].map(async (s) => ({
          name: s.name,
          max: s.max,
          holders: await new ZkSemaphore(deps.zk, deps.paths.semaphore(s.name), s.max).holders(),
        })),
      );
      return { semaphores };
    },
  );
}
