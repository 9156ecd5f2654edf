/**
 * One buildset through Drawbridge for the scheduler bench: an executor and
 * any number of schedulers, each in a Node process of its own with its own
 * ZooKeeper session and default options, as the daemons run in production;
 * the buildset is enqueued as an operator does (a management event), then
 * awaited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildsetCodec,
  managementEventCodec,
  type Buildset,
  type ManagementEvent,
} from '../src/model/index.js';
import { buildsetIdFor } from '../src/scheduler/runtime/index.js';
import { ZkDocument } from '../src/zk/document.js';
import { ZkPaths } from '../src/zk/paths.js';
import { ZkEventQueue } from '../src/zk/queue.js';
import { connectZooKeeper, type ZooKeeperClient } from '../src/zk/zk-client.js';
import { waitUntil } from '../test/fixtures/wait.js';
import type { ComponentSpec, LayoutSpec } from './component-process.js';
import { treeCpuMs } from './proc-cpu.js';

type ExecutorSpec = Extract<ComponentSpec, { kind: 'executor' }>['options'];

export interface BuildsetRunOptions {
  /** `host:port/chroot`; a fresh chroot per run. */
  readonly connectString: string;
  readonly layout: LayoutSpec;
  readonly pipeline: string;
  readonly commit: string;
  readonly executor: ExecutorSpec;
  readonly schedulers: number;
  readonly timeoutMs: number;
  /**
   * How often to read the buildset until it is done (default 50 ms). Figures come
   * from the record file and the buildset's own times, not from when a poll saw
   * the end; reading a 60-job buildset at 20 Hz for a minute takes CPU from the jobs.
   */
  readonly pollMs?: number;
}

/**
 * For looking into a run (docs/performance.md): extra node options for every
 * component process (say `--cpu-prof --cpu-prof-dir=/tmp/prof`), and a
 * directory where each writes a debug log `<name>.ndjson`.
 */
const NODE_ARGS = process.env.BENCH_COMPONENT_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
const LOG_DIR = process.env.BENCH_COMPONENT_LOG_DIR;

export interface BuildsetRun {
  readonly buildset: Buildset;
  /** Epoch ms just before the enqueue event was written. */
  readonly enqueuedAt: number;
  /** CPU time of the component processes (schedulers, executor) during the run, ms. */
  readonly processCpuMs: number;
}

const ENTRY = fileURLToPath(new URL('./component-process.ts', import.meta.url));

interface Component {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Resolves on the child's `ready`; rejects if it exits, fails to spawn or takes too long. */
  readonly ready: Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;

/** Spawns one component process; the caller tracks it at once, so a failure elsewhere still stops it. */
function spawnComponent(dir: string, name: string, spec: ComponentSpec): Component {
  const file = join(dir, `${name}.json`);
  const logFile = LOG_DIR === undefined ? {} : { logFile: join(LOG_DIR, `${name}.ndjson`) };
  writeFileSync(file, JSON.stringify({ ...spec, ...logFile }), { mode: 0o600 });
  const child = spawn(
    process.execPath,
    [...NODE_ARGS, '--import', '@swc-node/register/esm-register', ENTRY, file],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    // A failed spawn emits 'error' and no 'exit'.
    child.once('error', () => resolve(null));
  });
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bench ${name} not ready within ${READY_TIMEOUT_MS} ms: ${stderr}`));
    }, READY_TIMEOUT_MS);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`bench ${name} exited (${code}): ${stderr}`));
    });
  });
  ready.catch(() => undefined); // awaited by the caller; this only keeps it handled
  return { name, child, exited, ready };
}

/** Closes the stdin of each (the stop signal) and waits for it to exit, killing it after 30 s. */
async function stopComponents(components: readonly Component[]): Promise<void> {
  await Promise.all(
    components.map(async (c) => {
      c.child.stdin?.end();
      const timer = setTimeout(() => c.child.kill('SIGKILL'), 30_000);
      await c.exited;
      clearTimeout(timer);
    }),
  );
}

export async function runBuildset(o: BuildsetRunOptions): Promise<BuildsetRun> {
  const paths = new ZkPaths('/drawbridge');
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-bench-components-'));
  const components: Component[] = [];
  let bench: ZooKeeperClient | undefined;
  try {
    bench = await connectZooKeeper({ connectString: o.connectString, sessionTimeoutMs: 10_000 });
    components.push(
      spawnComponent(dir, 'executor', {
        kind: 'executor',
        connectString: o.connectString,
        options: o.executor,
      }),
    );
    for (let i = 0; i < o.schedulers; i++)
      components.push(
        spawnComponent(dir, `scheduler-${i}`, {
          kind: 'scheduler',
          connectString: o.connectString,
          layout: o.layout,
        }),
      );
    await Promise.all(components.map((c) => c.ready));
    const id = `bench-${o.pipeline}-${Date.now()}`;
    const event: ManagementEvent = {
      type: 'enqueue',
      pipeline: o.pipeline,
      ref: 'refs/heads/main',
      commit: o.commit,
      id,
      requestedBy: 'bench',
      requestedAt: Date.now(),
    };
    const queue = new ZkEventQueue(
      bench,
      paths.pipelineManagementEvents(o.pipeline),
      managementEventCodec,
    );
    const doc = new ZkDocument(
      bench,
      paths.buildset(o.pipeline, buildsetIdFor(o.pipeline, 'manual', id)),
      buildsetCodec,
    );
    const roots = Object.fromEntries(components.map((c, i) => [String(i), c.child.pid ?? -1]));
    const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
    const cpu0 = sum(treeCpuMs(roots));
    const enqueuedAt = Date.now();
    await queue.put(event);
    let last: Buildset | null = null;
    await waitUntil(
      async () => (last = (await doc.read())?.value ?? null)?.state === 'done',
      `buildset of ${o.pipeline} to finish`,
      o.timeoutMs,
      o.pollMs ?? 50,
    );
    const processCpuMs = sum(treeCpuMs(roots)) - cpu0;
    const buildset = last as unknown as Buildset;
    if (buildset.result !== 'SUCCESS') {
      const failed = buildset.jobs
        .filter((j) => j.state !== 'SUCCESS')
        .map((j) => `${j.name}: ${j.state} ${j.reason ?? ''}`);
      throw new Error(
        `bench buildset ended ${buildset.result}: ${buildset.message ?? ''} ${failed.slice(0, 5).join('; ')}`,
      );
    }
    return { buildset, enqueuedAt, processCpuMs };
  } finally {
    // Schedulers first, then the executor, as an operator stops them.
    await stopComponents(components.filter((c) => c.name !== 'executor'));
    await stopComponents(components.filter((c) => c.name === 'executor'));
    await bench?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
