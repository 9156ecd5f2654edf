/**
 * scripts/local-stack.sh as the README's demo uses it: it starts ZooKeeper
 * and an sshd bastion, writes a config that loads and that an executor can
 * run with, reuses everything on a second run, and stops what it started.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { drawbridge, drawbridgeOnce, root, waitForLog } from './support.js';

// Real processes start slowly on a loaded machine (each compiles the sources).
jest.setTimeout(120_000);

const run = promisify(execFile);
let base: string;
const stack = (...args: string[]) =>
  run('bash', [join(root, 'scripts/local-stack.sh'), ...args], {
    env: { ...process.env, DRAWBRIDGE_LOCAL: base },
  });
const pid = (file: string) => Number(readFileSync(join(base, file), 'utf8'));
const alive = (p: number) => {
  try {
    process.kill(p, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'drawbridge-local-stack-'));
});
afterAll(async () => {
  await stack('clean').catch(() => undefined);
  rmSync(base, { recursive: true, force: true });
});

describe('scripts/local-stack.sh', () => {
  it('starts a stack an executor runs against, reuses it, and stops it', async () => {
    const first = await stack();
    expect(first.stdout).toMatch(/ZooKeeper started/);
    expect(first.stdout).toMatch(/bastion sshd started/);
    const zkPid = pid('zookeeper/zookeeper.pid');
    const sshdPid = pid('sshd/sshd.pid');
    const config = join(base, 'drawbridge.yaml');

    const check = await drawbridgeOnce(['config', 'check', '--config', config]);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);

    const d = drawbridge(['executor', '--config', config]);
    await waitForLog(d, /daemon running/, 'the executor to run on the local stack');
    d.signal('SIGTERM');
    expect(await d.exited).toBe(0);

    const second = await stack();
    expect(second.stdout).toMatch(/ZooKeeper already running/);
    expect(second.stdout).toMatch(/repo\.git already there/);
    expect(pid('zookeeper/zookeeper.pid')).toBe(zkPid);

    await stack('stop');
    expect(alive(zkPid)).toBe(false);
    expect(alive(sshdPid)).toBe(false);
    expect(existsSync(join(base, 'repo.git'))).toBe(true);
  });
});
