/**
 * Property: whatever a client sends to any route the OpenAPI document
 * lists (method, path parameters, query, body, content type, credentials),
 * the answer is never a 5xx, and every error is JSON `{ error: { code,
 * message } }`. The one 5xx allowed is 501 from an admin action nobody wired.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistoryStore } from '../../src/history/index.js';
import type { HistoryStore } from '../../src/history/types.js';
import { Authenticator } from '../../src/web/index.js';
import {
  makeToken,
  newWorld,
  publishExampleLayout,
  serveApp,
  type Served,
  type World,
} from './support.js';

const tokens = (['read', 'operator', 'admin'] as const).map((r) => makeToken(`fuzz-${r}`, r));
const NOT_WIRED = /^\/api\/(admin\/|executors\/)/;

let world: World;
let web: Served;
let dir: string;
let history: HistoryStore;
let routes: { method: string; path: string }[];
const seen = new Map<number, number>();

beforeAll(async () => {
  world = await newWorld('web-fuzz');
  await publishExampleLayout(world);
  // A real (empty) history, so that its routes are fuzzed past their 503.
  dir = mkdtempSync(join(tmpdir(), 'drawbridge-web-fuzz-'));
  history = createHistoryStore({ kind: 'sqlite', path: join(dir, 'history.sqlite') }, world.logger);
  await history.open();
  web = await serveApp(world, {
    history,
    logRoot: join(dir, 'logs'),
    auth: new Authenticator({
      readProtected: false,
      tokens: tokens.map((t) => t.entry),
      jwt: undefined,
    }),
    webhooks: { github: 'fuzz-github-secret-0123', gitlab: 'fuzz-gitlab-secret-0123' },
  });
  const doc = (await (await fetch(`${web.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((m) => ({ method: m.toUpperCase(), path })),
  );
  // What the document leaves out: itself, the docs page, and paths that match nothing.
  routes.push(
    { method: 'GET', path: '/openapi.json' },
    { method: 'GET', path: '/docs/{file}' },
    { method: 'GET', path: '/{anything}' },
    { method: 'DELETE', path: '/api/{anything}' },
  );
});
afterAll(async () => {
  await web?.close();
  await history?.close();
  await world?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const text = fc.string({ maxLength: 40 });
const printable = fc.stringMatching(/^[\x20-\x7e]{0,60}$/);
const segment = fc.oneof(
  { weight: 1, arbitrary: text },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      ...['deploy', 'hourly', 'infra-prod-base', 'github', 'gitlab', 'bs-1', '..', '%00', 'pause'],
    ),
  },
);
const query = fc.dictionary(
  fc.oneof(fc.constantFrom('pipeline', 'files', 'kind', 'limit', 'follow'), text),
  fc.oneof(text, fc.array(text, { maxLength: 3 })),
  { maxKeys: 4 },
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.record({ type: fc.constant('json'), value: fc.jsonValue() }),
  fc.record({
    type: fc.constant('enqueue'),
    value: fc.record(
      { commit: fc.constantFrom('c'.repeat(40), 'xyz'), ref: text },
      { requiredKeys: [] },
    ),
  }),
  fc.record({
    type: fc.constantFrom(
      'text/plain',
      'application/json',
      'application/x-www-form-urlencoded',
      'application/xml',
    ),
    value: text,
  }),
);
const credential = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(...tokens.map((t) => `Bearer ${t.token}`)),
  printable,
  printable.map((s) => `Bearer ${s}`),
);
const extraHeaders = fc.dictionary(
  fc.constantFrom(
    'x-github-event',
    'x-hub-signature-256',
    'x-gitlab-token',
    'x-gitlab-event',
    'last-event-id',
    'range',
  ),
  printable,
  { maxKeys: 3 },
);

function fill(path: string, values: string[]): string {
  let i = 0;
  return path.replace(/\{[^}]+\}/g, () => encodeURIComponent(values[i++ % values.length] ?? 'x'));
}

describe('fuzzing every route', () => {
  it('finds the routes to fuzz in the OpenAPI document', () => {
    const paths = new Set(routes.map((r) => r.path));
    for (const p of [
      '/api/status',
      '/api/plan',
      '/api/pipelines/{pipeline}/enqueue',
      '/api/webhooks/{provider}',
    ])
      expect(paths).toContain(p);
  });

  it('never answers 5xx, and answers every error as { error: { code, message } }', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 10_000 }),
        fc.array(segment, { minLength: 1, maxLength: 3 }),
        query,
        body,
        credential,
        extraHeaders,
        fc.nat(7).map((n) => n === 0),
        async (pick, values, q, b, auth, extra, otherMethod) => {
          const route = routes[pick % routes.length] as { method: string; path: string };
          const method = otherMethod ? (route.method === 'GET' ? 'POST' : 'GET') : route.method;
          const params = new URLSearchParams();
          for (const [k, v] of Object.entries(q)) for (const x of [v].flat()) params.append(k, x);
          const headers: Record<string, string> = { ...extra };
          if (auth !== undefined) headers['authorization'] = auth;
          let payload: string | undefined;
          if (b !== undefined && method !== 'GET') {
            headers['content-type'] =
              b.type === 'json' || b.type === 'enqueue' ? 'application/json' : b.type;
            payload = typeof b.value === 'string' ? b.value : JSON.stringify(b.value);
          }
          const url = `${web.url}${fill(route.path, values)}${params.size ? `?${params.toString()}` : ''}`;
          const res = await fetch(url, { method, headers, body: payload });
          const raw = await res.text();
          const where = `${method} ${url} → ${res.status}: ${raw.slice(0, 300)}`;
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
          if (res.status === 501) {
            expect({ where, wired: NOT_WIRED.test(route.path) }).toEqual({ where, wired: true });
          } else {
            expect({ where, serverError: res.status >= 500 }).toEqual({
              where,
              serverError: false,
            });
          }
          if (res.status >= 400) {
            const parsed = JSON.parse(raw) as { error?: { code?: unknown; message?: unknown } };
            expect({
              where,
              code: typeof parsed.error?.code,
              message: typeof parsed.error?.message,
            }).toEqual({
              where,
              code: 'string',
              message: 'string',
            });
            expect(Object.keys(parsed)).toEqual(['error']);
          }
        },
      ),
      { numRuns: 400 },
    );
    // The inputs reach past validation and auth, or the property proves little.
    for (const status of [200, 400, 401, 403, 404]) expect(seen.get(status)).toBeGreaterThan(0);
  });
});
