/**
 * /metrics against a real ZooKeeper and a real SQLite history: what the
 * cluster looks like (registered executors with their slots, a pipeline
 * queue, pending events, build requests) and what the history holds
 * (buildsets and builds by result, the build duration histogram).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistoryStore, historyEntryOf, type HistoryStore } from '../../src/history/index.js';
import {
  buildRequestCodec,
  managementEventCodec,
  pipelineStateCodec,
  type ManagementEvent,
} from '../../src/model/index.js';
import { EventLatency } from '../../src/model/event-latency.js';
import { ComponentRegistration, ZkDocument, ZkEventQueue } from '../../src/zk/index.js';
import { finishedBuildset } from '../history/support.js';
import { newWorld, serveApp, type Served, type World } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'drawbridge-web-metrics-'));
let world: World;
let store: HistoryStore;
let web: Served;
const registrations: ComponentRegistration[] = [];

beforeAll(async () => {
  world = await newWorld('web-metrics');
  store = createHistoryStore({ kind: 'sqlite', path: join(dir, 'h.sqlite') }, world.logger);
  const T0 = Date.UTC(2026, 5, 1);
  // Jobs of 49 s each (the fixture starts job i at +10 s + i s and ends all at end - 1 s).
  await store.put(historyEntryOf(finishedBuildset({ id: 'bs-1', endedAt: T0 })));
  await store.put(
    historyEntryOf(
      finishedBuildset({
        id: 'bs-2',
        endedAt: T0 + 1000,
        result: 'FAILURE',
        jobs: [
          { name: 'base', state: 'FAILURE' },
          { name: 'svc', state: 'SKIPPED' },
        ],
      }),
    ),
  );
  await store.put(
    historyEntryOf(finishedBuildset({ id: 'bs-3', pipeline: 'hourly', endedAt: T0 + 2000 })),
  );
  for (const [slots, inUse] of [
    [4, 3],
    [2, 0],
  ] as const) {
    const r = await ComponentRegistration.register(world.zk, world.paths.components('executor'), {
      kind: 'executor',
      hostname: 'test',
      pid: process.pid,
      version: 'test',
      state: 'running',
    });
    await r.update('running', { slots, slotsInUse: inUse });
    registrations.push(r);
  }
  // Two schedulers' event latency histograms, as they publish them.
  for (const ms of [[40, 3_000], [200]]) {
    const latency = new EventLatency();
    for (const v of ms) latency.observe('result', v);
    latency.observe('management', 20);
    const r = await ComponentRegistration.register(world.zk, world.paths.components('scheduler'), {
      kind: 'scheduler',
      hostname: 'test',
      pid: process.pid,
      version: 'test',
      state: 'running',
    });
    await r.update('running', { eventLatency: latency.snapshot() });
    registrations.push(r);
  }
  await world.zk.mkdirp(world.paths.pipeline('deploy'));
  await new ZkDocument(world.zk, world.paths.pipelineState('deploy'), pipelineStateCodec).create({
    pipeline: 'deploy',
    queue: ['bs-8', 'bs-9'],
  });
  const q = new ZkEventQueue(
    world.zk,
    world.paths.pipelineManagementEvents('deploy'),
    managementEventCodec,
  );
  await q.init();
  const event: ManagementEvent = {
    type: 'dequeue',
    pipeline: 'deploy',
    buildsetId: 'bs-9',
    id: 'm-1',
    requestedBy: 'test',
    requestedAt: Date.now(),
  };
  await q.put(event);
  web = await serveApp(world, { history: store });
}, 60_000);

afterAll(async () => {
  await web?.close();
  for (const r of registrations) await r.unregister();
  await store?.close();
  await world?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `name{labels} value` lines of the exposition, as a map. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

describe('GET /metrics', () => {
  it('serves the Prometheus text format with the cluster and history figures', async () => {
    const res = await fetch(`${web.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const m = samples(text);
    const pick = (prefix: string) =>
      Object.fromEntries([...m].filter(([k]) => k.startsWith(prefix)));
    expect(m.get('drawbridge_zookeeper_connected')).toBe(1);
    expect(m.get('drawbridge_zookeeper_state{state="connected"}')).toBe(1);
    expect(m.get('drawbridge_metrics_scrape_errors')).toBe(0);
    expect(m.get('drawbridge_components{kind="executor",state="running"}')).toBe(2);
    const [a, b] = registrations.map((r) => r.id);
    // Summed over both schedulers: results of 40 ms, 3 s and 200 ms; two management events.
    const lat = (queue: string, le: string) =>
      m.get(`drawbridge_event_latency_seconds_bucket{queue="${queue}",le="${le}"}`);
    expect([lat('result', '0.05'), lat('result', '0.25'), lat('result', '5')]).toEqual([1, 2, 3]);
    expect(lat('result', '+Inf')).toBe(3);
    expect(m.get('drawbridge_event_latency_seconds_sum{queue="result"}')).toBeCloseTo(3.24);
    expect(m.get('drawbridge_event_latency_seconds_count{queue="management"}')).toBe(2);
    expect(pick('drawbridge_executor_slots')).toEqual({
      [`drawbridge_executor_slots{executor="${a}"}`]: 4,
      [`drawbridge_executor_slots{executor="${b}"}`]: 2,
      [`drawbridge_executor_slots_in_use{executor="${a}"}`]: 3,
      [`drawbridge_executor_slots_in_use{executor="${b}"}`]: 0,
    });
    expect(m.get('drawbridge_pipeline_queue_length{pipeline="deploy"}')).toBe(2);
    expect(m.get('drawbridge_events_pending{pipeline="deploy",queue="management"}')).toBe(1);
    expect(m.get('drawbridge_events_pending{pipeline="deploy",queue="trigger"}')).toBe(0);
    const age = m.get(
      'drawbridge_event_oldest_pending_seconds{pipeline="deploy",queue="management"}',
    );
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(120);
    expect(pick('drawbridge_buildsets_finished')).toEqual({
      'drawbridge_buildsets_finished{pipeline="deploy",result="FAILURE"}': 1,
      'drawbridge_buildsets_finished{pipeline="deploy",result="SUCCESS"}': 1,
      'drawbridge_buildsets_finished{pipeline="hourly",result="SUCCESS"}': 1,
    });
    expect(m.get('drawbridge_builds_finished{pipeline="deploy",result="SKIPPED"}')).toBe(1);
    // Two checkouts and the base job of bs-1.
    expect(m.get('drawbridge_builds_finished{pipeline="deploy",result="SUCCESS"}')).toBe(3);
    // deploy: base of bs-1 and of bs-2 started (49 s each); the skipped svc and checkouts do not count.
    expect(m.get('drawbridge_build_duration_seconds_count{pipeline="deploy"}')).toBe(2);
    expect(m.get('drawbridge_build_duration_seconds_sum{pipeline="deploy"}')).toBe(98);
    expect(m.get('drawbridge_build_duration_seconds_bucket{pipeline="deploy",le="30"}')).toBe(0);
    expect(m.get('drawbridge_build_duration_seconds_bucket{pipeline="deploy",le="60"}')).toBe(2);
    expect(m.get('drawbridge_build_duration_seconds_bucket{pipeline="deploy",le="+Inf"}')).toBe(2);
    expect(text).toContain('# TYPE drawbridge_build_duration_seconds histogram');
  });

  it('counts build requests by state', async () => {
    const before = samples(await (await fetch(`${web.url}/metrics`)).text());
    expect(before.get('drawbridge_build_requests{state="requested"}')).toBe(0);
    const id = 'bs-9-j-base';
    await new ZkDocument(world.zk, world.paths.buildRequest(id), buildRequestCodec).create({
      id,
      kind: 'job',
      pipeline: 'deploy',
      buildsetId: 'bs-9',
      job: 'base',
      attempt: 1,
      ref: 'refs/heads/main',
      commit: 'a'.repeat(40),
      playbook: 'playbooks/base.yml',
      vars: {},
      timeoutMs: null,
      precedence: 'normal',
      createdAt: Date.now(),
      state: 'requested',
      cancelRequested: false,
      executor: null,
      startedAt: null,
      outcome: null,
    });
    const after = samples(await (await fetch(`${web.url}/metrics`)).text());
    expect(after.get('drawbridge_build_requests{state="requested"}')).toBe(1);
    expect(after.get('drawbridge_build_requests{state="running"}')).toBe(0);
  });
});
