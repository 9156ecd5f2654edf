/**
 * A Drawbridge cluster of real processes for the failover and rolling-restart
 * tests: one chroot on the shared ZooKeeper, an sshd bastion, a git
 * repository with the record playbook, a layout on local disk, and
 * `drawbridge scheduler|executor|web` processes (optionally --supervise),
 * each with its own config, clone and ports, and short sessions.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Buildset } from '../../src/model/index.js';
import { contenders } from '../../src/zk/lock.js';
import { ZkPaths } from '../../src/zk/paths.js';
import { listComponents, type RegisteredComponent } from '../../src/zk/registry.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { createGitRepo, type GitRepoFixture } from '../fixtures/git-repo.js';
import { startSshd, type SshdFixture } from '../fixtures/sshd.js';
import { waitUntil } from '../fixtures/wait.js';
import { newChroot, type TestChroot } from '../fixtures/zookeeper.js';
import {
  drawbridge,
  drawbridgeOnce,
  freePort,
  reap,
  waitForLog,
  type Daemon,
} from '../processes/support.js';
import { RECORD_PLAYBOOK, jobStanza, type JobRecord } from '../scheduler/e2e-support.js';
import { putManagement, readBuildset, waitFinished } from '../fixtures/pipeline-events.js';

export { drawbridgeOnce, jobStanza, waitUntil, type Daemon, type JobRecord };

/** zookeeper.sessionTimeout of every process (seconds): small, for fast failover. */
export const SESSION_S = 2;

export type Kind = 'scheduler' | 'executor' | 'web';

export interface HaProcess {
  readonly name: string;
  readonly kind: Kind;
  readonly daemon: Daemon;
  readonly config: string;
  readonly webPort: number;
}

export interface HaCluster {
  readonly dir: string;
  readonly records: string;
  /** A client of the test's own, without chroot: paths carry the root. */
  readonly zk: ZooKeeperClient;
  readonly paths: ZkPaths;
  /** Starts `drawbridge <kind>` (with --supervise if asked); resolves once it runs. */
  start(kind: Kind, name: string, supervise?: boolean): Promise<HaProcess>;
  /** Writes a config for `name` without starting anything (for admin commands). */
  configFor(name: string): Promise<string>;
  components(kind: Kind): Promise<RegisteredComponent[]>;
  enqueue(pipeline: string): Promise<string>;
  buildset(pipeline: string, id: string): Promise<Buildset | null>;
  finished(pipeline: string, id: string, timeoutMs?: number): Promise<Buildset>;
  jobRecords(): JobRecord[];
  /** Opens the gate file a gated job's playbook waits on. */
  open(job: string): void;
  /** Lock nodes still present under a lock directory. */
  lockHolders(lockDir: string): Promise<string[]>;
  dispose(): Promise<void>;
}

let counter = 0;

/** `chroot`: where to work (a bench passes one on its own server); default a fresh one on the shared server. */
export async function createHaCluster(
  name: string,
  layout: (records: string) => string,
  at?: TestChroot,
): Promise<HaCluster> {
  const dir = mkdtempSync(join(tmpdir(), `drawbridge-ha-${name}-`));
  const records = join(dir, 'records');
  const layoutDir = join(dir, 'zuul.d');
  mkdirSync(records);
  mkdirSync(layoutDir);
  const daemons: Daemon[] = [];
  let sshd: SshdFixture | undefined;
  let repo: GitRepoFixture | undefined;
  let zk: ZooKeeperClient | undefined;
  const dispose = async (): Promise<void> => {
    for (const d of daemons) if (d.child.exitCode === null) d.signal('SIGTERM');
    await Promise.all(daemons.map((d) => Promise.race([d.exited, delay(20_000)])));
    await Promise.all(daemons.map((d) => reap(d)));
    await zk?.close();
    await sshd?.dispose();
    repo?.dispose();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const chroot = at ?? (await newChroot(`ha-${name}`));
    [sshd, repo, zk] = await Promise.all([
      startSshd(),
      createGitRepo(),
      connectZooKeeper({ connectString: chroot.serverConnectString, sessionTimeoutMs: 4_000 }),
    ]);
    const text = layout(records);
    writeFileSync(join(layoutDir, 'ha.yaml'), text);
    const sha = await repo.commit(
      { 'playbooks/record.yml': RECORD_PLAYBOOK, 'zuul.d/ha.yaml': text },
      'ha layout',
    );
    const root = `${chroot.chroot}/drawbridge`;
    const paths = new ZkPaths(root);
    const client = zk;
    const b = sshd;
    const r = repo;
    const ports = new Map<string, number>();
    const configFor = async (n: string): Promise<string> => {
      const file = join(dir, `${n}.yaml`);
      const webPort = await freePort();
      ports.set(n, webPort);
      writeFileSync(
        file,
        `zookeeper:
  hosts: ${chroot.serverConnectString}
  root: ${root}
  sessionTimeout: ${SESSION_S}
  connectTimeout: 20
layout:
  paths: [${layoutDir}]
repository:
  url: ${r.url}
  branch: main
  pollInterval: 0
  localPath: ${join(dir, `clone-${n}`)}
bastion:
  host: 127.0.0.1
  port: ${b.port}
  user: ${b.user}
  privateKey: ${b.privateKeyPath}
  hostKey: "${b.hostKeyFingerprint}"
  workspaceRoot: ${join(dir, 'bastion')}
executor:
  slots: 4
  logRoot: ${join(dir, 'logs')}
  logStream: 127.0.0.1:${await freePort()}
  killGrace: 1
scheduler:
  timers: false
web:
  listen: 127.0.0.1:${webPort}
state:
  dir: ${join(dir, `state-${n}`)}
log:
  level: info
  format: json
`,
      );
      return file;
    };
    const cluster: HaCluster = {
      dir,
      records,
      zk: client,
      paths,
      async start(kind, n, supervise = false) {
        const config = await configFor(n);
        const args = [kind, '--config', config, '--grace', '30'];
        const d = drawbridge(supervise ? [...args, '--supervise'] : args);
        daemons.push(d);
        await waitForLog(d, /"msg":"daemon running"/, `${kind} ${n} to run`);
        return { name: n, kind, daemon: d, config, webPort: ports.get(n)! };
      },
      configFor,
      components: (kind) => listComponents(client, paths.components(kind)),
      async enqueue(pipeline) {
        counter += 1;
        const event = { type: 'enqueue', pipeline, ref: 'refs/heads/main', commit: sha } as const;
        return putManagement(client, paths, event, `ha-${process.pid}-${counter}`);
      },
      buildset: (p, id) => readBuildset(client, paths, p, id),
      finished: (p, id, timeoutMs = 90_000) => waitFinished(client, paths, p, id, timeoutMs, 100),
      jobRecords() {
        let lines = '';
        try {
          lines = readFileSync(join(records, 'record.log'), 'utf8');
        } catch {
          return [];
        }
        return lines
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => {
            const [job = '', event, at, buildset = '', pid] = l.trim().split(' ');
            return {
              job,
              event: event === 'end' ? 'end' : 'start',
              at: Number(at),
              buildset,
              pid: Number(pid),
            };
          });
      },
      open(job) {
        writeFileSync(join(records, `${job}.go`), '');
      },
      async lockHolders(lockDir) {
        const nodes = await client.children(lockDir).catch(() => [] as string[]);
        return contenders(nodes).map((c) => c.name);
      },
      dispose,
    };
    return cluster;
  } catch (e) {
    await dispose();
    throw e;
  }
}

export interface Kill {
  /** Registry id and pid of the scheduler killed. */
  readonly id: string;
  readonly pid: number;
  /** Date.now() right after SIGKILL was sent. */
  readonly at: number;
}

/**
 * Catches a scheduler inside a pass over the pipeline and kills it with
 * SIGKILL: the lock's holder is frozen (SIGSTOP), checked to still hold,
 * `beforeKill` runs, then the kill; a holder that finished meanwhile is
 * thawed and the next pass is awaited.
 */
export async function killInsidePass(
  c: HaCluster,
  pipeline: string,
  beforeKill: () => void,
  timeoutMs = 60_000,
): Promise<Kill> {
  const lockDir = c.paths.pipelineLock(pipeline);
  let kill: Kill | undefined;
  await waitUntil(
    async () => {
      for (const node of await c.lockHolders(lockDir)) {
        const holder = (await c.zk.get(`${lockDir}/${node}`).catch(() => null))?.data.toString();
        const victim = (await c.components('scheduler')).find((s) => s.id === holder);
        if (!victim) continue;
        process.kill(victim.pid, 'SIGSTOP');
        if (await c.zk.exists(`${lockDir}/${node}`)) {
          beforeKill();
          process.kill(victim.pid, 'SIGKILL');
          kill = { id: victim.id, pid: victim.pid, at: Date.now() };
          return true;
        }
        process.kill(victim.pid, 'SIGCONT');
      }
      return false;
    },
    `a scheduler to hold the ${pipeline} lock`,
    timeoutMs,
    5,
  );
  return kill!;
}

/** Each job's start and end lines in one buildset, by job name. */
export function runsOf(records: readonly JobRecord[], buildset: string) {
  const runs = new Map<string, { start: number; end: number }>();
  for (const r of records.filter((x) => x.buildset === buildset)) {
    const run = runs.get(r.job) ?? { start: 0, end: 0 };
    run[r.event] += 1;
    runs.set(r.job, run);
  }
  return Object.fromEntries([...runs].sort(([a], [b]) => a.localeCompare(b)));
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
