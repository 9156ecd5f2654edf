/**
 * `drawbridge enqueue`: ask the schedulers to run a pipeline for a commit, by
 * putting a management event on the pipeline's queue in ZooKeeper (the
 * same event the REST API will put). The pipeline must be in the layout
 * ZooKeeper names current: no scheduler reads the queue of any other. With
 * --wait, follow the buildset to its end and exit 0 only when it succeeded.
 */
import { randomUUID } from 'node:crypto';
import type { Buildset } from '../model/index.js';
import { loadStoredLayout } from '../model/layout-reconfigure.js';
import { LayoutStore } from '../model/layout-store.js';
import { buildsetCodec, managementEventCodec, type ManagementEvent } from '../model/index.js';
import { buildsetIdFor } from '../scheduler/runtime/index.js';
import { ZkDocument, ZkEventQueue, watchData } from '../zk/index.js';
import { openAdminSession, type AdminSession } from './admin-session.js';
import type { Env } from './daemon-config-load.js';
import { CliUsageError, timeoutSeconds } from './errors.js';
import { EXIT, type Io } from './io.js';

export interface EnqueueOptions {
  readonly config: string;
  readonly pipeline: string;
  readonly commit: string;
  readonly ref?: string;
  readonly wait?: boolean;
  /** Seconds, as typed. */
  readonly timeout: string;
}

const SHA = /^[0-9a-f]{40}$/;

export async function enqueueCommand(options: EnqueueOptions, env: Env, io: Io): Promise<number> {
  if (!SHA.test(options.commit))
    throw new CliUsageError('--commit: expected a full 40-character sha', '--commit');
  const timeoutS = timeoutSeconds(options.timeout);
  const session = await openAdminSession(options.config, env, io);
  if (session === undefined) return EXIT.invalid;
  try {
    const current = await currentPipelines(session);
    if (typeof current === 'string') {
      io.stderr.write(`drawbridge: cannot enqueue: ${current}\n`);
      return EXIT.invalid;
    }
    if (!current.pipelines.includes(options.pipeline))
      throw new CliUsageError(
        `no pipeline "${options.pipeline}" in the current layout (${current.version}); ` +
          `it has: ${current.pipelines.join(', ') || '(none)'}`,
        '--pipeline',
      );
    const ref = options.ref ?? `refs/heads/${session.config.repository.branch}`;
    const event: ManagementEvent = {
      type: 'enqueue',
      id: `cli-${randomUUID()}`,
      pipeline: options.pipeline,
      ref,
      commit: options.commit,
      requestedBy: `cli (${env.USER ?? 'unknown user'})`,
      requestedAt: Date.now(),
    };
    const { zk, paths } = session;
    await new ZkEventQueue(
      zk,
      paths.pipelineManagementEvents(options.pipeline),
      managementEventCodec,
    ).put(event);
    const buildsetId = buildsetIdFor(options.pipeline, 'manual', event.id);
    io.stdout.write(
      `enqueued ${options.pipeline} at ${options.commit.slice(0, 12)} (${ref}): buildset ${buildsetId}\n`,
    );
    if (!options.wait) return EXIT.ok;
    const final = await followBuildset(session, options.pipeline, buildsetId, timeoutS * 1000, io);
    io.stdout.write(
      `buildset ${buildsetId} ${final.result ?? 'unknown'}${final.message ? `: ${final.message}` : ''}\n`,
    );
    return final.result === 'SUCCESS' ? EXIT.ok : EXIT.invalid;
  } finally {
    await session.zk.close();
  }
}

/** The current layout's version and pipelines, or why there is none to check against. */
async function currentPipelines({
  zk,
  paths,
}: AdminSession): Promise<{ version: string; pipelines: string[] } | string> {
  const store = new LayoutStore(zk, paths);
  const pointer = await store.current();
  if (pointer === null)
    return (
      `no layout is current in ZooKeeper (${store.currentPath}); ` +
      'start a scheduler or run drawbridge reconfigure first'
    );
  const version = pointer.value.version;
  const stored = await store.read(version);
  const layout = stored === null ? undefined : loadStoredLayout(stored).layout;
  if (layout === undefined)
    return `the current layout ${version} cannot be read or does not load here`;
  return { version, pipelines: [...layout.pipelines.keys()] };
}

/** Prints a line whenever the job counts change; resolves with the done buildset. */
function followBuildset(
  { zk, paths }: AdminSession,
  pipeline: string,
  id: string,
  timeoutMs: number,
  io: Io,
): Promise<Buildset> {
  const path = paths.buildset(pipeline, id);
  const doc = new ZkDocument(zk, path, buildsetCodec);
  return new Promise<Buildset>((resolve, reject) => {
    let last = '';
    const timer = setTimeout(() => {
      stop();
      reject(
        new CliUsageError(
          `buildset ${id} did not finish within ${timeoutMs / 1000} s; see drawbridge status`,
          '--timeout',
        ),
      );
    }, timeoutMs);
    const stop = watchData(
      zk,
      path,
      async () => {
        const read = await doc.read();
        if (read === null) return; // the scheduler has not created it yet
        const bs = read.value;
        const counts = new Map<string, number>();
        for (const job of bs.jobs) counts.set(job.state, (counts.get(job.state) ?? 0) + 1);
        const line = `${bs.state}: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`;
        if (line !== last) io.stderr.write(`  ${line}\n`);
        last = line;
        if (bs.state === 'done') {
          clearTimeout(timer);
          stop();
          resolve(bs);
        }
      },
      { onError: (e) => io.stderr.write(`  (watch: ${e.message})\n`) },
    );
  });
}
