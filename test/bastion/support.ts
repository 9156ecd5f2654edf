import { waitUntil } from '../fixtures/wait.js';
import { readFileSync, readdirSync } from 'node:fs';
import { BastionConnection } from '../../src/bastion/connection.js';
import type { BastionConnectionOptions } from '../../src/bastion/options.js';
import type { SshdFixture } from '../fixtures/sshd.js';

/** Options for a connection to the fixture's sshd, pinned to its real host key. */
export function optionsFor(
  sshd: SshdFixture,
  extra: Partial<BastionConnectionOptions> = {},
): BastionConnectionOptions {
  return {
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    privateKey: readFileSync(sshd.privateKeyPath),
    hostKey: sshd.hostKeyFingerprint,
    ...extra,
  };
}

export async function connect(
  sshd: SshdFixture,
  extra: Partial<BastionConnectionOptions> = {},
): Promise<BastionConnection> {
  const conn = new BastionConnection(optionsFor(sshd, extra));
  await conn.start();
  return conn;
}

/** Polls until `check` returns true; fails with `what` when `timeoutMs` passes first. */
export function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  return waitUntil(check, what, timeoutMs);
}

/** Pids of live (non-zombie) processes in a process group, read from /proc. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && Number(fields[2]) === pgid) members.push(Number(name));
    } catch {
      // gone while we looked
    }
  }
  return members;
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
