import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BastionConnection } from '../../src/bastion/connection.js';
import { SshConnectError, SshHostKeyMismatchError } from '../../src/bastion/errors.js';
import { execControl, execInGroup } from '../../src/bastion/exec.js';
import { IllegalStateError } from '../../src/errors.js';
import { startSshd, type SshdFixture } from '../fixtures/sshd.js';
import { connect, optionsFor, waitFor } from './support.js';

describe('bastion connection', () => {
  let sshd: SshdFixture;
  let other: SshdFixture;
  beforeAll(async () => {
    [sshd, other] = await Promise.all([startSshd({ maxSessions: 4 }), startSshd()]);
  });
  afterAll(async () => {
    await Promise.all([sshd?.dispose(), other?.dispose()]);
  });

  it('connects with the host key pinned by fingerprint or by known_hosts line', async () => {
    for (const hostKey of [sshd.hostKeyFingerprint, sshd.knownHostsLine]) {
      const conn = await connect(sshd, { hostKey });
      expect(conn.state).toBe('ready');
      const r = await execControl(conn, ['id', '-un']);
      expect(r.stdout.trim()).toBe(sshd.user);
      await conn.close();
      expect(conn.state).toBe('closed');
    }
  });

  it('refuses a wrong host key, naming both fingerprints', async () => {
    const conn = new BastionConnection(optionsFor(sshd, { hostKey: other.knownHostsLine }));
    const err = await conn.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SshHostKeyMismatchError);
    const mismatch = err as SshHostKeyMismatchError;
    expect(mismatch.code).toBe('DRAWBRIDGE_ERR_SSH_HOST_KEY_MISMATCH');
    expect(mismatch.expected).toEqual([other.hostKeyFingerprint]);
    expect(mismatch.got).toBe(sshd.hostKeyFingerprint);
    expect(mismatch.message).toContain(sshd.hostKeyFingerprint);
    expect(mismatch.message).toContain(other.hostKeyFingerprint);
    expect(mismatch.retryable).toBe(false);
    expect(conn.state).toBe('idle');
    await conn.close();
  });

  it('reports a refused login as a connect error', async () => {
    const stranger = join(other.dir, 'user_ed25519');
    const conn = new BastionConnection(optionsFor(sshd, { privateKey: readFileSync(stranger) }));
    await expect(conn.start()).rejects.toBeInstanceOf(SshConnectError);
    await conn.close();
  });

  it('pins the same fingerprint ssh-keygen prints', () => {
    const out = execFileSync('ssh-keygen', [
      '-lf',
      `${join(sshd.dir, 'host_ed25519')}.pub`,
    ]).toString();
    expect(out.split(' ')[1]).toBe(sshd.hostKeyFingerprint);
  });

  it('runs more commands than the bastion has sessions, without a refusal', async () => {
    const conn = await connect(sshd, { maxSessions: 4 });
    await conn.sftp(); // holds its session slot for the whole test
    let peak = 0;
    const runs = Array.from({ length: 12 }, (_, i) =>
      execInGroup(conn, ['sh', '-c', 'sleep 0.2; echo "$1"', 'x', String(i)], {
        runDir: join(sshd.dir, 'run'),
        id: `pool-${i}`,
        onStart: () => (peak = Math.max(peak, conn.channels.inUse)),
      }),
    );
    const results = await Promise.all(runs);
    expect(results.map((r) => r.exitCode)).toEqual(Array(12).fill(0));
    expect(conn.channels.capacity).toBe(2);
    expect(peak).toBe(2);
    // The control lane still works while the job lane is full.
    const busy = Array.from({ length: 3 }, (_, i) =>
      execInGroup(conn, ['sleep', '0.3'], { runDir: join(sshd.dir, 'run'), id: `busy-${i}` }),
    );
    await waitFor('the job lane to fill', () => conn.channels.inUse === 2);
    expect((await execControl(conn, ['echo', 'control'])).stdout).toBe('control\n');
    await Promise.all(busy);
    expect(conn.channels.refusals).toBe(0);
    await conn.close();
  });

  it('meets refusals when told the bastion allows more sessions than it does', async () => {
    const conn = await connect(sshd, { maxSessions: 10 });
    const runs = Array.from({ length: 8 }, (_, i) =>
      execInGroup(conn, ['sleep', '0.5'], { runDir: join(sshd.dir, 'run'), id: `over-${i}` }),
    );
    await Promise.allSettled(runs);
    expect(conn.channels.refusals).toBeGreaterThan(0);
    await conn.close();
  });

  it('reconnects after the bastion restarts', async () => {
    const conn = await connect(sshd, { reconnectInitialMs: 50, reconnectMaxMs: 200 });
    await sshd.stop();
    await waitFor('the connection to notice the loss', () => conn.state === 'reconnecting');
    await sshd.start();
    await waitFor('the connection to come back', () => conn.state === 'ready');
    expect((await execControl(conn, ['echo', 'back'])).stdout).toBe('back\n');
    await conn.close();
  });

  it('notices a hung bastion through keepalives, and reconnects once it answers', async () => {
    const conn = await connect(sshd, {
      keepaliveIntervalMs: 100,
      keepaliveCountMax: 2,
      readyTimeoutMs: 1_000,
      reconnectInitialMs: 50,
      reconnectMaxMs: 200,
    });
    sshd.pause();
    try {
      await waitFor(
        'keepalives to declare the connection lost',
        () => conn.state === 'reconnecting',
        5_000,
      );
    } finally {
      sshd.resume();
    }
    await waitFor('the connection to come back', () => conn.state === 'ready');
    expect((await execControl(conn, ['echo', 'awake'])).stdout).toBe('awake\n');
    await conn.close();
  });

  it('has guarded transitions and an idempotent close', async () => {
    const conn = await connect(sshd);
    await expect(conn.start()).rejects.toBeInstanceOf(IllegalStateError);
    const a = conn.close();
    const b = conn.close();
    expect(a).toBe(b);
    await a;
    expect(conn.state).toBe('closed');
    await expect(execControl(conn, ['true'])).rejects.toBeInstanceOf(IllegalStateError);
  });
});
