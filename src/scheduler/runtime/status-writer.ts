/**
 * The status summary web serves: written after every pass that held the
 * pipeline's lock, whatever changed, so `generatedAt` shows the scheduler
 * is alive. Expected durations come from history, which does not exist yet:
 * every expectation is 0 until it does.
 */
import type { PipelineManager } from '../../config/index.js';
import type { Buildset, PipelineState } from '../../model/index.js';
import type { ZkClient } from '../../zk/client.js';
import { jsonCodec } from '../../zk/codec.js';
import { ZkDocument } from '../../zk/document.js';
import type { ZkPaths } from '../../zk/paths.js';
import { CHECKOUT_JOB, pipelineStatus, type PipelineStatus } from '../index.js';

const codec = jsonCodec<PipelineStatus>();

export async function writeStatus(
  zk: ZkClient,
  paths: ZkPaths,
  input: {
    readonly state: PipelineState;
    readonly manager: PipelineManager;
    readonly buildsets: ReadonlyMap<string, Buildset>;
    readonly now: number;
    /** Past durations (0: unknown); the ETAs need them. */
    readonly expectedMs?: (job: string) => number;
  },
): Promise<void> {
  const expectedMs = input.expectedMs ?? (() => 0);
  const status = pipelineStatus({
    ...input,
    expectedMs,
    expectedCheckoutMs: expectedMs(CHECKOUT_JOB),
  });
  const doc = new ZkDocument(zk, paths.pipelineStatus(input.state.pipeline), codec);
  // Only the lock holder writes it, so last writer wins is right.
  await doc.update(() => status);
}

/** Reads a pipeline's status summary (what web does). */
export async function readStatus(
  zk: ZkClient,
  paths: ZkPaths,
  pipeline: string,
): Promise<PipelineStatus | null> {
  return (await new ZkDocument(zk, paths.pipelineStatus(pipeline), codec).read())?.value ?? null;
}
