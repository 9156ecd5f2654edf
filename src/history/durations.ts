/**
 * Expected job durations from the history, for plans and ETAs: the median
 * of the job's last successful runs (a median, so one slow outlier does not
 * move the estimate). Unknown when the job never succeeded or the history is away.
 */
import type { HistoryReader } from './types.js';

export function expectedDurations(
  reader: HistoryReader,
  samples = 5,
): (job: string) => Promise<number | undefined> {
  return async (job) => {
    try {
      const page = await reader.listBuilds({ job, result: 'SUCCESS' }, { limit: samples, skip: 0 });
      const ms = page.items
        .flatMap((b) => (b.startedAt === null ? [] : [b.endedAt - b.startedAt]))
        .sort((a, b) => a - b);
      return ms[Math.floor(ms.length / 2)];
    } catch {
      return undefined;
    }
  };
}
