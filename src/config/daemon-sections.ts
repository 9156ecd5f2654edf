/**
 * Readers for the sections every process shares: where ZooKeeper is, which
 * layout and repository to deploy, where state and logs go.
 */
import { join, resolve } from 'node:path';
import type { Fields } from './daemon-fields.js';
import {
  checkBranch,
  checkGitUrl,
  checkHostPort,
  checkLocalPath,
  checkRepoPath,
  checkZkRoot,
  formatHostPort,
  type Checked,
} from './daemon-formats.js';
import { DAEMON_E } from './daemon-errors.js';
import { DAEMON_KEYS } from './daemon-keys.js';
import type {
  HostPort,
  LayoutConfig,
  LogFormat,
  LogLevel,
  RepositoryConfig,
  SchedulerConfig,
  ZookeeperConfig,
} from './daemon-types.js';

/** A local path, relative ones taken from the config file's directory. */
export function localPath(f: Fields, name: string, dir: string, fallback: string): string {
  return optionalLocalPath(f, name, dir) ?? resolve(dir, fallback);
}

export function optionalLocalPath(f: Fields, name: string, dir: string): string | undefined {
  const p = f.checked(name, 'a file system path', checkLocalPath);
  return p === undefined ? undefined : resolve(dir, p);
}

export function readZookeeper(f: Fields): ZookeeperConfig {
  const hosts = readZkHosts(f);
  const authFields = f.sub('auth', DAEMON_KEYS['zookeeper.auth']);
  let auth: ZookeeperConfig['auth'];
  if (authFields !== undefined) {
    const user = authFields.requiredText('user', 'the digest user name');
    const password = authFields.requiredText('password', 'the digest password', true);
    for (const t of [user, password]) {
      if (t?.value === '') f.r.error(DAEMON_E.format, t.line, t.key, 'expected a non-empty value');
    }
    auth = { user: user?.value ?? '', password: password?.value ?? '' };
  }
  return {
    hosts,
    connectString: hosts.map(formatHostPort).join(','),
    root: f.checked('root', 'a znode path', checkZkRoot) ?? '/drawbridge',
    sessionTimeoutMs: f.seconds('sessionTimeout', 30, false),
    connectTimeoutMs: f.seconds('connectTimeout', 10, false),
    auth,
  };
}

const ZK_EXAMPLE = 'zk1.example.org:2181';

/** A list of `host:port`, or one string of them separated by commas (a connect string). */
function readZkHosts(f: Fields): HostPort[] {
  const what = 'a list of host:port, or a comma-separated string of them';
  const n = f.node('hosts');
  if (n === undefined) return f.missing('hosts', what) ?? [];
  const texts =
    n.kind === 'seq'
      ? (f.list('hosts', what) ?? []).map((i) => f.r.text(i.node, i.key, 'host:port'))
      : [f.text('hosts', what)];
  const hosts: HostPort[] = [];
  for (const t of texts) {
    if (t === undefined) continue;
    for (const part of t.value.split(',').map((s) => s.trim())) {
      const hp = f.r.check({ ...t, value: part }, zkHost(part));
      if (hp !== undefined) hosts.push(hp);
    }
  }
  if (hosts.length === 0 && f.r.clean(f.key('hosts'))) {
    f.r.error(DAEMON_E.format, n.line, f.key('hosts'), `expected at least one host:port`);
  }
  return hosts;
}

function zkHost(s: string): Checked<HostPort> {
  if (/^[^/]+\/./.test(s)) {
    return { ok: false, expected: `host:port without a chroot (set zookeeper.root instead)` };
  }
  return checkHostPort(s, ZK_EXAMPLE);
}

export function readLayout(f: Fields, dir: string): LayoutConfig {
  const fromRepository = f.bool('fromRepository', false);
  const what = 'a list of layout files or directories';
  const n = f.node('paths');
  const items =
    n === undefined
      ? f.missing('paths', what)
      : n.kind === 'seq'
        ? f.list('paths', what)
        : [{ node: n, key: f.key('paths') }];
  const paths: string[] = [];
  for (const item of items ?? []) {
    const t = f.r.text(item.node, item.key, 'a path');
    if (t === undefined) continue;
    const p = f.r.check(t, fromRepository ? checkRepoPath(t.value) : checkLocalPath(t.value));
    if (p !== undefined) paths.push(fromRepository ? p : resolve(dir, p));
  }
  if (n !== undefined && n.kind === 'seq' && n.items.length === 0) {
    f.r.error(DAEMON_E.format, n.line, f.key('paths'), 'expected at least one path');
  }
  return {
    paths,
    fromRepository,
    playbookDir: f.checked('playbookDir', 'a path', checkRepoPath) ?? 'playbooks',
    project: f.checked('project', 'a project name', checkProject),
  };
}

function checkProject(s: string): Checked<string> {
  return /^[^\s/][^\s]*$/.test(s)
    ? { ok: true, value: s }
    : { ok: false, expected: 'a project name such as "opendev/system-config"' };
}

export function readRepository(f: Fields, dir: string, stateDir: string): RepositoryConfig {
  return {
    url: f.requiredChecked('url', 'the git URL of the deployed repository', checkGitUrl) ?? '',
    branch: f.checked('branch', 'a branch name', checkBranch) ?? 'master',
    pollIntervalMs: f.seconds('pollInterval', 60, true),
    localPath: localPath(f, 'localPath', dir, join(stateDir, 'repository')),
  };
}

export function readScheduler(f: Fields): SchedulerConfig {
  return {
    timers: f.bool('timers', true),
    statusIntervalMs: f.seconds('statusInterval', 1, false, 3600),
  };
}

export function readStateDir(f: Fields, dir: string): string {
  return localPath(f, 'dir', dir, '/var/lib/drawbridge');
}

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function readLog(f: Fields): { level: LogLevel; format: LogFormat } {
  return {
    level: f.oneOf('level', LEVELS, 'info'),
    format: f.oneOf<LogFormat>('format', ['json', 'pretty'], 'json'),
  };
}
