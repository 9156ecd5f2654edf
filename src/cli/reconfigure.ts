/**
 * `drawbridge reconfigure`: read the layout the daemon config names (files,
 * or the deployed branch's head), validate it, and only if it is valid store
 * it in ZooKeeper as the current layout; every scheduler then switches to it
 * between rounds. An invalid layout is reported in full and changes nothing.
 * With --wait it follows the schedulers until each runs the new version.
 */
import { hostname, userInfo } from 'node:os';
import { formatDiagnostic } from '../config/index.js';
import { reconfigureLayout, type ReconfigureResult } from '../model/layout-reconfigure.js';
import { listComponents, type ZkClient, type ZkPaths } from '../zk/index.js';
import { openAdminSession } from './admin-session.js';
import type { Env } from './daemon-config-load.js';
import { CliUsageError } from './errors.js';
import { EXIT, type Io } from './io.js';

export interface ReconfigureOptions {
  readonly config: string;
  readonly json?: boolean;
  readonly wait?: boolean;
  /** Seconds, as typed: how long --wait follows the schedulers. */
  readonly timeout: string;
}

const POLL_MS = 200;

export async function reconfigureCommand(
  options: ReconfigureOptions,
  env: Env,
  io: Io,
): Promise<number> {
  const timeoutMs = parseSeconds(options.timeout);
  const session = await openAdminSession(options.config, env, io);
  if (session === undefined) return EXIT.invalid;
  try {
    const { zk, paths, config } = session;
    const result = await reconfigureLayout({ zk, paths, config, requestedBy: requester() });
    report(result, options.json === true, io);
    if (result.status === 'invalid') return EXIT.invalid;
    if (!options.wait) return EXIT.ok;
    return (await waitForSchedulers(zk, paths, result.version, timeoutMs, io))
      ? EXIT.ok
      : EXIT.usage;
  } finally {
    await session.zk.close();
  }
}

function report(result: ReconfigureResult, json: boolean, io: Io): void {
  if (json) {
    const errors = result.status === 'invalid' ? result.errors : [];
    io.stdout.write(`${JSON.stringify({ ...result, errors }, null, 2)}\n`);
    return;
  }
  const problems = result.status === 'invalid' ? [...result.errors, ...result.warnings] : [];
  for (const d of result.status === 'invalid' ? problems : result.warnings)
    io.stderr.write(`${formatDiagnostic(d)}\n`);
  if (result.status === 'invalid') {
    io.stderr.write(
      `drawbridge: layout has ${result.errors.length} error(s); nothing stored, ` +
        `the schedulers keep their layout (DRAWBRIDGE_ERR_CONFIG_LAYOUT_INVALID)\n`,
    );
    return;
  }
  const was = result.previous === null ? 'the first layout' : `was ${result.previous}`;
  io.stdout.write(
    result.switched
      ? `layout ${result.version} stored and current (${was}); pipelines: ${result.pipelines.join(', ')}\n`
      : `layout ${result.version} is already current; nothing changed\n`,
  );
}

/** True once every registered scheduler reports `version`; progress on stderr. */
async function waitForSchedulers(
  zk: ZkClient,
  paths: ZkPaths,
  version: string,
  timeoutMs: number,
  io: Io,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let shown = '';
  for (;;) {
    const schedulers = await listComponents(zk, paths.components('scheduler'));
    const behind = schedulers.filter((s) => s.extra.layoutVersion !== version).map((s) => s.id);
    const line = `${schedulers.length - behind.length}/${schedulers.length} scheduler(s) on ${version}`;
    if (line !== shown) io.stderr.write(`${line}\n`);
    shown = line;
    if (behind.length === 0) return true;
    if (Date.now() > deadline) {
      io.stderr.write(
        `drawbridge: still not on ${version} after ${timeoutMs / 1000} s: ${behind.join(', ')}; ` +
          `see their logs (a layout a scheduler cannot load is logged as an error)\n`,
      );
      return false;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function requester(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container with an arbitrary uid): keep "unknown".
  }
  return `drawbridge reconfigure (${user}@${hostname()})`;
}

function parseSeconds(text: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0)
    throw new CliUsageError(`--timeout takes a number of seconds, got "${text}"`, '--timeout');
  return Math.round(seconds * 1000);
}
