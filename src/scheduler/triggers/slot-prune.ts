/**
 * Deleting old timer slot nodes. Several claimants may prune at once, so a
 * node someone else deleted first is not an error.
 */
import type { ZkClient } from '../../zk/client.js';
import { ZkNoNodeError } from '../../zk/errors.js';

/** Deletes the children of `dir` that `choose` picks; returns how many it deleted. */
export async function pruneSlots(
  zk: ZkClient,
  dir: string,
  choose: (names: readonly string[]) => string[],
): Promise<number> {
  let names: string[];
  try {
    names = await zk.children(dir);
  } catch (e) {
    if (e instanceof ZkNoNodeError) return 0;
    throw e;
  }
  let deleted = 0;
  for (const name of choose(names)) {
    try {
      await zk.delete(`${dir}/${name}`);
      deleted += 1;
    } catch (e) {
      if (!(e instanceof ZkNoNodeError)) throw e;
    }
  }
  return deleted;
}
