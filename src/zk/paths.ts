/**
 * Every znode path Drawbridge uses, built in one place under a configurable
 * root. docs/zookeeper.md describes each one: its recipe, writer and payload.
 *
 * Names that come from users (pipelines, jobs, semaphores...) become path
 * segments only through `segment()`, so none can climb out of its parent or
 * collide with a recipe's own nodes (which start with `_` or are numbered).
 */
import { ZkInvalidNameError, ZkInvalidPathError } from './errors.js';

export type ComponentKind = 'scheduler' | 'executor' | 'web';
export const COMPONENT_KINDS: readonly ComponentKind[] = ['scheduler', 'executor', 'web'];

/** Letters, digits, `.`, `_`, `-`; starts with a letter or digit; at most 100 characters. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Validates one user-supplied name as a path segment and returns it. */
export function segment(kind: string, value: string): string {
  if (typeof value !== 'string' || value === '')
    throw new ZkInvalidNameError(kind, String(value), 'empty');
  if (value.length > 100) throw new ZkInvalidNameError(kind, value, 'longer than 100 characters');
  if (!SEGMENT.test(value)) {
    throw new ZkInvalidNameError(
      kind,
      value,
      'use letters, digits, ".", "_" and "-", starting with a letter or digit',
    );
  }
  return value;
}

/** Validates an absolute root path such as `/drawbridge` or `/prod/drawbridge`. */
export function rootPath(root: string): string {
  if (!root.startsWith('/') || root === '/' || root.endsWith('/'))
    throw new ZkInvalidPathError(root);
  root
    .slice(1)
    .split('/')
    .forEach((s) => segment('root', s));
  if (root.split('/')[1] === 'zookeeper') throw new ZkInvalidPathError(root);
  return root;
}

export class ZkPaths {
  readonly root: string;

  constructor(root = '/drawbridge') {
    this.root = rootPath(root);
    Object.freeze(this);
  }

  // ---- components ----------------------------------------------------

  /** Registry directory of one kind of component. */
  components(kind: ComponentKind): string {
    if (!COMPONENT_KINDS.includes(kind))
      throw new ZkInvalidNameError('component kind', kind, 'unknown');
    return `${this.root}/components/${kind}`;
  }
  /** Ephemeral registration of one component process. */
  component(kind: ComponentKind, id: string): string {
    return `${this.components(kind)}/${segment('component id', id)}`;
  }

  // ---- layout and reconfiguration ---------------------------------------

  /** Document naming the active layout version. */
  layoutCurrent(): string {
    return `${this.root}/layout/current`;
  }
  layoutVersions(): string {
    return `${this.root}/layout/versions`;
  }
  /** Sharded, immutable layout of one version (a content hash or a counter). */
  layoutVersion(version: string): string {
    return `${this.layoutVersions()}/${segment('layout version', version)}`;
  }
  /** Read/write lock: pipeline passes read, reconfiguration writes. */
  layoutLock(): string {
    return `${this.root}/layout/lock`;
  }

  // ---- global event queues ---------------------------------------------

  /** Queue of trigger events (webhook, timer, REST enqueue) not yet routed to pipelines. */
  triggerEvents(): string {
    return `${this.root}/events/trigger`;
  }
  /** Queue of management events (reconfigure, rolling restart...) not bound to a pipeline. */
  managementEvents(): string {
    return `${this.root}/events/management`;
  }

  // ---- pipelines --------------------------------------------------------

  pipelines(): string {
    return `${this.root}/pipelines`;
  }
  pipeline(name: string): string {
    return `${this.pipelines()}/${segment('pipeline', name)}`;
  }
  /** Document: the pipeline's queue of buildsets and manager state. */
  pipelineState(name: string): string {
    return `${this.pipeline(name)}/state`;
  }
  /** Mutex: the scheduler processing the pipeline. */
  pipelineLock(name: string): string {
    return `${this.pipeline(name)}/lock`;
  }
  pipelineTriggerEvents(name: string): string {
    return `${this.pipeline(name)}/events/trigger`;
  }
  pipelineManagementEvents(name: string): string {
    return `${this.pipeline(name)}/events/management`;
  }
  /** Queue of build results (written in one transaction with the request's state). */
  pipelineResultEvents(name: string): string {
    return `${this.pipeline(name)}/events/result`;
  }
  /** Sharded summary a scheduler writes after each pass; what web serves. */
  pipelineStatus(name: string): string {
    return `${this.pipeline(name)}/status`;
  }
  pipelineBuildsets(name: string): string {
    return `${this.pipeline(name)}/buildsets`;
  }
  /** Sharded document: one buildset (job graph, pinned commit, builds). */
  buildset(pipeline: string, buildsetId: string): string {
    return `${this.pipelineBuildsets(pipeline)}/${segment('buildset id', buildsetId)}`;
  }

  // ---- builds -------------------------------------------------------------

  buildRequests(): string {
    return `${this.root}/builds/requests`;
  }
  /** Document: one build request and its state (requested, running, completed). */
  buildRequest(requestId: string): string {
    return `${this.buildRequests()}/${segment('build request id', requestId)}`;
  }
  buildLocks(): string {
    return `${this.root}/builds/locks`;
  }
  /**
   * Lease (one ephemeral node): the executor running the request. Taken in the
   * transaction that makes the request running; gone while running = lost build.
   */
  buildLock(requestId: string): string {
    return `${this.buildLocks()}/${segment('build request id', requestId)}`;
  }

  // ---- semaphores, timers, election, admin ------------------------------

  semaphores(): string {
    return `${this.root}/semaphores`;
  }
  semaphore(name: string): string {
    return `${this.semaphores()}/${segment('semaphore', name)}`;
  }
  timers(): string {
    return `${this.root}/timers`;
  }
  /** One timer trigger's slots: creating a slot node claims that firing. */
  timerSlots(pipeline: string): string {
    return `${this.timers()}/${segment('pipeline', pipeline)}`;
  }
  /** A slot is the firing time formatted as a segment, e.g. `20261123T1800Z`. */
  timerSlot(pipeline: string, slot: string): string {
    return `${this.timerSlots(pipeline)}/${segment('timer slot', slot)}`;
  }
  /** Git pollers' documents, one per watched ref. */
  triggerRefs(): string {
    return `${this.root}/triggers/refs`;
  }
  /** The last head reported for one ref; `key` is the ref in segment form (see triggers/names.ts). */
  triggerRef(key: string): string {
    return `${this.triggerRefs()}/${segment('ref', key)}`;
  }
  elections(): string {
    return `${this.root}/election`;
  }
  /** Leader election (lock node layout) for a singleton duty. */
  election(name: string): string {
    return `${this.elections()}/${segment('election', name)}`;
  }
  /** Document: the rolling restart in progress (order, current component, state). */
  rollingRestart(): string {
    return `${this.root}/admin/rolling-restart`;
  }
  /** Control requests (drain, pause, resume) addressed to running components. */
  controlRequests(): string {
    return `${this.root}/admin/control`;
  }
  /** Document: the request one component's process watches; its id is the registry node name. */
  controlRequest(componentId: string): string {
    return `${this.controlRequests()}/${segment('component id', componentId)}`;
  }
  /** Generic named mutexes (cleanup, migrations...). */
  lock(name: string): string {
    return `${this.root}/locks/${segment('lock', name)}`;
  }

  /** The persistent directories every component may assume exist (created at startup). */
  directories(): string[] {
    return [
      ...COMPONENT_KINDS.map((k) => this.components(k)),
      this.layoutVersions(),
      this.layoutLock(),
      this.triggerEvents(),
      this.managementEvents(),
      this.pipelines(),
      this.buildRequests(),
      this.buildLocks(),
      this.semaphores(),
      this.timers(),
      this.triggerRefs(),
      this.elections(),
      `${this.root}/admin`,
      `${this.root}/locks`,
    ];
  }
}
