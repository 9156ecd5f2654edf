import type { Bench } from './bench.js';
import { layoutBench } from './layout.bench.js';
import { executorBench } from './executor.bench.js';
import { haBench } from './ha.bench.js';
import { schedulerBench } from './scheduler.bench.js';
import { webBench } from './web.bench.js';
import { zkBench } from './zk.bench.js';

/** Every benchmark, in the order `npm run bench` runs them. */
export const benches: readonly Bench[] = [
  layoutBench,
  zkBench,
  executorBench,
  schedulerBench,
  haBench,
  webBench,
];
