/**
 * Readers for the sections that run builds: the bastion host the executor
 * keeps one SSH connection to, and the executor's own capacity and logs.
 */
import { resolve } from 'node:path';
import { JOB_CPU_POLICIES, MIN_SESSIONS, type JobCpuPolicy } from '../bastion/options.js';
import type { Fields } from './daemon-fields.js';
import {
  checkHost,
  checkHostKeyPin,
  checkHostPort,
  checkLocalPath,
  checkRemoteDir,
  type Checked,
} from './daemon-formats.js';
import { localPath } from './daemon-sections.js';
import type { BastionConfig, CommitSourceKind, ExecutorConfig } from './daemon-types.js';

export function readBastion(f: Fields, dir: string): BastionConfig {
  return {
    host: f.requiredChecked('host', 'the bastion host name or address', checkHost) ?? '',
    port: f.int('port', 22, 1, 65535),
    user: f.requiredChecked('user', 'the SSH user on the bastion', checkUser) ?? '',
    privateKey: resolve(
      dir,
      f.requiredChecked('privateKey', 'the path of the SSH private key file', checkLocalPath) ?? '',
    ),
    hostKeys: readHostKeys(f),
    workspaceRoot:
      f.checked('workspaceRoot', 'a path', checkRemoteDir) ?? '/var/lib/drawbridge/workspaces',
    sessionLimit: f.int('sessionLimit', 10, MIN_SESSIONS, 10_000),
    keepWorkspaces: f.int('keepWorkspaces', 10, 0, 100_000),
    commitSource: f.oneOf<CommitSourceKind>('commitSource', ['fetch', 'push'], 'fetch'),
    keepaliveMs: f.seconds('keepalive', 15, true, 3600),
  };
}

function checkUser(s: string): Checked<string> {
  return /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/.test(s)
    ? { ok: true, value: s }
    : { ok: false, expected: 'a user name of letters, digits, ".", "_", "-"' };
}

/** One pin, or a list of them while a host key is being rotated. */
function readHostKeys(f: Fields): string[] {
  const what = 'a host key pin, or a list of them';
  const n = f.node('hostKey');
  if (n === undefined) {
    f.missing('hostKey', 'the bastion host key: a "SHA256:..." fingerprint or a known_hosts line');
    return [];
  }
  const items =
    n.kind === 'seq' ? (f.list('hostKey', what) ?? []) : [{ node: n, key: f.key('hostKey') }];
  const pins: string[] = [];
  for (const item of items) {
    const t = f.r.text(item.node, item.key, 'a host key pin');
    const pin = t === undefined ? undefined : f.r.check(t, checkHostKeyPin(t.value));
    if (pin !== undefined) pins.push(pin);
  }
  if (n.kind === 'seq' && n.items.length === 0) f.missing('hostKey', 'at least one host key pin');
  return pins;
}

export function readExecutor(f: Fields, dir: string): ExecutorConfig {
  return {
    slots: f.int('slots', 4, 1, 1000),
    logRoot: localPath(f, 'logRoot', dir, '/var/log/drawbridge/builds'),
    logStream: f.checked('logStream', 'host:port', (s) => checkHostPort(s, '127.0.0.1:7901')) ?? {
      host: '127.0.0.1',
      port: 7901,
    },
    killGraceMs: f.seconds('killGrace', 10, true, 3600),
    // Playbook start-ups at nice 10 leave CPU for starting the next job, log streaming and kills.
    jobNice: f.int('jobNice', 10, 0, 19),
    // A batch task does not preempt on wake-up; ansible-playbook wakes every millisecond.
    jobCpuPolicy: f.oneOf<JobCpuPolicy>('jobCpuPolicy', JOB_CPU_POLICIES, 'batch'),
  };
}
