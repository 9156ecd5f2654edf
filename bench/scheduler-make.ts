/**
 * The scheduler bench's baselines: the same job graph as a Makefile, one
 * target per job with its dependencies as prerequisites, each recipe running
 * the job's command on the bastion through OpenSSH (the fixture's key and
 * known_hosts, one multiplexed master connection, as the executor keeps one
 * connection). `make -j N` is the parallel baseline, `make -j 1` the
 * sequential one.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SshTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly privateKeyPath: string;
  readonly knownHostsLine: string;
}

export interface MakeJob {
  readonly name: string;
  readonly dependencies: readonly string[];
  /** The command run on the bastion (a shell command line without single quotes). */
  readonly remote: string;
}

export interface OpenSsh {
  /** Arguments before the remote command. */
  readonly args: readonly string[];
  close(): Promise<void>;
}

/** Starts a persistent master connection; every later `ssh` with `args` rides on it. */
export async function openSsh(dir: string, t: SshTarget): Promise<OpenSsh> {
  mkdirSync(dir, { recursive: true });
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${t.knownHostsLine}\n`);
  const args = [
    '-F', 'none',
    '-i', t.privateKeyPath,
    '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-o', 'ControlMaster=auto',
    '-o', `ControlPath=${join(dir, 'cm')}`,
    '-o', 'ControlPersist=900',
    '-p', String(t.port),
    '-l', t.user,
    t.host,
  ]; // prettier-ignore
  await run('ssh', [...args, 'true']);
  return {
    args,
    async close() {
      await run('ssh', [...args.slice(0, -1), '-O', 'exit', t.host]).catch(() => undefined);
    },
  };
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A Makefile whose `all` target runs every job; job logs go to `logDir/<job>.log`. */
export function makefile(jobs: readonly MakeJob[], ssh: OpenSsh, logDir: string): string {
  const sshLine = ssh.args.map(shellWord).join(' ').replace(/\$/g, '$$$$');
  const lines = [
    'SHELL := /bin/sh',
    `SSH := ssh ${sshLine}`,
    `.PHONY: all ${jobs.map((j) => j.name).join(' ')}`,
    `all: ${jobs.map((j) => j.name).join(' ')}`,
    '',
  ];
  for (const j of jobs) {
    if (j.remote.includes("'")) throw new Error(`remote command of ${j.name} has a single quote`);
    lines.push(`${j.name}: ${j.dependencies.join(' ')}`);
    lines.push(
      `\t@$(SSH) '${j.remote.replace(/\$/g, '$$$$')}' > ${join(logDir, `${j.name}.log`)} 2>&1`,
    );
    lines.push('');
  }
  return lines.join('\n');
}

/** Runs `make -j <parallel> all` in `dir`; resolves with the wall time in ms. */
export async function runMake(dir: string, parallel: number): Promise<number> {
  const t0 = performance.now();
  await run(
    'make',
    ['--no-print-directory', '-s', '-j', String(parallel), '-f', 'Makefile', 'all'],
    {
      cwd: dir,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return performance.now() - t0;
}
