/**
 * Load + validate + freeze a generated 1000-job layout from disk, the work a
 * scheduler does on reconfiguration plus once per buildset. Goal: < 100 ms.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadLayout, pipelineJobs } from '../src/config/index.js';
import { freezeGraph } from '../src/graph/index.js';
import type { Bench } from './bench.js';
import { generateLayout } from './generate.js';
import { summarize, timeMs } from './stats.js';

const GOAL_MS = 100;

export const layoutBench: Bench = {
  name: 'layout',
  async run({ quick }) {
    const jobs = 1000;
    const dir = mkdtempSync(join(tmpdir(), 'drawbridge-bench-layout-'));
    try {
      for (const file of generateLayout({ jobs, seed: 1 }).files) {
        mkdirSync(dirname(join(dir, file.path)), { recursive: true });
        writeFileSync(join(dir, file.path), file.text);
      }
      const once = async (): Promise<{ selected: number }> => {
        const { layout, errors } = await loadLayout([dir]);
        if (!layout) throw new Error(`generated layout invalid: ${errors[0]?.message ?? '?'}`);
        let selected = 0;
        for (const name of layout.pipelines.keys()) {
          const graph = freezeGraph(pipelineJobs(layout, name), { kind: 'all' });
          if (graph.errors.length) throw new Error(`freeze failed: ${graph.errors[0]?.message}`);
          selected += graph.jobs.length;
        }
        return { selected };
      };
      const { selected } = await once(); // warm-up: JIT, file cache
      const iterations = quick ? 10 : 40;
      const sample: number[] = [];
      for (let i = 0; i < iterations; i++) sample.push(await timeMs(once));
      const s = summarize(sample);
      return {
        figures: { jobs, frozen_jobs_per_run: selected, load_validate_freeze_ms: s },
        goals: [
          {
            metric: 'layout.load_validate_freeze_ms.p50',
            value: s.p50,
            goal: `< ${GOAL_MS} ms`,
            ok: s.p50 < GOAL_MS,
          },
          {
            metric: 'layout.load_validate_freeze_ms.max',
            value: s.max,
            goal: `< ${GOAL_MS} ms`,
            ok: s.max < GOAL_MS,
          },
        ],
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
