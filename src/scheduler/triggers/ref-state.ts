/**
 * The per-ref document pollers share: the last head any of them reported.
 * Moved only by compare-and-set in the same transaction as the event, so a
 * push is reported once however many pollers run or restart.
 */
import { z } from 'zod';
import type { ZkClient } from '../../zk/client.js';
import { jsonCodec } from '../../zk/codec.js';
import { ZkDocument } from '../../zk/document.js';
import type { ZkPaths } from '../../zk/paths.js';
import { refKey } from './names.js';

const refStateSchema = z.object({
  ref: z.string(),
  commit: z.string().regex(/^[0-9a-f]{40}$/),
  /** The event that reported `commit`; null for the baseline recorded at first sight. */
  eventId: z.string().nullable(),
  reportedAt: z.number(),
  reportedBy: z.string(),
});
export type RefState = z.infer<typeof refStateSchema>;
export const refStateCodec = jsonCodec((v) => refStateSchema.parse(v));

/**
 * `<root>/triggers/refs`: not (yet) in ZkPaths, which src/scheduler may not
 * change; built from its root and `segment`-safe names only.
 */
export function refStatesPath(paths: ZkPaths): string {
  return paths.triggerRefs();
}

/** `<root>/triggers/refs/<ref key>`, e.g. `.../refs_sheads_smain`. */
export function refStatePath(paths: ZkPaths, ref: string): string {
  return paths.triggerRef(refKey(ref));
}

export function refStateDocument(zk: ZkClient, paths: ZkPaths, ref: string): ZkDocument<RefState> {
  return new ZkDocument(zk, refStatePath(paths, ref), refStateCodec);
}
