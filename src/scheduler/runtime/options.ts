/**
 * Scheduler options: validated once, frozen, defaults filled in, times in
 * milliseconds. docs/scheduler.md lists each one.
 */
import { z } from 'zod';
import { SchedulerConfigError } from '../runtime-errors.js';

export interface SchedulerOptions {
  /** Reported in the component record. */
  readonly version: string;
  /** A full round (routing, lost builds, every pipeline) this often even without a watch event. Default 3000 ms. */
  readonly safetyIntervalMs?: number;
  /** Finished buildset records kept per pipeline after they leave the queue. Default 20. */
  readonly keepDoneBuildsets?: number;
  /** Events read per queue per pass. Default 100. */
  readonly eventsPerPass?: number;
}

export type ResolvedSchedulerOptions = Readonly<Required<SchedulerOptions>>;

const int = (min: number, max: number) => z.number().int().min(min).max(max);

const schema = z.object({
  version: z.string().min(1),
  safetyIntervalMs: int(50, 3_600_000).default(3_000),
  keepDoneBuildsets: int(0, 10_000).default(20),
  eventsPerPass: int(1, 10_000).default(100),
});

export function resolveSchedulerOptions(options: SchedulerOptions): ResolvedSchedulerOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SchedulerConfigError(
      issue?.path.join('.') || '(options)',
      issue?.message ?? 'valid scheduler options',
    );
  }
  return Object.freeze(parsed.data);
}
