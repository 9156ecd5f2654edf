/**
 * The read routes against a real ZooKeeper holding what schedulers write:
 * the published example layout, a status summary, a semaphore holder. Plus
 * the OpenAPI document and the offline `/docs` page.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Buildset } from '../../src/model/index.js';
import { buildset, dispatchAll, job, running } from '../../src/scheduler/test-fixtures.js';
import { writeStatus } from '../../src/scheduler/runtime/status-writer.js';
import { ComponentRegistration, ZkSemaphore } from '../../src/zk/index.js';
import {
  call,
  newWorld,
  publishExampleLayout,
  serveApp,
  type Served,
  type World,
} from './support.js';

let world: World;
let web: Served;
let layoutVersion: string;

beforeAll(async () => {
  world = await newWorld('web-read');
  layoutVersion = await publishExampleLayout(world);
  web = await serveApp(world, { version: '9.9.9-test' });
});
afterAll(async () => {
  await web?.close();
  await world?.close();
});

describe('service routes', () => {
  it('/api/info says what this server is, without secrets', async () => {
    const r = await call(`${web.url}/api/info`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      name: 'drawbridge',
      version: '9.9.9-test',
      layoutVersion,
      publicUrl: null,
      readProtected: false,
      auth: { tokens: false, jwt: false },
      webhooks: [],
    });
  });

  it('/api/health and /api/ready answer', async () => {
    expect((await call(`${web.url}/api/health`)).body).toEqual({ status: 'ok' });
    expect((await call(`${web.url}/api/ready`)).body).toEqual({
      status: 'ready',
      zookeeper: 'connected',
    });
  });

  it('/api/components lists registered processes, narrowed by ?kind=', async () => {
    const reg = await ComponentRegistration.register(
      world.zk,
      world.paths.components('executor'),
      { kind: 'executor', hostname: 'h1', pid: 42, version: 'v', state: 'running' },
      { onError: () => undefined },
    );
    try {
      const all = await call(`${web.url}/api/components`);
      expect(all.body).toEqual({
        components: [expect.objectContaining({ kind: 'executor', hostname: 'h1', pid: 42 })],
      });
      expect((await call(`${web.url}/api/components?kind=web`)).body).toEqual({ components: [] });
      expect((await call(`${web.url}/api/components?kind=nope`)).status).toBe(400);
    } finally {
      await reg.unregister();
    }
  });
});

describe('/api/status', () => {
  it('serves pipelines → buildsets → jobs with states, times and the ETA as a scheduler wrote them', async () => {
    const jobs = [job('base'), job('web', ['base']), job('dns', ['base'])];
    const bs: Buildset = dispatchAll(running(buildset(jobs, { id: 'bs-status' })));
    const now = 5000;
    await writeStatus(world.zk, world.paths, {
      state: { pipeline: 'deploy', queue: [bs.id] },
      manager: 'serial',
      buildsets: new Map([[bs.id, bs]]),
      now,
    });
    const r = await call(`${web.url}/api/status`);
    expect(r.status).toBe(200);
    const body = r.body as { pipelines: Record<string, unknown>[] };
    expect(body.pipelines).toHaveLength(1);
    const p = body.pipelines[0] as { pipeline: string; manager: string; buildsets: unknown[] };
    expect(p.pipeline).toBe('deploy');
    expect(p.manager).toBe('serial');
    expect(p.buildsets).toEqual([
      expect.objectContaining({
        id: 'bs-status',
        state: 'running',
        estimatedEndAt: expect.any(Number),
        criticalPath: expect.any(Array),
        jobs: [
          expect.objectContaining({
            name: 'base',
            state: 'QUEUED',
            queuedAt: 3000,
            startedAt: null,
          }),
          expect.objectContaining({ name: 'web', state: 'WAITING', endedAt: null }),
          expect.objectContaining({ name: 'dns', state: 'WAITING' }),
        ],
      }),
    ]);
  });
});

describe('layout routes', () => {
  it('/api/pipelines lists the layout pipelines with their jobs', async () => {
    const r = await call(`${web.url}/api/pipelines`);
    expect(r.status).toBe(200);
    const body = r.body as { layoutVersion: string; pipelines: { name: string; jobs: string[] }[] };
    expect(body.layoutVersion).toBe(layoutVersion);
    expect(body.pipelines.map((p) => p.name).sort()).toEqual(['deploy', 'hourly', 'periodic']);
    const deploy = body.pipelines.find((p) => p.name === 'deploy');
    expect(deploy).toMatchObject({ manager: 'serial', triggers: [{ kind: 'ref-updated' }] });
    expect(deploy?.jobs).toContain('infra-prod-base');
  });

  it('/api/jobs lists jobs, narrowed by ?pipeline=, values of vars never shown', async () => {
    const all = (await call(`${web.url}/api/jobs`)).body as { jobs: Record<string, unknown>[] };
    expect(all.jobs.length).toBeGreaterThan(3);
    const hourly = (await call(`${web.url}/api/jobs?pipeline=hourly`)).body as {
      jobs: { name: string; pipelines: string[] }[];
    };
    expect(hourly.jobs.length).toBeGreaterThan(0);
    expect(hourly.jobs.length).toBeLessThan(all.jobs.length);
    for (const j of hourly.jobs) expect(j.pipelines).toContain('hourly');
    for (const j of all.jobs) expect(j).not.toHaveProperty('vars');
    expect((await call(`${web.url}/api/jobs?pipeline=nope`)).status).toBe(404);
    // A misspelt parameter is refused, not silently ignored.
    const typo = await call(`${web.url}/api/jobs?pipline=hourly`);
    expect(typo.status).toBe(400);
    expect((typo.body as { error: { code: string } }).error.code).toBe(
      'DRAWBRIDGE_ERR_WEB_BAD_REQUEST',
    );
  });

  it('/api/jobs/:name shows one job; an unknown one is a 404 with a code', async () => {
    const r = await call(`${web.url}/api/jobs/infra-prod-base`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      layoutVersion,
      job: { name: 'infra-prod-base', varNames: expect.arrayContaining(['playbook_name']) },
    });
    const missing = await call(`${web.url}/api/jobs/no-such-job`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      error: { code: 'DRAWBRIDGE_ERR_WEB_UNKNOWN', message: 'no job "no-such-job"' },
    });
  });

  it('/api/plan selects jobs by changed files and gives levels and a critical path', async () => {
    const everything = (await call(`${web.url}/api/plan?pipeline=deploy`)).body as {
      selection: { kind: string };
      jobs: { name: string }[];
      criticalPath: string[];
      estimatedMakespanMs: number | null;
    };
    expect(everything.selection).toEqual({ kind: 'all' });
    expect(everything.criticalPath.length).toBeGreaterThan(0);
    // No history wired: durations are unknown, so no makespan is claimed.
    expect(everything.estimatedMakespanMs).toBeNull();
    const some = (await call(`${web.url}/api/plan?pipeline=deploy&files=README.md`)).body as {
      selection: { kind: string; files: string[] };
      jobs: { name: string }[];
    };
    expect(some.selection).toEqual({ kind: 'files', files: ['README.md'] });
    expect(some.jobs.length).toBeLessThan(everything.jobs.length);
    expect((await call(`${web.url}/api/plan`)).status).toBe(400);
    expect((await call(`${web.url}/api/plan?pipeline=nope`)).status).toBe(404);
  });

  it('/api/plan estimates the makespan from past durations when they are known', async () => {
    const timed = await serveApp(world, { expectedMs: () => 1000 });
    try {
      const r = (await call(`${timed.url}/api/plan?pipeline=deploy`)).body as {
        criticalPath: string[];
        estimatedMakespanMs: number;
      };
      expect(r.estimatedMakespanMs).toBe(r.criticalPath.length * 1000);
    } finally {
      await timed.close();
    }
  });

  it('/api/semaphores lists each semaphore with its holders', async () => {
    const path = world.paths.semaphore('letsencrypt');
    const owner = await world.zk.create(`${world.paths.root}/locks/owner`, Buffer.alloc(0), {
      mode: 'ephemeral',
    });
    const sem = new ZkSemaphore(world.zk, path, 1);
    expect(await sem.tryAcquire('req-1', owner)).toBe(true);
    const r = (await call(`${web.url}/api/semaphores`)).body as {
      semaphores: { name: string; max: number; holders: { id: string }[] }[];
    };
    expect(r.semaphores.find((s) => s.name === 'letsencrypt')).toEqual({
      name: 'letsencrypt',
      max: 1,
      holders: [{ id: 'req-1', owner }],
    });
    expect(r.semaphores.find((s) => s.name === 'afs-release')?.holders).toEqual([]);
  });

  it('answers 503 with a code while no layout is published', async () => {
    const empty = await serveApp(world, { layout: () => Promise.resolve(undefined) });
    try {
      const r = await call(`${empty.url}/api/pipelines`);
      expect(r.status).toBe(503);
      expect(r.body).toEqual({
        error: {
          code: 'DRAWBRIDGE_ERR_WEB_UNAVAILABLE',
          message: 'service unavailable: no job layout is loaded',
        },
      });
    } finally {
      await empty.close();
    }
  });
});

describe('OpenAPI and /docs', () => {
  it('/openapi.json documents every API route with its schemas', async () => {
    const r = await call(`${web.url}/openapi.json`);
    expect(r.status).toBe(200);
    const doc = r.body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of [
      '/api/info',
      '/api/health',
      '/api/ready',
      '/api/components',
      '/api/status',
      '/api/pipelines',
      '/api/jobs',
      '/api/jobs/{name}',
      '/api/plan',
      '/api/semaphores',
      '/api/pipelines/{pipeline}/enqueue',
      '/api/webhooks/{provider}',
    ])
      expect(Object.keys(doc.paths)).toContain(path);
    const plan = doc.paths['/api/plan']?.['get'] as { parameters: { name: string }[] };
    expect(plan.parameters.map((p) => p.name).sort()).toEqual(['files', 'pipeline']);
  });

  it('/docs is a page whose assets are all served here (it works offline)', async () => {
    const page = await call(`${web.url}/docs/`, { redirect: 'follow' });
    expect(page.status).toBe(200);
    expect(page.text).toContain('swagger-ui');
    expect(page.text).not.toMatch(/(src|href)=["']https?:/);
    const assets = [...page.text.matchAll(/(?:src|href)="\.?\/?([^"]+\.(?:js|css))"/g)].map(
      (m) => m[1] as string,
    );
    expect(assets.length).toBeGreaterThan(0);
    for (const a of assets) {
      const res = await fetch(new URL(a, `${web.url}/docs/`));
      expect({ asset: a, status: res.status }).toEqual({ asset: a, status: 200 });
      await res.arrayBuffer();
    }
  });
});
