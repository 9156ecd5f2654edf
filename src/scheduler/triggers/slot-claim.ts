/**
 * Claiming one timer slot: a single transaction creates the slot's node and
 * appends the timer event. The create fails if another scheduler claimed the
 * slot first, and then nothing is appended; a crash between the two cannot
 * happen because there is no "between".
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { TimerEvent, TriggerEvent } from '../../model/events.js';
import type { ZkClient } from '../../zk/client.js';
import { jsonCodec } from '../../zk/codec.js';
import { commit } from '../../zk/document.js';
import {
  ZkConnectionLossError,
  ZkNodeExistsError,
  ZkNoNodeError,
  ZkSessionLostError,
} from '../../zk/errors.js';
import type { ZkPaths } from '../../zk/paths.js';
import type { ZkEventQueue } from '../../zk/queue.js';

const slotRecordSchema = z.object({
  pipeline: z.string(),
  slot: z.string(),
  slotMs: z.number(),
  dueMs: z.number(),
  eventId: z.string(),
  /** The scheduler that claimed the slot. */
  claimedBy: z.string(),
  /** Unique per claim attempt: how a claimant recognises its own node after a connection loss. */
  claim: z.string(),
  claimedAt: z.number(),
});
export type SlotRecord = z.infer<typeof slotRecordSchema>;
export const slotRecordCodec = jsonCodec((v) => slotRecordSchema.parse(v));

export type ClaimOutcome = 'claimed' | 'taken';

export interface SlotClaim {
  readonly event: TimerEvent;
  readonly slotMs: number;
  readonly dueMs: number;
  readonly claimedBy: string;
  readonly claimedAt: number;
}

/** Puts `claim.event` unless another scheduler already claimed its slot. */
export async function claimSlot(
  zk: ZkClient,
  paths: ZkPaths,
  queue: ZkEventQueue<TriggerEvent>,
  claim: SlotClaim,
): Promise<ClaimOutcome> {
  const { event } = claim;
  const path = paths.timerSlot(event.pipeline, event.slot);
  const record: SlotRecord = {
    pipeline: event.pipeline,
    slot: event.slot,
    slotMs: claim.slotMs,
    dueMs: claim.dueMs,
    eventId: event.id,
    claimedBy: claim.claimedBy,
    claim: randomUUID(),
    claimedAt: claim.claimedAt,
  };
  const attempt = async (): Promise<ClaimOutcome> => {
    const data = slotRecordCodec.encode(record);
    await commit(zk, [{ op: 'create', path, data }, await queue.preparePut(event)]);
    return 'claimed';
  };
  for (let round = 0; ; round++) {
    try {
      return await attempt();
    } catch (e) {
      if (e instanceof ZkNodeExistsError) return 'taken';
      if (round > 0) throw e;
      if (e instanceof ZkNoNodeError) {
        // First claim in this tree (or after a cleanup): make the parents, try once more.
        await zk.mkdirp(paths.timerSlots(event.pipeline));
        await queue.init();
        continue;
      }
      if (e instanceof ZkConnectionLossError || e instanceof ZkSessionLostError) {
        // The transaction may or may not have been applied: our node says which.
        const known = await outcomeOf(zk, path, record.claim);
        if (known) return known;
        continue;
      }
      throw e;
    }
  }
}

async function outcomeOf(zk: ZkClient, path: string, claim: string): Promise<ClaimOutcome | null> {
  await zk.waitConnected({ timeoutMs: zk.sessionTimeoutMs * 2 });
  try {
    const { data } = await zk.get(path);
    return slotRecordCodec.decode(data).claim === claim ? 'claimed' : 'taken';
  } catch (e) {
    if (e instanceof ZkNoNodeError) return null;
    throw e;
  }
}
