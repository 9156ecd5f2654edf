/**
 * Events: what asks a scheduler to do something. Trigger events come from
 * outside (a push seen by a poller or a webhook, a timer slot) and are routed
 * to every pipeline whose triggers match; management events come from
 * operators (CLI, REST) and name their pipeline. Build results have their
 * own record in build.ts. All are put on ZooKeeper queues and handled at
 * least once, so each carries an id that makes a replay recognisable.
 */
import { z } from 'zod';
import { jsonCodec } from '../zk/codec.js';

const sha = z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-character commit sha');
const epochMs = z.number().int().nonnegative();
const name = z.string().min(1);

/** A branch or tag moved: `oldCommit` null for a new ref. */
export const refUpdatedEventSchema = z.object({
  type: z.literal('ref-updated'),
  /** Unique per push (`webhook-<provider>-<sha256 of the body>`, or `poll-<ref>-<newCommit>`). */
  id: name,
  /** Full ref name, `refs/heads/master`. */
  ref: name,
  oldCommit: sha.nullable(),
  newCommit: sha,
  /** Files changed old..new; null when unknown (then every job is selected). */
  changedFiles: z.array(z.string()).nullable(),
  source: z.enum(['poll', 'webhook']),
  /** For people: "push by alice (gitea webhook)". */
  detail: z.string(),
  receivedAt: epochMs,
});
export type RefUpdatedEvent = z.infer<typeof refUpdatedEventSchema>;

/** A timer slot of one pipeline fired; one event per (pipeline, slot) however many schedulers run. */
export const timerEventSchema = z.object({
  type: z.literal('timer'),
  id: name,
  pipeline: name,
  /** `slotId` of the cron schedule: the identity of this firing. */
  slot: name,
  /** The ref to deploy and its head when the slot fired. */
  ref: name,
  commit: sha,
  firedAt: epochMs,
});
export type TimerEvent = z.infer<typeof timerEventSchema>;

export const triggerEventSchema = z.discriminatedUnion('type', [
  refUpdatedEventSchema,
  timerEventSchema,
]);
export type TriggerEvent = z.infer<typeof triggerEventSchema>;

const who = { id: name, requestedBy: z.string(), requestedAt: epochMs };

export const managementEventSchema = z.discriminatedUnion('type', [
  /** Run the pipeline for a ref at a commit (every job, as a timer would). */
  z.object({ type: z.literal('enqueue'), pipeline: name, ref: name, commit: sha, ...who }),
  /** Cancel a buildset: queued ones are dropped, running builds are canceled. */
  z.object({ type: z.literal('dequeue'), pipeline: name, buildsetId: name, ...who }),
  /** Move a queued buildset to the front of its pipeline. */
  z.object({ type: z.literal('promote'), pipeline: name, buildsetId: name, ...who }),
]);
export type ManagementEvent = z.infer<typeof managementEventSchema>;

export const triggerEventCodec = jsonCodec((v) => triggerEventSchema.parse(v));
export const managementEventCodec = jsonCodec((v) => managementEventSchema.parse(v));
