/** Nearest-rank percentile of a sample; `p` in [0, 100]. */
export function percentile(sample: readonly number[], p: number): number {
  if (sample.length === 0) throw new Error('percentile of an empty sample');
  const sorted = [...sample].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

export function summarize(sample: readonly number[]): Summary {
  const mean = sample.reduce((a, b) => a + b, 0) / sample.length;
  return {
    n: sample.length,
    p50: round(percentile(sample, 50)),
    p99: round(percentile(sample, 99)),
    max: round(Math.max(...sample)),
    mean: round(mean),
  };
}

/** Milliseconds taken by `fn`, measured with the monotonic clock. */
export async function timeMs(fn: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}
