/**
 * Deterministic ids. A replayed event must recreate the same buildset and
 * the same requests, so ids derive from what caused them, never from a
 * clock or a random source. Every id is a valid znode segment.
 */
import { createHash } from 'node:crypto';

const UNSAFE = /[^A-Za-z0-9_-]/g;

function hash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** The buildset an event of `pipeline` creates: `<kind>-<hash of pipeline and event id>`. */
export function buildsetIdFor(pipeline: string, kind: string, eventId: string): string {
  return `${kind}-${hash(`${pipeline}\n${eventId}`, 16)}`;
}

/** First-attempt request id of the checkout (retries append `.<n>`). */
export function checkoutRequestId(buildsetId: string): string {
  return `${buildsetId}-checkout`;
}

/** First-attempt request id of a job: readable when the name allows, unique by a hash otherwise. */
export function jobRequestId(buildsetId: string, job: string): string {
  const readable = job.replace(UNSAFE, '_').slice(0, 40);
  const suffix = readable === job ? '' : `-${hash(job, 8)}`;
  return `${buildsetId}-j-${readable}${suffix}`;
}
