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
  /** Trigger sources this scheduler runs itself (triggers.ts). Default: none. */
  readonly triggers?: SchedulerTriggerOptions;
}

/** The deployed repository as the scheduler polls it (`repository.*` of the daemon config). */
export interface SchedulerRepositoryOptions {
  readonly url: string;
  readonly branch: string;
  /** Absolute path of the scheduler's own bare clone. */
  readonly localPath: string;
  /** 0: poll only when asked (a timer firing, say). */
  readonly pollIntervalMs: number;
}

export interface SchedulerTriggerOptions {
  /** Run a TimerTrigger for the layout's timers; needs `repository` for the head. */
  readonly timers: boolean;
  /** Run a GitPoller on this repository. */
  readonly repository?: SchedulerRepositoryOptions;
}

export type ResolvedSchedulerOptions = Readonly<
  Required<Omit<SchedulerOptions, 'triggers'>> & {
    readonly triggers?: Readonly<SchedulerTriggerOptions>;
  }
>;

const int = (min: number, max: number) => z.number().int().min(min).max(max);

const schema = z.object({
  version: z.string().min(1),
  safetyIntervalMs: int(50, 3_600_000).default(3_000),
  keepDoneBuildsets: int(0, 10_000).default(20),
  eventsPerPass: int(1, 10_000).default(100),
  triggers: z
    .object({
      timers: z.boolean(),
      repository: z
        .object({
          url: z.string().min(1),
          branch: z.string().min(1),
          localPath: z.string().min(1),
          pollIntervalMs: int(0, 86_400_000),
        })
        .readonly()
        .optional(),
    })
    // A timer buildset deploys the branch head, read from the poller's clone.
    .refine((t) => !t.timers || t.repository !== undefined, {
      message: 'a repository when timers is true (timer buildsets deploy its branch head)',
    })
    .readonly()
    .optional(),
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
