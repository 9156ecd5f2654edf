/**
 * Executor costs, against a real ZooKeeper, sshd bastion and git, with the
 * executor in this process:
 * (a) overhead from a request's creation to its playbook's start, one build
 *     at a time, with a no-op playbook run by the real ansible-playbook;
 * (b) throughput of trivial builds at slots 1, 2, 4, 8: the playbook command
 *     is a stub that prints a line and exits, so the figure is Drawbridge's
 *     (claim, SSH channel, report), not ansible's Python start-up.
 * The issue gives no targets: the goals are informational.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Executor, type ExecutorOptions } from '../src/executor/index.js';
import { type BuildRequest, buildRequestCodec } from '../src/model/index.js';
import { ZkDocument } from '../src/zk/document.js';
import { ZkPaths } from '../src/zk/paths.js';
import { connectZooKeeper, type ZooKeeperClient } from '../src/zk/zk-client.js';
import { createGitRepo, type GitRepoFixture } from '../test/fixtures/git-repo.js';
import { startSshd, type SshdFixture } from '../test/fixtures/sshd.js';
import { startZooKeeper, type ZkServer } from '../test/fixtures/zookeeper.js';
import type { Bench, Goal } from './bench.js';
import { cpuDelta, treeCpuMs, zkCounters } from './proc-cpu.js';
import { summarize } from './stats.js';

interface Env {
  readonly zk: ZooKeeperClient;
  readonly paths: ZkPaths;
  readonly sshd: SshdFixture;
  readonly repo: GitRepoFixture;
  readonly dir: string;
  readonly stub: string;
}

let seq = 0;

function request(env: Env, over: Partial<BuildRequest>): BuildRequest {
  seq += 1;
  return {
    id: `bench-${seq}`,
    kind: 'job',
    pipeline: 'bench',
    buildsetId: 'bs-bench',
    job: `job-${seq}`,
    attempt: 1,
    ref: 'refs/heads/main',
    commit: env.repo.seedSha,
    playbook: 'playbooks/ok.yml',
    vars: {},
    timeoutMs: 60_000,
    precedence: 'normal',
    createdAt: Date.now(),
    state: 'requested',
    cancelRequested: false,
    executor: null,
    startedAt: null,
    outcome: null,
    ...over,
  };
}

function options(env: Env, slots: number, stub: boolean): ExecutorOptions {
  return {
    slots,
    version: 'bench',
    bastion: {
      host: env.sshd.host,
      port: env.sshd.port,
      username: env.sshd.user,
      privateKey: readFileSync(env.sshd.privateKeyPath),
      hostKey: env.sshd.hostKeyFingerprint,
    },
    workspaceRoot: join(env.dir, 'bastion'),
    source: { kind: 'fetch', url: env.repo.url },
    logRoot: join(env.dir, 'logs'),
    ...(stub ? { ansiblePlaybook: env.stub } : {}),
  };
}

/** Runs `n` requests through an executor; resolves with each build's reported request. */
async function runBuilds(
  env: Env,
  executor: Executor,
  reqs: readonly BuildRequest[],
): Promise<Map<string, { claimedAt: number | null; startedAt: number | null }>> {
  const started = new Map<string, { claimedAt: number | null; startedAt: number | null }>();
  const all = new Promise<void>((resolve, reject) => {
    const off = executor.onBuildEnd((e) => {
      if (!reqs.some((r) => r.id === e.request.id)) return;
      if (e.outcome.result !== 'SUCCESS' || !e.reported) {
        off();
        reject(new Error(`bench build ${e.request.id}: ${e.outcome.result} ${e.outcome.reason}`));
        return;
      }
      started.set(e.request.id, { claimedAt: e.request.startedAt, startedAt: e.outcome.startedAt });
      if (started.size === reqs.length) {
        off();
        resolve();
      }
    });
  });
  await Promise.all(
    reqs.map((r) =>
      new ZkDocument(env.zk, env.paths.buildRequest(r.id), buildRequestCodec).create(r),
    ),
  );
  await all;
  return started;
}

/** CPU ms so far of this process, the sshd tree and the ZooKeeper JVM. */
function cpuNow(env: Env, server: ZkServer | undefined): Record<string, number> {
  const pid = Number(readFileSync(join(env.sshd.dir, 'sshd.pid'), 'utf8').trim());
  const self = process.cpuUsage();
  return {
    ...treeCpuMs({ sshd: pid, zookeeper: server?.pid ?? -1 }),
    node: (self.user + self.system) / 1000,
  };
}

async function withExecutor<T>(
  env: Env,
  slots: number,
  stub: boolean,
  fn: (e: Executor) => Promise<T>,
): Promise<T> {
  const executor = new Executor(options(env, slots, stub), {
    zk: env.zk,
    paths: env.paths,
    logger: pino({ level: 'silent' }),
  });
  await executor.start();
  try {
    return await fn(executor);
  } finally {
    await executor.stop();
  }
}

export const executorBench: Bench = {
  name: 'executor',
  async run({ quick }) {
    const dir = mkdtempSync(join(tmpdir(), 'drawbridge-bench-executor-'));
    let server: ZkServer | undefined;
    let zk: ZooKeeperClient | undefined;
    let sshd: SshdFixture | undefined;
    let repo: GitRepoFixture | undefined;
    try {
      [server, sshd, repo] = await Promise.all([startZooKeeper(), startSshd(), createGitRepo()]);
      zk = await connectZooKeeper({ connectString: `${server.connectString}/bench` });
      const stub = join(dir, 'bin', 'fake-ansible-playbook');
      mkdirSync(join(dir, 'bin'));
      writeFileSync(stub, '#!/bin/sh\necho "PLAY RECAP: stub ok"\n', { mode: 0o755 });
      const env: Env = { zk, paths: new ZkPaths('/drawbridge'), sshd, repo, dir, stub };

      // (a) one build at a time, so each sample is an unloaded executor's overhead.
      const overheadMs: number[] = [];
      const claimMs: number[] = [];
      await withExecutor(env, 1, false, async (executor) => {
        const checkout = request(env, { kind: 'checkout', job: 'checkout', playbook: '' });
        await runBuilds(env, executor, [checkout]);
        await runBuilds(env, executor, [request(env, {})]); // warm-up: SFTP session, JIT
        for (let i = 0; i < (quick ? 8 : 30); i++) {
          const r = request(env, {});
          const times = (await runBuilds(env, executor, [r])).get(r.id);
          if (times?.startedAt == null || times.claimedAt == null)
            throw new Error(`bench build ${r.id} has no start time`);
          overheadMs.push(times.startedAt - r.createdAt);
          claimMs.push(times.claimedAt - r.createdAt);
        }
      });

      // (b) a burst of trivial builds per slot count.
      const burst = quick ? 24 : 80;
      const throughput: Record<string, number> = {};
      const cpuPerBuild: Record<string, Record<string, number>> = {};
      const zkPerBuild: Record<string, Record<string, number>> = {};
      for (const slots of [1, 2, 4, 8]) {
        await withExecutor(env, slots, true, async (executor) => {
          await runBuilds(env, executor, [request(env, {})]); // warm-up
          const reqs = Array.from({ length: burst }, () => request(env, {}));
          const zk0 = await zkCounters(server?.connectString ?? '');
          const cpu0 = cpuNow(env, server);
          const t0 = performance.now();
          await runBuilds(env, executor, reqs);
          const seconds = (performance.now() - t0) / 1000;
          cpuPerBuild[`slots_${slots}`] = cpuDelta(cpu0, cpuNow(env, server), burst);
          zkPerBuild[`slots_${slots}`] = cpuDelta(
            zk0,
            await zkCounters(server?.connectString ?? ''),
            burst,
          );
          throughput[`slots_${slots}`] = Math.round((burst / seconds) * 10) / 10;
        });
      }

      const overhead = summarize(overheadMs);
      const info = (metric: string, value: number): Goal => ({
        metric,
        value,
        goal: 'informational (no target in the issue)',
        ok: true,
      });
      return {
        figures: {
          overhead_request_to_playbook_start_ms: overhead,
          of_which_request_to_claimed_ms: summarize(claimMs),
          overhead_observed_as:
            'request createdAt (set just before the znode is written) to the moment the executor sees the remote process group of ansible-playbook start (the job runner reports its process group: outcome.startedAt); excludes ansible-playbook start-up',
          throughput_builds_per_s: throughput,
          throughput_burst: burst,
          cpu_ms_per_build: cpuPerBuild,
          zookeeper_per_build: zkPerBuild,
          zookeeper_counted_as:
            'requests: packets the server received (every client, pings included; the bench writes each request too); transactions: zxid increments (a multi is one)',
          cpu_measured_as:
            'during each burst: this process (executor and ZooKeeper client) from process.cpuUsage; sshd (every process under the daemon: sessions, the job runner, the stub) and ZooKeeper (the JVM) from /proc/<pid>/stat, children counted once reaped',
          throughput_playbook:
            'stub command in place of ansible-playbook (prints one line, exits 0): measures claim + the job runner (workspace check, vars file, spawn) + report',
        },
        goals: [
          info('executor.overhead_ms.p50', overhead.p50),
          info('executor.overhead_ms.p99', overhead.p99),
          ...Object.entries(throughput).map(([k, v]) => info(`executor.throughput.${k}`, v)),
        ],
      };
    } finally {
      await zk?.close();
      await sshd?.dispose();
      repo?.dispose();
      await server?.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
