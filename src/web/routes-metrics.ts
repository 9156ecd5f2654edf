/**
 * `/metrics` in Prometheus' text format. Everything is read at scrape time
 * from what any web can see, so every web process answers the same and no
 * scheduler or executor needs a listener of its own (docs/metrics.md):
 * ZooKeeper for queues, pending events, build requests, executor slots and
 * components; the SQL history for finished buildsets and builds and the
 * build duration histogram. The ZooKeeper connection state is this web's own.
 */
import { Gauge, Registry } from 'prom-client';
import { toError } from '../errors.js';
import type { HistoryStats } from '../history/index.js';
import { buildRequestCodec, pipelineStateCodec } from '../model/index.js';
import {
  COMPONENT_KINDS,
  listComponents,
  orderEntries,
  unlessMissing,
  ZkDocument,
  type ZkClient,
} from '../zk/index.js';
import type { WebApp, WebDeps } from './app.js';
import {
  EVENT_LATENCY_BUCKETS_S,
  EVENT_QUEUES,
  parseLatencySnapshot,
  type EventLatencySnapshot,
  type EventQueueKind,
  type LatencyHistogram,
} from '../model/event-latency.js';

/** Upper bounds of the build duration histogram, in seconds. */
export const DURATION_BUCKETS = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200] as const;

const ZK_STATES = ['connecting', 'connected', 'suspended', 'lost', 'closed'] as const;

export function metricsRoutes(app: WebApp, deps: WebDeps): void {
  app.get(
    '/metrics',
    {
      schema: {
        description: 'Prometheus metrics (text exposition format 0.0.4); see docs/metrics.md',
        response: { 200: { type: 'string' } },
      },
    },
    async (request, reply) => {
      const registry = new Registry();
      const problems: string[] = [];
      const guard = async (what: string, fn: () => Promise<void>): Promise<void> => {
        try {
          await fn();
        } catch (e) {
          // A part that cannot be read is left out (and counted), never the whole scrape.
          problems.push(what);
          request.log.debug({ err: toError(e), part: what }, 'metrics part unavailable');
        }
      };
      zookeeperState(registry, deps);
      let stats: HistoryStats | undefined;
      const latency = new Map<EventQueueKind, LatencyHistogram>();
      if (deps.zk.state === 'connected') {
        await guard('components', () => components(registry, deps, latency));
        await guard('queues', () => queues(registry, deps));
        await guard('requests', () => requests(registry, deps));
      }
      await guard('history', async () => {
        if (deps.history === undefined) return;
        stats = await deps.history.stats(DURATION_BUCKETS.map((s) => s * 1000));
        historyCounts(registry, stats);
      });
      new Gauge({
        name: 'drawbridge_metrics_scrape_errors',
        help: 'Parts of this scrape that could not be read (ZooKeeper or the history away)',
        labelNames: ['part'],
        registers: [registry],
      }).set(problems.length);
      const text =
        (await registry.metrics()) +
        (stats ? durationHistogram(stats) : '') +
        latencyHistogram(latency);
      return reply.header('Content-Type', registry.contentType).send(text);
    },
  );
}

function gauge(registry: Registry, name: string, help: string, labelNames: string[] = []): Gauge {
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

function zookeeperState(registry: Registry, deps: WebDeps): void {
  const connected = gauge(
    registry,
    'drawbridge_zookeeper_connected',
    "1 while this web process's ZooKeeper session is connected",
  );
  connected.set(deps.zk.state === 'connected' ? 1 : 0);
  const state = gauge(
    registry,
    'drawbridge_zookeeper_state',
    "This web process's ZooKeeper client state (1 for the current one)",
    ['state'],
  );
  for (const s of ZK_STATES) state.set({ state: s }, deps.zk.state === s ? 1 : 0);
}

async function components(
  registry: Registry,
  deps: WebDeps,
  latency: Map<EventQueueKind, LatencyHistogram>,
): Promise<void> {
  const count = gauge(registry, 'drawbridge_components', 'Registered components', [
    'kind',
    'state',
  ]);
  const slots = gauge(registry, 'drawbridge_executor_slots', 'Build slots of an executor', [
    'executor',
  ]);
  const inUse = gauge(
    registry,
    'drawbridge_executor_slots_in_use',
    'Builds an executor is running now',
    ['executor'],
  );
  for (const kind of COMPONENT_KINDS) {
    const list = await listComponents(deps.zk, deps.paths.components(kind));
    for (const c of list) {
      count.inc({ kind, state: c.state });
      if (kind === 'scheduler') addLatency(latency, parseLatencySnapshot(c.extra['eventLatency']));
      if (kind !== 'executor') continue;
      const total = c.extra['slots'];
      const used = c.extra['slotsInUse'];
      if (typeof total === 'number') slots.set({ executor: c.id }, total);
      if (typeof used === 'number') inUse.set({ executor: c.id }, used);
    }
  }
}

async function queues(registry: Registry, deps: WebDeps): Promise<void> {
  const { zk, paths } = deps;
  const length = gauge(
    registry,
    'drawbridge_pipeline_queue_length',
    'Buildsets in a pipeline queue (queued and running)',
    ['pipeline'],
  );
  const pending = gauge(
    registry,
    'drawbridge_events_pending',
    'Events waiting to be processed, per queue ("" pipeline: the global queues)',
    ['pipeline', 'queue'],
  );
  const age = gauge(
    registry,
    'drawbridge_event_oldest_pending_seconds',
    'Age of the oldest unprocessed event: how long events wait to be processed',
    ['pipeline', 'queue'],
  );
  const now = Date.now();
  const measure = async (pipeline: string, queue: string, base: string): Promise<void> => {
    const dir = `${base}/entries`;
    const ids = orderEntries(await unlessMissing(zk.children(dir), []));
    pending.set({ pipeline, queue }, ids.length);
    const first = ids[0];
    const stat = first === undefined ? null : await zk.exists(`${dir}/${first}`);
    age.set({ pipeline, queue }, stat ? Math.max(0, (now - stat.ctime) / 1000) : 0);
  };
  await measure('', 'trigger', paths.triggerEvents());
  await measure('', 'management', paths.managementEvents());
  const names = (await unlessMissing(zk.children(paths.pipelines()), [])).sort();
  for (const name of names) {
    let statePath: string;
    try {
      statePath = paths.pipelineState(name);
    } catch {
      continue; // not a pipeline node Drawbridge made
    }
    const state = await new ZkDocument(zk, statePath, pipelineStateCodec).read();
    length.set({ pipeline: name }, state?.value.queue.length ?? 0);
    await measure(name, 'trigger', paths.pipelineTriggerEvents(name));
    await measure(name, 'management', paths.pipelineManagementEvents(name));
    await measure(name, 'result', paths.pipelineResultEvents(name));
  }
}

async function requests(registry: Registry, deps: WebDeps): Promise<void> {
  const g = gauge(registry, 'drawbridge_build_requests', 'Build requests by state', ['state']);
  for (const s of ['requested', 'running', 'completed']) g.set({ state: s }, 0);
  const ids = await unlessMissing(deps.zk.children(deps.paths.buildRequests()), []);
  const all = await Promise.all(ids.map((id) => readRequest(deps.zk, deps, id)));
  for (const state of all) if (state !== null) g.inc({ state });
}

async function readRequest(zk: ZkClient, deps: WebDeps, id: string): Promise<string | null> {
  try {
    const doc = await new ZkDocument(zk, deps.paths.buildRequest(id), buildRequestCodec).read();
    return doc?.value.state ?? null;
  } catch {
    return null; // deleted meanwhile, or not a request
  }
}

function historyCounts(registry: Registry, stats: HistoryStats): void {
  const buildsets = gauge(
    registry,
    'drawbridge_buildsets_finished',
    'Finished buildsets in the history, by pipeline and result',
    ['pipeline', 'result'],
  );
  for (const r of stats.buildsets)
    buildsets.set({ pipeline: r.pipeline, result: r.result }, r.count);
  const builds = gauge(
    registry,
    'drawbridge_builds_finished',
    'Finished builds (one per job and checkout of a buildset) in the history, by pipeline and result',
    ['pipeline', 'result'],
  );
  for (const r of stats.builds) builds.set({ pipeline: r.pipeline, result: r.result }, r.count);
}

/** A histogram built from the history's bucket counts (prom-client only builds them from observations). */
function durationHistogram(stats: HistoryStats): string {
  const name = 'drawbridge_build_duration_seconds';
  const lines = [
    `# HELP ${name} How long finished jobs ran (start to end), from the history`,
    `# TYPE ${name} histogram`,
  ];
  for (const d of stats.durations) {
    const p = escapeLabel(d.pipeline);
    DURATION_BUCKETS.forEach((le, i) =>
      lines.push(`${name}_bucket{pipeline="${p}",le="${le}"} ${d.buckets[i] ?? 0}`),
    );
    lines.push(`${name}_bucket{pipeline="${p}",le="+Inf"} ${d.count}`);
    lines.push(`${name}_sum{pipeline="${p}"} ${d.sumMs / 1000}`);
    lines.push(`${name}_count{pipeline="${p}"} ${d.count}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Adds one scheduler's cumulative histograms to the sum over schedulers. */
function addLatency(
  sum: Map<EventQueueKind, LatencyHistogram>,
  snapshot: EventLatencySnapshot,
): void {
  for (const queue of EVENT_QUEUES) {
    const h = snapshot[queue];
    if (h === undefined) continue;
    const prev = sum.get(queue);
    sum.set(queue, {
      buckets: h.buckets.map((b, i) => b + (prev?.buckets[i] ?? 0)),
      count: h.count + (prev?.count ?? 0),
      sumMs: h.sumMs + (prev?.sumMs ?? 0),
    });
  }
}

/**
 * Event-to-processed latency summed over the running schedulers. A
 * scheduler that restarts starts from zero, which Prometheus's rate()
 * reads as a counter reset.
 */
function latencyHistogram(sum: ReadonlyMap<EventQueueKind, LatencyHistogram>): string {
  const name = 'drawbridge_event_latency_seconds';
  const lines = [
    `# HELP ${name} From an event (request, push, timer slot, build end) to a scheduler having processed it, summed over the running schedulers`,
    `# TYPE ${name} histogram`,
  ];
  for (const [queue, h] of sum) {
    EVENT_LATENCY_BUCKETS_S.forEach((le, i) =>
      lines.push(`${name}_bucket{queue="${queue}",le="${le}"} ${h.buckets[i] ?? 0}`),
    );
    lines.push(`${name}_bucket{queue="${queue}",le="+Inf"} ${h.count}`);
    lines.push(`${name}_sum{queue="${queue}"} ${h.sumMs / 1000}`);
    lines.push(`${name}_count{queue="${queue}"} ${h.count}`);
  }
  return `${lines.join('\n')}\n`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
