/**
 * `npm run bench [-- --quick] [-- --only NAME]`: runs the benchmarks, prints
 * a table, and merges the figures into bench/results/latest.json (sections
 * of benches that did not run keep their last figures and timestamp).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import type { Bench, BenchResult } from './bench.js';
import { benches } from './registry.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    `usage: npm run bench [-- --quick] [-- --only NAME ...]\n\nbenchmarks: ${benches.map((b) => b.name).join(', ')}\n`,
  );
  process.exit(0);
}

const resultsDir = new URL('./results/', import.meta.url);
const latest = new URL('latest.json', resultsDir);

function readPrevious(): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(latest, 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

const selected: readonly Bench[] = values.only
  ? benches.filter((b) => values.only?.includes(b.name))
  : benches;
if (selected.length === 0) {
  process.stderr.write(`no benchmark named ${values.only?.join(', ')}\n`);
  process.exit(2);
}

const out = readPrevious();
let failedGoals = 0;
for (const bench of selected) {
  process.stdout.write(`\n== ${bench.name}${values.quick ? ' (quick)' : ''}\n`);
  const started = Date.now();
  const result: BenchResult = await bench.run({ quick: values.quick });
  for (const goal of result.goals) {
    const ok = goal.ok ? 'ok  ' : 'MISS';
    if (!goal.ok) failedGoals += 1;
    process.stdout.write(`  [${ok}] ${goal.metric} = ${goal.value} (goal ${goal.goal})\n`);
  }
  out[bench.name] = {
    ...result.figures,
    goals: result.goals,
    quick: values.quick,
    measured_at: new Date(started).toISOString(),
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

out.machine = {
  cpus: cpus().length,
  cpu_model: cpus()[0]?.model ?? 'unknown',
  memory_gib: Math.round(totalmem() / 2 ** 30),
  node: process.version,
};
mkdirSync(resultsDir, { recursive: true });
writeFileSync(latest, `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(`\nfigures written to bench/results/latest.json\n`);
// Missing a goal is reported, not fatal: figures from a loaded machine still inform.
if (failedGoals) process.stdout.write(`${failedGoals} goal(s) missed\n`);
