/**
 * `/api/status` under load: 100 active buildsets of the example layout's
 * periodic pipeline (every one of its 30 jobs, in all states) spread over
 * four pipelines, served by the web app in its own process and loaded by
 * autocannon from this one. Goals (issue #7): p99 ≤ 20 ms, ≥ 2000 req/s.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { loadLayout, pipelineJobs } from '../src/config/index.js';
import type { Buildset } from '../src/model/index.js';
import {
  applyInput,
  createBuildset,
  dispatchable,
  markDispatched,
} from '../src/scheduler/index.js';
import { writeStatus } from '../src/scheduler/runtime/status-writer.js';
import { ZkPaths } from '../src/zk/index.js';
import { connectZooKeeper } from '../src/zk/zk-client.js';
import { startZooKeeper } from '../test/fixtures/zookeeper.js';
import type { Bench } from './bench.js';

const PIPELINES = 4;
const BUILDSETS = 100;
const SHA = 'c'.repeat(40);

/** A buildset part-way through: checkout done, the first wave of jobs dispatched, some running. */
function activeBuildset(
  pipeline: string,
  i: number,
  jobs: ReturnType<typeof pipelineJobs>,
): Buildset {
  // Times differ per buildset, as real ones do, so gzip does not get an easy ride.
  const now = Date.now() - 60_000 - i * 7_919;
  const created = createBuildset({
    id: `bench-${pipeline}-${i}`,
    pipeline,
    ref: 'refs/heads/master',
    commit: SHA,
    oldCommit: null,
    trigger: { kind: 'timer', detail: 'timer 0 2 * * *' },
    changedFiles: null,
    layoutVersion: 'bench',
    precedence: 'normal',
    jobs,
    now,
  });
  if (created.kind !== 'created') throw new Error('the example periodic pipeline selected nothing');
  let bs = applyInput(created.buildset, { type: 'start', requestId: `${i}-co` }, now).buildset;
  const co = bs.checkout.requestId!;
  bs = applyInput(bs, { type: 'build-started', requestId: co, at: now + 10 }, now + 10).buildset;
  bs = applyInput(
    bs,
    {
      type: 'build-completed',
      requestId: co,
      buildsetId: bs.id,
      job: 'checkout',
      attempt: 1,
      outcome: {
        result: 'SUCCESS',
        retryable: false,
        reason: 'ok',
        startedAt: now + 10,
        endedAt: now + 2_000,
        exitCode: 0,
        logPath: '/var/log/drawbridge/checkout.log',
      },
    },
    now + 2_000,
  ).buildset;
  for (const c of dispatchable(bs))
    bs = markDispatched(bs, c.job, `${bs.id}-${c.job}`, now + 2_100).buildset;
  for (const j of bs.jobs.filter((x) => x.state === 'QUEUED').slice(0, 3))
    bs = applyInput(
      bs,
      { type: 'build-started', requestId: j.requestId!, at: now + 2_200 },
      now + 2_200,
    ).buildset;
  return bs;
}

async function startServer(connectString: string): Promise<{ url: string; stop(): Promise<void> }> {
  const script = join(import.meta.dirname, 'web-server.ts');
  const child = spawn(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', script, JSON.stringify({ connectString })],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const first = await Promise.race([
    new Promise<string>((resolve) => lines.once('line', resolve)),
    exited.then(() => {
      throw new Error('the web server exited before listening');
    }),
  ]);
  lines.close();
  return {
    url: (JSON.parse(first) as { url: string }).url,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export const webBench: Bench = {
  name: 'web',
  async run({ quick }) {
    const loaded = await loadLayout([join(import.meta.dirname, '../config/example/zuul.d')]);
    if (!loaded.layout) throw new Error('the example layout does not load');
    const jobs = pipelineJobs(loaded.layout, 'periodic');
    const server = await startZooKeeper();
    const connectString = `${server.connectString}/bench-web`;
    const zk = await connectZooKeeper({ connectString, sessionTimeoutMs: 10_000 });
    const paths = new ZkPaths('/drawbridge');
    let web: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      for (const dir of paths.directories()) await zk.mkdirp(dir);
      for (let p = 0; p < PIPELINES; p++) {
        const pipeline = `load-${p}`;
        const buildsets = new Map<string, Buildset>();
        for (let i = p; i < BUILDSETS; i += PIPELINES) {
          const bs = activeBuildset(pipeline, i, jobs);
          buildsets.set(bs.id, bs);
        }
        await writeStatus(zk, paths, {
          state: { pipeline, queue: [...buildsets.keys()] },
          manager: 'independent',
          buildsets,
          now: Date.now(),
        });
      }
      web = await startServer(connectString);
      const probe = await fetch(`${web.url}/api/status`);
      const body = await probe.text();
      if (!probe.ok) throw new Error(`/api/status answered ${probe.status}: ${body.slice(0, 200)}`);
      const active = (JSON.parse(body) as { pipelines: { buildsets: unknown[] }[] }).pipelines
        .map((p) => p.buildsets.length)
        .reduce((a, b) => a + b, 0);
      if (active !== BUILDSETS) throw new Error(`expected ${BUILDSETS} buildsets, got ${active}`);
      const url = `${web.url}/api/status`;
      const zipped = await fetch(url, { headers: { 'accept-encoding': 'gzip' } });
      // fetch inflates the body; the header says what crossed the wire.
      const gzipBytes = Number(zipped.headers.get('content-length'));
      await zipped.arrayBuffer();
      const duration = quick ? 5 : 15;
      // As browsers and `curl --compressed` ask; the plain figure is kept beside it.
      const load = async (headers: Record<string, string>) => {
        await autocannon({ url, connections: 10, duration: 2, headers }); // warm-up
        const r = await autocannon({ url, connections: 10, duration, headers });
        if (r.non2xx > 0 || r.errors > 0)
          throw new Error(`${r.non2xx} non-2xx answers and ${r.errors} errors under load`);
        return r;
      };
      const result = await load({ 'accept-encoding': 'gzip' });
      const plain = await load({});
      const p99 = result.latency.p99;
      const rps = result.requests.average;
      return {
        figures: {
          status: {
            active_buildsets: BUILDSETS,
            jobs_per_buildset: jobs.length,
            body_bytes: Buffer.byteLength(body),
            gzip_bytes: gzipBytes,
            connections: 10,
            duration_s: duration,
            accept_encoding: 'gzip',
            latency_ms: { p50: result.latency.p50, p99, max: result.latency.max },
            requests_per_s: rps,
            uncompressed: {
              latency_ms: { p50: plain.latency.p50, p99: plain.latency.p99 },
              requests_per_s: plain.requests.average,
            },
          },
        },
        goals: [
          { metric: 'web.status.latency_ms.p99', value: p99, goal: '≤ 20 ms', ok: p99 <= 20 },
          { metric: 'web.status.requests_per_s', value: rps, goal: '≥ 2000', ok: rps >= 2000 },
        ],
      };
    } finally {
      await web?.stop();
      await zk.close();
      await server.stop();
    }
  },
};
