/**
 * An executor's world for integration tests: a chroot on the shared
 * ZooKeeper, an sshd bastion whose git calls are logged, a git repository,
 * temp dirs for the bastion's workspaces and the build logs. Requests are
 * written the way a scheduler writes them; results are read back from
 * ZooKeeper.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zookeeper from 'node-zookeeper-client';
import { pino } from 'pino';
import { toError } from '../../src/errors.js';
import { Executor, type ExecutorOptions } from '../../src/executor/index.js';
import {
  buildCompletedEventCodec,
  buildRequestCodec,
  type BuildCompletedEvent,
  type BuildRequest,
} from '../../src/model/index.js';
import type { ZkClient } from '../../src/zk/client.js';
import { ZkDocument } from '../../src/zk/document.js';
import { ZkPaths } from '../../src/zk/paths.js';
import { ZkEventQueue } from '../../src/zk/queue.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { createGitRepo, type GitRepoFixture } from '../fixtures/git-repo.js';
import { startSshd, type SshdFixture } from '../fixtures/sshd.js';
import { waitUntil } from '../fixtures/wait.js';
import { newChroot, type TestChroot } from '../fixtures/zookeeper.js';

export { waitUntil };

/** Playbooks the tests add to the seed repository. */
export const EXTRA_PLAYBOOKS: Record<string, string> = {
  // Prints a line, then waits for a file to appear, then prints another: the test decides when it ends.
  'playbooks/gate.yml': `- hosts: localhost
  gather_facts: false
  tasks:
    - debug:
        msg: "gate {{ name }} open"
    - shell: "echo $$ > {{ record_dir }}/{{ name }}.pid; while [ ! -e {{ record_dir }}/{{ name }}.go ]; do sleep 0.05; done"
    - debug:
        msg: "gate {{ name }} passed"
`,
};

export interface World {
  readonly chroot: TestChroot;
  readonly zk: ZooKeeperClient;
  readonly paths: ZkPaths;
  readonly sshd: SshdFixture;
  readonly repo: GitRepoFixture;
  /** The sha of the commit with EXTRA_PLAYBOOKS. */
  readonly sha: string;
  readonly dir: string;
  readonly workspaceRoot: string;
  readonly logRoot: string;
  /** A directory playbooks write their records into. */
  readonly records: string;
  /** git commands run on the bastion whose verb is `verb`. */
  gitCalls(verb: string): string[];
  executorOptions(over?: Partial<ExecutorOptions>): ExecutorOptions;
  /**
   * An executor, started; stopped by dispose() if the test did not. With
   * `ownSession` it gets a ZooKeeper client of its own, as a separate process would.
   */
  startExecutor(over?: Partial<ExecutorOptions>, ownSession?: boolean): Promise<Executor>;
  dispose(): Promise<void>;
}

export async function createWorld(name: string): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), `drawbridge-exec-${name}-`));
  const bin = join(dir, 'bin');
  const gitLog = join(dir, 'git.log');
  mkdirSync(bin);
  // A git in front of the real one, on the bastion's PATH: counts clones and fetches.
  writeFileSync(join(bin, 'git'), `#!/bin/sh\necho "$*" >> '${gitLog}'\nexec /usr/bin/git "$@"\n`, {
    mode: 0o755,
  });
  const records = join(dir, 'records');
  mkdirSync(records);
  const executors: Executor[] = [];
  const clients: ZooKeeperClient[] = [];
  let zk: ZooKeeperClient | undefined;
  let sshd: SshdFixture | undefined;
  let repo: GitRepoFixture | undefined;
  const dispose = async (): Promise<void> => {
    await Promise.all(executors.map((e) => e.stop()));
    await Promise.all(clients.map((c) => c.close()));
    await zk?.close();
    await sshd?.dispose();
    repo?.dispose();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const chroot = await newChroot(`executor-${name}`);
    [zk, sshd, repo] = await Promise.all([
      connectZooKeeper({ connectString: chroot.connectString, sessionTimeoutMs: 4_000 }),
      startSshd({ env: { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin` } }),
      createGitRepo(),
    ]);
    const sha = await repo.commit(EXTRA_PLAYBOOKS, 'test playbooks');
    const paths = new ZkPaths('/drawbridge');
    const s = sshd;
    const r = repo;
    const executorOptions = (over: Partial<ExecutorOptions> = {}): ExecutorOptions => ({
      slots: 4,
      version: 'test',
      bastion: {
        host: s.host,
        port: s.port,
        username: s.user,
        privateKey: readFileSync(s.privateKeyPath),
        hostKey: s.hostKeyFingerprint,
        reconnectInitialMs: 50,
        reconnectMaxMs: 500,
      },
      workspaceRoot: join(dir, 'bastion'),
      source: { kind: 'fetch', url: r.url },
      logRoot: join(dir, 'logs'),
      killGraceMs: 1_000,
      rescanIntervalMs: 1_000,
      ...over,
    });
    const client = zk;
    return {
      chroot,
      zk,
      paths,
      sshd,
      repo,
      sha,
      dir,
      workspaceRoot: join(dir, 'bastion'),
      logRoot: join(dir, 'logs'),
      records,
      gitCalls: (verb) =>
        existsSync(gitLog)
          ? readFileSync(gitLog, 'utf8')
              .split('\n')
              .filter((l) => l.split(' ')[0] === verb || l.split(' ').includes(verb))
          : [],
      executorOptions,
      async startExecutor(over = {}, ownSession = false) {
        let zkFor = client;
        if (ownSession) {
          zkFor = await connectZooKeeper({
            connectString: chroot.connectString,
            sessionTimeoutMs: 4_000,
          });
          clients.push(zkFor);
        }
        const executor = new Executor(executorOptions(over), {
          zk: zkFor,
          paths,
          logger: pino({ level: process.env.DRAWBRIDGE_TEST_LOG ?? 'silent' }),
        });
        executors.push(executor);
        await executor.start();
        return executor;
      },
      dispose,
    };
  } catch (e) {
    await dispose();
    throw e;
  }
}

let counter = 0;

/** A build request as a scheduler writes it. */
export function request(world: Pick<World, 'sha'>, over: Partial<BuildRequest> = {}): BuildRequest {
  counter += 1;
  return {
    id: `req-${process.pid}-${counter}`,
    kind: 'job',
    pipeline: 'deploy',
    buildsetId: 'bs-1',
    job: `job-${counter}`,
    attempt: 1,
    ref: 'refs/heads/main',
    commit: world.sha,
    playbook: 'playbooks/ok.yml',
    vars: {},
    timeoutMs: 120_000,
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

export function requestDoc(world: World, id: string): ZkDocument<BuildRequest> {
  return new ZkDocument(world.zk, world.paths.buildRequest(id), buildRequestCodec);
}

export async function put(world: World, r: BuildRequest): Promise<BuildRequest> {
  await requestDoc(world, r.id).create(r);
  return r;
}

export async function read(world: World, id: string): Promise<BuildRequest> {
  const v = await requestDoc(world, id).read();
  if (!v) throw new Error(`request ${id} vanished`);
  return v.value;
}

/** Waits until the request is completed and returns it. */
export async function completed(
  world: World,
  id: string,
  timeoutMs = 60_000,
): Promise<BuildRequest> {
  let last: BuildRequest | undefined;
  await waitUntil(
    async () => (last = await read(world, id)).state === 'completed',
    `request ${id} to complete`,
    timeoutMs,
  );
  return last!;
}

export async function waitState(
  world: World,
  id: string,
  state: BuildRequest['state'],
  timeoutMs = 30_000,
): Promise<BuildRequest> {
  let last: BuildRequest | undefined;
  await waitUntil(
    async () => (last = await read(world, id)).state === state,
    `request ${id} to be ${state}`,
    timeoutMs,
  );
  return last!;
}

export function resultQueue(world: World, pipeline = 'deploy'): ZkEventQueue<BuildCompletedEvent> {
  return new ZkEventQueue(
    world.zk,
    world.paths.pipelineResultEvents(pipeline),
    buildCompletedEventCodec,
  );
}

/** Build leases still held (each one ephemeral node named by its request). */
export async function heldLocks(zk: ZkClient, paths: ZkPaths): Promise<string[]> {
  return zk.children(paths.buildLocks()).catch(() => [] as string[]);
}

/** Live (non-zombie) processes whose command line contains `needle`. */
export function processesMatching(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) out.push(Number(name));
    } catch {
      // ended while we looked
    }
  }
  return out;
}

/**
 * The zxid that last modified each node (for proving that two writes were one
 * transaction): read with the raw client, whose stats carry zxids.
 */
export async function modifyingZxids(world: World, paths: readonly string[]): Promise<string[]> {
  const raw = zookeeper.createClient(world.chroot.connectString, { retries: 0 });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('raw client did not connect')), 10_000);
      raw.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      raw.connect();
    });
    return await Promise.all(
      paths.map(
        (p) =>
          new Promise<string>((resolve, reject) =>
            raw.getData(p, (err, _data, stat) =>
              err ? reject(toError(err)) : resolve(stat.mzxid.toString('hex')),
            ),
          ),
      ),
    );
  } finally {
    await new Promise<void>((resolve) => {
      raw.once('disconnected', () => resolve());
      raw.close();
    });
  }
}

export interface HttpStream {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Everything received so far. */
  text(): string;
  /** Resolves when the server ends the response. */
  readonly ended: Promise<void>;
}

/** GET over loopback, body collected as it arrives. */
export function httpGet(url: string): Promise<HttpStream> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      const ended = new Promise<void>((r) => res.once('end', () => r()));
      resolve({ status: res.statusCode ?? 0, headers: res.headers, text: () => body, ended });
    });
    req.once('error', reject);
  });
}
