/**
 * A scheduler's world for integration tests: the executor's world (a
 * ZooKeeper chroot, an sshd bastion, a git repository, an executor in
 * process) plus a layout of small pipelines, one per scenario, and helpers
 * that act as operators and web do: put events, read buildsets and status.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadLayoutFromSources, type Layout } from '../../src/config/index.js';
import { triggerEventCodec, type Buildset, type TriggerEvent } from '../../src/model/index.js';
import { Scheduler, type SchedulerOptions } from '../../src/scheduler/runtime/index.js';
import { ZkEventQueue } from '../../src/zk/queue.js';
import { parseHolders } from '../../src/zk/semaphore.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { createWorld, waitUntil, type World } from '../executor/support.js';
import {
  putManagement,
  readBuildset,
  waitFinished,
  type ManagementRequest,
} from '../fixtures/pipeline-events.js';

export { waitUntil };

/** Records "<name> start|end <epoch ms>"; sleeps, fails or waits for a gate file as told. */
export const STEP_PLAYBOOK = `- hosts: localhost
  gather_facts: false
  tasks:
    - shell: |
        printf '%s start %s\\n' "{{ name }}" "$(date +%s%3N)" >> "{{ record_dir }}/record.log"
        {% if gate | default(false) %}
        while [ ! -e "{{ record_dir }}/{{ name }}.go" ]; do sleep 0.05; done
        {% endif %}
        sleep {{ seconds | default(0) }}
        printf '%s end %s\\n' "{{ name }}" "$(date +%s%3N)" >> "{{ record_dir }}/record.log"
        exit {{ rc | default(0) }}
`;

function job(name: string, records: string, extra = '', vars: Record<string, unknown> = {}) {
  const v = Object.entries({ name, record_dir: records, ...vars })
    .map(([k, x]) => `      ${k}: ${JSON.stringify(x)}`)
    .join('\n');
  return `- job:\n    name: ${name}\n    run: playbooks/step.yml\n${extra}    vars:\n${v}\n`;
}

function pipeline(name: string, trigger: string, precedence = 'normal') {
  return `- pipeline:\n    name: ${name}\n    manager: serial\n    precedence: ${precedence}\n    trigger:\n${trigger}\n`;
}

const manual = '      manual: true';

/** The scenarios' layout; job names are prefixed by their pipeline's initial. */
export function layoutText(records: string): string {
  const deps = (...d: string[]) => `    dependencies:\n${d.map((x) => `      - ${x}\n`).join('')}`;
  return [
    '- semaphore:\n    name: one\n    max: 1\n',
    pipeline(
      'deploy',
      '      git:\n        - event: ref-updated\n          ref: ^refs/heads/main$',
      'high',
    ),
    pipeline(
      'selective',
      '      git:\n        - event: ref-updated\n          ref: ^refs/heads/release$',
    ),
    pipeline('failing', manual),
    pipeline('sema', manual, 'low'),
    pipeline('sema-other', manual),
    pipeline('cancel', manual),
    pipeline('lost', manual),
    job('d-bootstrap', records),
    job('d-base', records, deps('d-bootstrap')),
    job('d-svc-a', records, deps('d-base'), { seconds: 1 }),
    job('d-svc-b', records, deps('d-base'), { seconds: 1 }),
    job('d-svc-c', records, deps('d-base')),
    job('d-finish', records, deps('d-svc-a', '{name: d-svc-c, soft: true}')),
    job('s-a', records, '    files:\n      - ^a/\n'),
    job('s-b', records, '    files:\n      - ^b/\n'),
    job('s-c', records),
    job('f-base', records, '', { rc: 2 }),
    job('f-child', records, deps('f-base')),
    job('f-grandchild', records, deps('f-child')),
    job('f-other', records),
    job('m-a', records, '    semaphores:\n      - one\n', { seconds: 1 }),
    job('m-b', records, '    semaphores:\n      - one\n', { seconds: 1 }),
    job('o-a', records, '    semaphores:\n      - one\n'),
    job('c-gate', records, '', { gate: true }),
    job('c-after', records, deps('c-gate')),
    job('l-gate', records, '    attempts: 3\n', { gate: true }),
    `- project:
    deploy:
      jobs: [d-bootstrap, d-base, d-svc-a, d-svc-b, d-svc-c, d-finish]
    selective:
      jobs: [s-a, s-b, s-c]
    failing:
      jobs: [f-base, f-child, f-grandchild, f-other]
    sema:
      jobs: [m-a, m-b]
    sema-other:
      jobs: [o-a]
    cancel:
      jobs: [c-gate, c-after]
    lost:
      jobs: [l-gate]
`,
  ].join('\n');
}

export interface SchedulerWorld {
  readonly world: World;
  readonly layout: Layout;
  readonly sha: string;
  readonly schedulers: Scheduler[];
  /** A scheduler with a ZooKeeper session of its own, started; `options` override the tests' defaults. */
  startScheduler(options?: Partial<SchedulerOptions>): Promise<Scheduler>;
  /** Ends a scheduler's ZooKeeper session under it, as a crash would: its locks and registration vanish. */
  crash(s: Scheduler): Promise<void>;
  /** Puts a management event on its pipeline's queue; returns the buildset id it creates. */
  manage(event: ManagementRequest): Promise<string>;
  /** Puts a trigger event on the global queue. */
  trigger(event: TriggerEvent): Promise<void>;
  buildset(pipeline: string, id: string): Promise<Buildset | null>;
  /** Waits until the buildset is done and returns it. */
  finished(pipeline: string, id: string, timeoutMs?: number): Promise<Buildset>;
  /** "<name> start|end <ms>" lines of the record file, parsed. */
  records(): { name: string; event: string; at: number }[];
  /** Request ids still stored. */
  requests(): Promise<string[]>;
  /** Holders of every semaphore node. */
  semaphoreHolders(): Promise<string[]>;
  /** Contenders on every pipeline lock. */
  pipelineLockNodes(): Promise<string[]>;
  dispose(): Promise<void>;
}

let counter = 0;

export type { ManagementRequest };

export async function createSchedulerWorld(name: string): Promise<SchedulerWorld> {
  const world = await createWorld(`sched-${name}`);
  const clients: ZooKeeperClient[] = [];
  const schedulers: Scheduler[] = [];
  const sessions = new Map<Scheduler, ZooKeeperClient>();
  const dispose = async (): Promise<void> => {
    await Promise.all(schedulers.map((s) => s.stop()));
    await Promise.all(clients.map((c) => c.close()));
    await world.dispose();
  };
  try {
    const text = layoutText(world.records);
    const loaded = loadLayoutFromSources([{ file: 'zuul.d/test.yaml', text }]);
    if (!loaded.layout)
      throw new Error(`test layout invalid: ${loaded.errors.map((e) => e.message).join('; ')}`);
    const layout = loaded.layout;
    const sha = await world.repo.commit(
      { 'playbooks/step.yml': STEP_PLAYBOOK, 'zuul.d/test.yaml': text },
      'scheduler test layout',
    );
    const { zk, paths } = world;
    const sw: SchedulerWorld = {
      world,
      layout,
      sha,
      schedulers,
      async startScheduler(options = {}) {
        const client = await connectZooKeeper({
          connectString: world.chroot.connectString,
          sessionTimeoutMs: 4_000,
        });
        clients.push(client);
        const s = new Scheduler(
          { version: 'test', safetyIntervalMs: 300, ...options },
          {
            zk: client,
            paths,
            layout,
            layoutVersion: 'test-layout',
            logger: pino({ level: process.env.DRAWBRIDGE_TEST_LOG ?? 'silent' }),
          },
        );
        schedulers.push(s);
        sessions.set(s, client);
        await s.start();
        return s;
      },
      async crash(s) {
        await sessions.get(s)?.close();
      },
      async manage(event) {
        counter += 1;
        return putManagement(zk, paths, event, `mgmt-${process.pid}-${counter}`);
      },
      async trigger(event) {
        await new ZkEventQueue(zk, paths.triggerEvents(), triggerEventCodec).put(event);
      },
      buildset: (p, id) => readBuildset(zk, paths, p, id),
      finished: (p, id, timeoutMs = 60_000) => waitFinished(zk, paths, p, id, timeoutMs),
      records() {
        let text = '';
        try {
          text = readFileSync(join(world.records, 'record.log'), 'utf8');
        } catch {
          return [];
        }
        return text
          .trim()
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => {
            const [n, event, at] = l.split(' ');
            return { name: n ?? '', event: event ?? '', at: Number(at) };
          });
      },
      async requests() {
        return zk.children(paths.buildRequests()).catch(() => []);
      },
      async semaphoreHolders() {
        const names = await zk.children(paths.semaphores()).catch(() => [] as string[]);
        const all = await Promise.all(
          names.map(async (n) => {
            const { data } = await zk.get(paths.semaphore(n));
            return parseHolders(JSON.parse(data.toString('utf8'))).map((h) => `${n}:${h.id}`);
          }),
        );
        return all.flat();
      },
      async pipelineLockNodes() {
        const all = await Promise.all(
          [...layout.pipelines.keys()].map(async (p) =>
            (await zk.children(paths.pipelineLock(p)).catch(() => [] as string[])).map(
              (n) => `${p}/${n}`,
            ),
          ),
        );
        return all.flat();
      },
      dispose,
    };
    return sw;
  } catch (e) {
    await dispose();
    throw e;
  }
}
