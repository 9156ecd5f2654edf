/**
 * One buildset through Drawbridge for the scheduler bench: an executor and
 * any number of schedulers in this process, each with a ZooKeeper session of
 * its own (as separate processes would have), default options; the buildset
 * is enqueued as an operator does (a management event), then awaited.
 */
import { pino } from 'pino';
import type { Layout } from '../src/config/index.js';
import { Executor, type ExecutorOptions } from '../src/executor/index.js';
import {
  buildsetCodec,
  managementEventCodec,
  type Buildset,
  type ManagementEvent,
} from '../src/model/index.js';
import { Scheduler, buildsetIdFor } from '../src/scheduler/runtime/index.js';
import { ZkDocument } from '../src/zk/document.js';
import { ZkPaths } from '../src/zk/paths.js';
import { ZkEventQueue } from '../src/zk/queue.js';
import { connectZooKeeper, type ZooKeeperClient } from '../src/zk/zk-client.js';
import { waitUntil } from '../test/fixtures/wait.js';

export interface BuildsetRunOptions {
  /** `host:port/chroot`; a fresh chroot per run. */
  readonly connectString: string;
  readonly layout: Layout;
  readonly pipeline: string;
  readonly commit: string;
  readonly executor: ExecutorOptions;
  readonly schedulers: number;
  readonly timeoutMs: number;
}

export interface BuildsetRun {
  readonly buildset: Buildset;
  /** Epoch ms just before the enqueue event was written. */
  readonly enqueuedAt: number;
  /** CPU time of this process (schedulers, executor, ZooKeeper clients) during the run, ms. */
  readonly processCpuMs: number;
}

export async function runBuildset(o: BuildsetRunOptions): Promise<BuildsetRun> {
  const logger = pino({ level: 'silent' });
  const paths = new ZkPaths('/drawbridge');
  const clients: ZooKeeperClient[] = [];
  const connect = async (): Promise<ZooKeeperClient> => {
    const c = await connectZooKeeper({ connectString: o.connectString, sessionTimeoutMs: 10_000 });
    clients.push(c);
    return c;
  };
  const schedulers: Scheduler[] = [];
  let executor: Executor | undefined;
  try {
    const bench = await connect();
    executor = new Executor(o.executor, { zk: await connect(), paths, logger });
    await executor.start();
    for (let i = 0; i < o.schedulers; i++) {
      const s = new Scheduler(
        { version: 'bench' },
        { zk: await connect(), paths, layout: o.layout, layoutVersion: 'bench', logger },
      );
      schedulers.push(s);
      await s.start();
    }
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
    const cpu0 = process.cpuUsage();
    const enqueuedAt = Date.now();
    await queue.put(event);
    let last: Buildset | null = null;
    await waitUntil(
      async () => (last = (await doc.read())?.value ?? null)?.state === 'done',
      `buildset of ${o.pipeline} to finish`,
      o.timeoutMs,
      50,
    );
    const cpu = process.cpuUsage(cpu0);
    const buildset = last as unknown as Buildset;
    if (buildset.result !== 'SUCCESS') {
      const failed = buildset.jobs
        .filter((j) => j.state !== 'SUCCESS')
        .map((j) => `${j.name}: ${j.state} ${j.reason ?? ''}`);
      throw new Error(
        `bench buildset ended ${buildset.result}: ${buildset.message ?? ''} ${failed.slice(0, 5).join('; ')}`,
      );
    }
    return { buildset, enqueuedAt, processCpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    await Promise.allSettled(schedulers.map((s) => s.stop()));
    await executor?.stop();
    await Promise.allSettled(clients.map((c) => c.close()));
  }
}
