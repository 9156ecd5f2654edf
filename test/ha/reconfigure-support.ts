/**
 * A Drawbridge cluster of real processes for the reconfiguration and
 * ZooKeeper-ensemble tests: an sshd bastion, a git repository with a record
 * playbook, a layout directory on local disk the test rewrites, and
 * `drawbridge scheduler|executor` processes, each with its own config (own
 * clone, own ports) against whatever ZooKeeper hosts the test gives.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Buildset } from '../../src/model/index.js';
import { ZkPaths } from '../../src/zk/paths.js';
import { listComponents } from '../../src/zk/registry.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { createGitRepo, type GitRepoFixture } from '../fixtures/git-repo.js';
import { startSshd, type SshdFixture } from '../fixtures/sshd.js';
import { waitUntil } from '../fixtures/wait.js';
import { drawbridge, freePort, reap, waitForLog, type Daemon } from '../processes/support.js';
import { jobStanza } from '../scheduler/e2e-support.js';
import { putManagement, readBuildset, waitFinished } from '../fixtures/pipeline-events.js';

export { jobStanza, waitUntil, type Daemon };

export interface ClusterOptions {
  /** `host:port,host:port`: the ZooKeeper servers, no chroot. */
  readonly zkHosts: string;
  /** The znode root of this cluster. */
  readonly root: string;
  /** zookeeper.sessionTimeout of every process, in seconds. */
  readonly sessionTimeout: number;
}

export interface Cluster {
  readonly dir: string;
  readonly records: string;
  readonly layoutDir: string;
  readonly sha: string;
  /** A client of the test's own (not chrooted; paths carry the root). */
  readonly zk: ZooKeeperClient;
  readonly paths: ZkPaths;
  /** Replaces the layout directory's files. */
  writeLayout(files: Record<string, string>): void;
  /** Starts `drawbridge <kind>` with its own config; resolves once it runs. */
  start(kind: 'scheduler' | 'executor', name: string): Promise<Daemon>;
  /** The config file of a process started as `name`. */
  configOf(name: string): string;
  enqueue(pipeline: string): Promise<string>;
  buildset(pipeline: string, id: string): Promise<Buildset | null>;
  finished(pipeline: string, id: string, timeoutMs?: number): Promise<Buildset>;
  /** The layout version each registered scheduler reports, by id. */
  schedulerLayouts(): Promise<Record<string, unknown>>;
  jobRecords(): HaRecord[];
  /** Opens a gate file the record playbook waits on. */
  open(job: string): void;
  dispose(): Promise<void>;
}

/** One line of the record playbook. */
export interface HaRecord {
  readonly job: string;
  readonly event: 'start' | 'end' | 'overlap';
  readonly at: number;
  readonly buildset: string;
  readonly pid: number;
}

let counter = 0;

/**
 * e2e-support's record playbook (jobStanza's `playbooks/record.yml`), plus an
 * "overlap" line when an earlier run of the same job is still alive: the
 * proof that nothing ran twice at once, even across a lost session.
 */
export const HA_PLAYBOOK = `- hosts: localhost
  gather_facts: false
  tasks:
    - shell: |
        line() { printf '%s %s %s %s %s\\n' "{{ name }}" "$1" "$(date +%s%3N)" "{{ playbook_dir | dirname | basename }}" "$$" >> "{{ record_dir }}/record.log"; }
        pidf="{{ record_dir }}/{{ name }}.pid"
        # A killed run can linger as a zombie (an orphan whose reaper never reaps): only a live one counts.
        state() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }
        if [ -e "$pidf" ]; then st="$(state "$(cat "$pidf")")"; if [ -n "$st" ] && [ "$st" != Z ]; then line overlap; fi; fi
        echo $$ > "$pidf"
        line start
        {% if gate | default(false) %}
        while [ ! -e "{{ record_dir }}/{{ name }}.go" ]; do sleep 0.05; done
        {% endif %}
        line end
`;

export async function createCluster(name: string, o: ClusterOptions): Promise<Cluster> {
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
    for (const d of daemons) d.signal('SIGTERM');
    await Promise.all(daemons.map((d) => Promise.race([d.exited, delay(20_000)])));
    await Promise.all(daemons.map((d) => reap(d)));
    await zk?.close();
    await sshd?.dispose();
    repo?.dispose();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    [sshd, repo, zk] = await Promise.all([
      startSshd(),
      createGitRepo(),
      connectZooKeeper({ connectString: o.zkHosts, sessionTimeoutMs: o.sessionTimeout * 1000 }),
    ]);
    const sha = await repo.commit({ 'playbooks/record.yml': HA_PLAYBOOK }, 'record playbook');
    const paths = new ZkPaths(o.root);
    const client = zk;
    const b = sshd;
    const r = repo;
    const configOf = (n: string): string => join(dir, `${n}.yaml`);
    const writeProcessConfig = async (n: string): Promise<string> => {
      const file = configOf(n);
      writeFileSync(
        file,
        `zookeeper:
  hosts: ${o.zkHosts}
  root: ${o.root}
  sessionTimeout: ${o.sessionTimeout}
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
  listen: 127.0.0.1:${await freePort()}
state:
  dir: ${join(dir, `state-${n}`)}
log:
  level: info
  format: json
`,
      );
      return file;
    };
    const cluster: Cluster = {
      dir,
      records,
      layoutDir,
      sha,
      zk: client,
      paths,
      writeLayout(files) {
        rmSync(layoutDir, { recursive: true, force: true });
        mkdirSync(layoutDir);
        for (const [f, text] of Object.entries(files)) writeFileSync(join(layoutDir, f), text);
      },
      async start(kind, n) {
        const d = drawbridge([kind, '--config', await writeProcessConfig(n), '--grace', '30']);
        daemons.push(d);
        await waitForLog(d, /"msg":"daemon running"/, `${kind} ${n} to run`);
        return d;
      },
      configOf,
      async enqueue(pipeline) {
        counter += 1;
        const event = { type: 'enqueue', pipeline, ref: 'refs/heads/main', commit: sha } as const;
        return putManagement(client, paths, event, `ha-${process.pid}-${counter}`);
      },
      buildset: (p, id) => readBuildset(client, paths, p, id),
      finished: (p, id, timeoutMs = 90_000) => waitFinished(client, paths, p, id, timeoutMs, 100),
      async schedulerLayouts() {
        const all = await listComponents(client, paths.components('scheduler'));
        return Object.fromEntries(all.map((c) => [c.id, c.extra.layoutVersion]));
      },
      jobRecords() {
        let text = '';
        try {
          text = readFileSync(join(records, 'record.log'), 'utf8');
        } catch {
          return [];
        }
        return text
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => {
            const [job = '', event, at, buildset = '', pid] = l.trim().split(' ');
            return {
              job,
              event: event as HaRecord['event'],
              at: Number(at),
              buildset,
              pid: Number(pid),
            };
          });
      },
      open(job) {
        writeFileSync(join(records, `${job}.go`), '');
      },
      dispose,
    };
    return cluster;
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** A pipeline run by hand only. */
export function manualPipeline(name: string, manager = 'serial'): string {
  return `- pipeline:\n    name: ${name}\n    manager: ${manager}\n    trigger:\n      manual: true\n`;
}

/** A project stanza listing `jobs` per pipeline. */
export function projectStanza(pipelines: Record<string, readonly string[]>): string {
  const body = Object.entries(pipelines)
    .map(([p, jobs]) => `    ${p}:\n      jobs:\n${jobs.map((j) => `        - ${j}\n`).join('')}`)
    .join('');
  return `- project:\n${body}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
