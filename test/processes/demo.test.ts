/**
 * The README's first command, for real: scripts/demo.sh brings up the local
 * stack, two schedulers, an executor and web, deploys the example repository
 * through the deploy pipeline to SUCCESS, reuses everything on a second run,
 * and `stop` leaves no process behind.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadLayout, pipelineJobs } from '../../src/config/index.js';
import { freezeGraph } from '../../src/graph/index.js';
import { root } from './support.js';

// Thirty real ansible-playbook runs on two cores, plus starting the processes.
jest.setTimeout(600_000);

const run = promisify(execFile);
let base: string;
const demo = (...args: string[]) =>
  run('bash', [join(root, 'scripts/demo.sh'), ...args], {
    env: { ...process.env, DRAWBRIDGE_LOCAL: base },
    maxBuffer: 16 * 1024 * 1024,
  });
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'drawbridge-demo-'));
  // The demo runs dist/: build it so the test exercises this checkout's code.
  await run('npm', ['run', 'build', '--silent'], { cwd: root });
});
afterAll(async () => {
  await demo('stop').catch(() => undefined);
  rmSync(base, { recursive: true, force: true });
});

// Where the example playbooks record `<job> start|end <epoch ms>` by default.
const RECORD = '/tmp/drawbridge-example/record.log';

/** Each job's [start, end] from the playbooks' own records written since `since`. */
function recordedRuns(since: number): Map<string, { start: number[]; end: number[] }> {
  const runs = new Map<string, { start: number[]; end: number[] }>();
  for (const line of readFileSync(RECORD, 'utf8').split('\n')) {
    const [job, event, at] = line.split(' ');
    if (!job || (event !== 'start' && event !== 'end') || Number(at) < since) continue;
    const run = runs.get(job) ?? { start: [], end: [] };
    run[event].push(Number(at));
    runs.set(job, run);
  }
  return runs;
}

describe('scripts/demo.sh', () => {
  it('deploys the example repository for real, twice, then stops cleanly', async () => {
    const since = Date.now();
    const first = await demo();
    expect(first.stdout).toMatch(/demo: started drawbridge-run/);
    expect(first.stdout).toMatch(/demo: two schedulers, an executor and web are running/);
    expect(first.stdout).toMatch(/^buildset manual-[0-9a-f]+ SUCCESS$/m);
    expect(first.stderr).toMatch(/done: 30 SUCCESS/);
    expect(first.stdout).toMatch(/status \(JSON\)\s+http:\/\/127\.0\.0\.1:\d+\/api\/status/);

    // The playbooks really ran on their hosts: every job once, dependencies
    // respected, and jobs the graph allows in parallel did overlap.
    const { layout } = await loadLayout([join(root, 'config/example/zuul.d')]);
    const graph = freezeGraph(pipelineJobs(layout!, 'deploy'), { kind: 'all' });
    const runs = recordedRuns(since);
    for (const job of graph.jobs) {
      expect({
        job: job.name,
        starts: runs.get(job.name)?.start.length,
        ends: runs.get(job.name)?.end.length,
      }).toEqual({ job: job.name, starts: 1, ends: 1 });
    }
    const span = (name: string) => ({
      start: runs.get(name)!.start[0]!,
      end: runs.get(name)!.end[0]!,
    });
    for (const job of graph.jobs) {
      for (const dep of job.dependencies) {
        expect({
          edge: `${dep} -> ${job.name}`,
          ordered: span(job.name).start >= span(dep).end,
        }).toEqual({ edge: `${dep} -> ${job.name}`, ordered: true });
      }
    }
    const spans = graph.jobs.map((j) => span(j.name));
    const overlapping = spans.some((a, i) =>
      spans.some((b, k) => k > i && a.start < b.end && b.start < a.end),
    );
    expect(overlapping).toBe(true);

    const second = await demo();
    expect(second.stdout).toMatch(/ZooKeeper already running/);
    expect(second.stdout).toMatch(/demo: drawbridge-run already running/);
    expect(second.stdout).toMatch(/^buildset manual-[0-9a-f]+ SUCCESS$/m);

    const pids = ['run/drawbridge-run.pid', 'run/scheduler-2.pid', 'zookeeper/zookeeper.pid'].map(
      (f) => Number(readFileSync(join(base, f), 'utf8')),
    );
    await demo('stop');
    for (const pid of pids) expect({ pid, alive: alive(pid) }).toEqual({ pid, alive: false });
  });
});
