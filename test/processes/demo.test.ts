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

describe('scripts/demo.sh', () => {
  it('deploys the example repository for real, twice, then stops cleanly', async () => {
    const first = await demo();
    expect(first.stdout).toMatch(/demo: started drawbridge-run/);
    expect(first.stdout).toMatch(/demo: two schedulers, an executor and web are running/);
    expect(first.stdout).toMatch(/^buildset manual-[0-9a-f]+ SUCCESS$/m);
    expect(first.stderr).toMatch(/done: 30 SUCCESS/);
    expect(first.stdout).toMatch(/status \(JSON\)\s+http:\/\/127\.0\.0\.1:\d+\/api\/status/);

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
