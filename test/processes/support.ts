/**
 * `drawbridge` daemons as operators run them: real processes started from
 * the TypeScript sources, a generated drawbridge.yaml, output collected, and
 * waits on what they print or serve rather than on time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { waitUntil } from '../fixtures/wait.js';

export { waitUntil };

export const root = new URL('../..', import.meta.url).pathname;

export interface Daemon {
  readonly child: ChildProcess;
  /** stdout (the logs) so far. */
  stdout(): string;
  stderr(): string;
  /** Exit code, or the signal's name if killed. */
  readonly exited: Promise<number | string>;
  signal(sig: NodeJS.Signals): void;
}

/** Starts `drawbridge ARGS...` from src/ with `env` added to this process's environment. */
export function drawbridge(args: readonly string[], env: Record<string, string> = {}): Daemon {
  const child = spawn(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', join(root, 'src/cli/main.ts'), ...args],
    { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, sig) => resolve(code ?? sig ?? -1)),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    signal: (sig) => child.kill(sig),
  };
}

/** Runs `drawbridge ARGS...` to completion. */
export async function drawbridgeOnce(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const d = drawbridge(args, env);
  // A command that hangs must not outlive the test: kill it well after any sane run.
  const guard = setTimeout(() => d.child.kill('SIGKILL'), 100_000);
  const code = await d.exited;
  clearTimeout(guard);
  return { code, stdout: d.stdout(), stderr: d.stderr() };
}

/** Kills a daemon a failed test left running. */
export async function reap(d: Daemon | undefined): Promise<void> {
  if (!d || d.child.exitCode !== null || d.child.signalCode !== null) return;
  d.child.kill('SIGKILL');
  await d.exited;
}

/** Waits for a log line matching `re` on stdout; the failure shows what was printed. */
export async function waitForLog(d: Daemon, re: RegExp, what: string, timeoutMs = 90_000) {
  await waitUntil(
    () => {
      if (d.child.exitCode !== null)
        throw new Error(`drawbridge exited (${d.child.exitCode}) before ${what}:\n${d.stderr()}`);
      return re.test(d.stdout());
    },
    `${what}; stdout so far:\n${d.stdout()}\nstderr:\n${d.stderr()}`,
    timeoutMs,
  );
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface ConfigInput {
  /** `host:port` of ZooKeeper, without chroot. */
  readonly zookeeper: string;
  /** The znode root (a test's chroot plus `/drawbridge`, say). */
  readonly root: string;
  readonly bastion?: {
    readonly port: number;
    readonly user: string;
    readonly privateKey: string;
    readonly hostKey: string;
    readonly workspaceRoot: string;
  };
  readonly repositoryUrl?: string;
  readonly logRoot: string;
  readonly webPort: number;
  readonly logPort: number;
  readonly connectTimeout?: number;
  /** The layout section's lines (default: zuul.d from the repository). */
  readonly layout?: string;
  readonly branch?: string;
  /** Appended verbatim (extra sections or keys at the top level). */
  readonly extra?: string;
}

/** Writes a drawbridge.yaml for a test and returns its path. */
export function writeConfig(dir: string, c: ConfigInput): string {
  const b = c.bastion ?? {
    port: 2222,
    user: 'nobody',
    privateKey: join(dir, 'missing-key'),
    hostKey: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    workspaceRoot: join(dir, 'workspaces'),
  };
  const file = join(dir, 'drawbridge.yaml');
  writeFileSync(
    file,
    `zookeeper:
  hosts: [${c.zookeeper}]
  root: ${c.root}
  sessionTimeout: 4
  connectTimeout: ${c.connectTimeout ?? 10}
layout:
${c.layout ?? '  paths: [zuul.d]\n  fromRepository: true'}
repository:
  url: ${c.repositoryUrl ?? join(dir, 'repo.git')}
  branch: ${c.branch ?? 'main'}
bastion:
  host: 127.0.0.1
  port: ${b.port}
  user: ${b.user}
  privateKey: ${b.privateKey}
  hostKey: "${b.hostKey}"
  workspaceRoot: ${b.workspaceRoot}
executor:
  slots: 2
  logRoot: ${c.logRoot}
  logStream: 127.0.0.1:${c.logPort}
  killGrace: 1
web:
  listen: 127.0.0.1:${c.webPort}
state:
  dir: ${join(dir, 'state')}
log:
  level: info
  format: json
${c.extra ?? ''}`,
  );
  return file;
}

/** A reply read as JSON. */
export interface JsonReply {
  readonly status: number;
  readonly body: unknown;
}

/** GET `url` and parse the JSON body (every API answer is JSON, errors included). */
export async function getJson(url: string): Promise<JsonReply> {
  const res = await fetch(url);
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    throw new Error(`${url} answered ${res.status} with a body that is not JSON: ${text}`);
  }
}

/**
 * Listens on a free loopback port and returns the base URL. Tests serve the
 * app over HTTP rather than through app.inject: inject's light-my-request
 * loads cookie@2, an ES module that jest's CommonJS loader cannot require.
 */
export async function serve(app: { listen(o: { host: string; port: number }): Promise<string> }) {
  return app.listen({ host: '127.0.0.1', port: 0 });
}
