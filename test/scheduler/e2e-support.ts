/**
 * A world for the scheduler's end-to-end tests: the executor's world (a
 * ZooKeeper chroot, an sshd bastion, a git repository) with a layout each
 * test file writes for itself, schedulers that may run their own triggers,
 * and a record file every job's playbook appends to, naming its buildset.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadLayoutFromSources, type Layout } from '../../src/config/index.js';
import type { BuildEndEvent } from '../../src/executor/index.js';
import { type Buildset } from '../../src/model/index.js';
import { Scheduler, type SchedulerTriggerOptions } from '../../src/scheduler/runtime/index.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { createWorld, waitUntil, type World } from '../executor/support.js';
import { putManagement, readBuildset, waitFinished } from '../fixtures/pipeline-events.js';

export { spawnExecutor, type ExecutorProcess } from '../executor/spawn.js';

export { waitUntil };

/**
 * Appends "<job> start|end <epoch ms> <buildset> <pid>"; waits for a gate
 * file when told to. The buildset is the workspace directory above playbooks/.
 */
export const RECORD_PLAYBOOK = `- hosts: localhost
  gather_facts: false
  tasks:
    - shell: |
        line() { printf '%s %s %s %s %s\\n' "{{ name }}" "$1" "$(date +%s%3N)" "{{ playbook_dir | dirname | basename }}" "$$" >> "{{ record_dir }}/record.log"; }
        line start
        {% if gate | default(false) %}
        while [ ! -e "{{ record_dir }}/{{ name }}.go" ]; do sleep 0.05; done
        {% endif %}
        line end
`;

/** One job stanza running RECORD_PLAYBOOK; `extra` is raw YAML at job level. */
export function jobStanza(name: string, records: string, extra = '', vars = {}): string {
  const v = Object.entries({ name, record_dir: records, ...vars })
    .map(([k, x]) => `      ${k}: ${JSON.stringify(x)}`)
    .join('\n');
  return `- job:\n    name: ${name}\n    run: playbooks/record.yml\n${extra}    vars:\n${v}\n`;
}

export interface JobRecord {
  readonly job: string;
  readonly event: 'start' | 'end';
  readonly at: number;
  readonly buildset: string;
  readonly pid: number;
}

export interface E2eWorld {
  readonly world: World;
  readonly layout: Layout;
  /** The commit with the layout and the playbook: main's head after setup. */
  readonly sha: string;
  /** Builds ended by in-process executors started with `startExecutor`. */
  readonly builds: BuildEndEvent[];
  startExecutor(slots?: number): Promise<void>;
  /** A started scheduler with a ZooKeeper session of its own. */
  startScheduler(triggers?: SchedulerTriggerOptions): Promise<Scheduler>;
  /** `repository` options for a scheduler's poller: its own clone of the world's repository. */
  repository(pollIntervalMs: number): NonNullable<SchedulerTriggerOptions['repository']>;
  /** Enqueues the head of main by hand; returns the buildset id. */
  enqueue(pipeline: string): Promise<string>;
  /** Asks for a buildset to be dequeued (cancelled). */
  dequeue(pipeline: string, buildsetId: string): Promise<void>;
  buildset(pipeline: string, id: string): Promise<Buildset | null>;
  /** Ids of every buildset record kept for the pipeline. */
  buildsetIds(pipeline: string): Promise<string[]>;
  finished(pipeline: string, id: string, timeoutMs?: number): Promise<Buildset>;
  records(): JobRecord[];
  dispose(): Promise<void>;
}

let counter = 0;

export async function createE2eWorld(
  name: string,
  layoutText: (records: string) => string,
): Promise<E2eWorld> {
  const world = await createWorld(`e2e-${name}`);
  const clients: ZooKeeperClient[] = [];
  const schedulers: Scheduler[] = [];
  const builds: BuildEndEvent[] = [];
  const logger = pino({ level: process.env.DRAWBRIDGE_TEST_LOG ?? 'silent' });
  const dispose = async (): Promise<void> => {
    await Promise.all(schedulers.map((s) => s.stop()));
    await Promise.all(clients.map((c) => c.close()));
    await world.dispose();
  };
  try {
    const text = layoutText(world.records);
    const loaded = loadLayoutFromSources([{ file: 'zuul.d/e2e.yaml', text }]);
    if (!loaded.layout)
      throw new Error(`e2e layout invalid: ${loaded.errors.map((e) => e.message).join('; ')}`);
    const layout = loaded.layout;
    const sha = await world.repo.commit(
      { 'playbooks/record.yml': RECORD_PLAYBOOK, 'zuul.d/e2e.yaml': text },
      'e2e layout',
    );
    const { zk, paths } = world;
    const e2e: E2eWorld = {
      world,
      layout,
      sha,
      builds,
      async startExecutor(slots = 4) {
        const executor = await world.startExecutor({ slots });
        executor.onBuildEnd((e) => builds.push(e));
      },
      async startScheduler(triggers) {
        const client = await connectZooKeeper({
          connectString: world.chroot.connectString,
          sessionTimeoutMs: 4_000,
        });
        clients.push(client);
        const s = new Scheduler(
          { version: 'test', safetyIntervalMs: 300, ...(triggers ? { triggers } : {}) },
          { zk: client, paths, layout, layoutVersion: 'e2e-layout', logger },
        );
        schedulers.push(s);
        await s.start();
        return s;
      },
      repository(pollIntervalMs) {
        counter += 1;
        return {
          url: world.repo.url,
          branch: 'main',
          localPath: join(world.dir, `clone-${counter}`),
          pollIntervalMs,
        };
      },
      async enqueue(pipeline) {
        counter += 1;
        const event = { type: 'enqueue', pipeline, ref: 'refs/heads/main', commit: sha } as const;
        return putManagement(zk, paths, event, `e2e-${process.pid}-${counter}`);
      },
      async dequeue(pipeline, buildsetId) {
        counter += 1;
        const event = { type: 'dequeue', pipeline, buildsetId } as const;
        await putManagement(zk, paths, event, `e2e-${process.pid}-${counter}`);
      },
      buildset: (p, id) => readBuildset(zk, paths, p, id),
      async buildsetIds(p) {
        return (await zk.children(paths.pipelineBuildsets(p)).catch(() => [] as string[])).sort();
      },
      finished: (p, id, timeoutMs = 60_000) => waitFinished(zk, paths, p, id, timeoutMs),
      records() {
        let lines: string[] = [];
        try {
          lines = readFileSync(join(world.records, 'record.log'), 'utf8').split('\n');
        } catch {
          return [];
        }
        return lines
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
      dispose,
    };
    return e2e;
  } catch (e) {
    await dispose();
    throw e;
  }
}
