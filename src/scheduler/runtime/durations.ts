/**
 * Expected build durations for the status summary's ETAs, from the history
 * (the median of a job's last successful runs). The status is written after
 * every pass and must not wait on a database: lookups answer at once from
 * what is known (0 for a job never seen) and refresh stale entries in the
 * background, one query per job at a time.
 */
import type { Logger } from 'pino';
import { toError } from '../../errors.js';

/** Past duration of a job in ms; undefined when it never succeeded. */
export type DurationSource = (job: string) => Promise<number | undefined>;

export class DurationEstimates {
  readonly #known = new Map<string, { readonly ms: number | undefined; readonly at: number }>();
  readonly #pending = new Set<string>();

  constructor(
    private readonly source: DurationSource | undefined,
    private readonly now: () => number,
    private readonly log: Logger,
    /** Jobs finish all the time; a few minutes' lag in an estimate is harmless. */
    private readonly maxAgeMs = 300_000,
  ) {}

  /** The last known estimate (0 when unknown); starts a refresh when it is missing or old. */
  expected(job: string): number {
    if (this.source === undefined) return 0;
    const known = this.#known.get(job);
    if ((known === undefined || this.now() - known.at >= this.maxAgeMs) && !this.#pending.has(job))
      this.#refresh(this.source, job);
    return known?.ms ?? 0;
  }

  #refresh(source: DurationSource, job: string): void {
    this.#pending.add(job);
    source(job)
      .then(
        (ms) => this.#known.set(job, { ms, at: this.now() }),
        (err: unknown) => {
          this.#known.set(job, { ms: undefined, at: this.now() });
          this.log.debug({ err: toError(err), job }, 'no expected duration');
        },
      )
      .finally(() => this.#pending.delete(job))
      .catch(() => undefined);
  }
}
