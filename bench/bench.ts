export interface Goal {
  readonly metric: string;
  readonly value: number;
  /** Human-readable, e.g. "< 100 ms". */
  readonly goal: string;
  readonly ok: boolean;
}

export interface BenchResult {
  /** Nested figures written under the bench's name in latest.json. */
  readonly figures: Record<string, unknown>;
  readonly goals: readonly Goal[];
}

export interface Bench {
  readonly name: string;
  run(options: { quick: boolean }): Promise<BenchResult>;
}
