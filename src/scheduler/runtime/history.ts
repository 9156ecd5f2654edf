/**
 * Finished buildsets leave the queue in the same transaction that stores
 * their final state; their records stay under the pipeline's buildsets
 * node so operators (and tests) can read how they ended. Until src/history
 * exists, only the newest `keep` of them are kept; older ones are deleted,
 * which also makes any semaphore holder they still own stale.
 */
import type { ZkClient } from '../../zk/client.js';
import type { ZkPaths } from '../../zk/paths.js';
import { unlessMissing } from '../../zk/shard.js';
import type { PipelineStore } from './pipeline-store.js';

export async function pruneHistory(
  zk: ZkClient,
  paths: ZkPaths,
  store: PipelineStore,
  queue: readonly string[],
  keep: number,
): Promise<string[]> {
  const dir = paths.pipelineBuildsets(store.pipeline);
  const names = await unlessMissing(zk.children(dir), []);
  // Names starting with "." are the documents' shard storage, not buildsets.
  const done = names.filter((n) => !n.startsWith('.') && !queue.includes(n));
  if (done.length <= keep) return [];
  const aged = await Promise.all(
    done.map(async (n) => ({ n, ctime: (await zk.exists(`${dir}/${n}`))?.ctime ?? 0 })),
  );
  aged.sort((a, b) => b.ctime - a.ctime || (a.n < b.n ? 1 : -1));
  const old = aged.slice(keep).map((a) => a.n);
  for (const id of old) await store.buildsetDoc(id).delete();
  return old;
}
