/**
 * Component registry: every running component (scheduler, executor, web)
 * keeps an ephemeral node with a JSON record of what it is and what state it
 * is in. The node vanishes with the component's session; the registration
 * re-creates it on the client's next session. Anyone may list or watch.
 *
 * Layout: <base>/<kind>-<hostname>-<pid>-<random>   ephemeral, JSON ComponentRecord
 */
import { randomBytes } from 'node:crypto';
import type { ZkClient } from './client.js';
import { decodeAt, jsonCodec } from './codec.js';
import { IllegalStateError, toError } from '../errors.js';
import { ZkBadVersionError, ZkNodeExistsError, ZkNoNodeError } from './errors.js';
import { unlessMissing } from './shard.js';
import { type StopWatch, watchChildren, type WatchOptions } from './watch.js';

export const COMPONENT_STATES = [
  'initializing',
  'running',
  'paused',
  'draining',
  'stopped',
] as const;
export type ComponentState = (typeof COMPONENT_STATES)[number];

export interface ComponentRecord {
  readonly kind: string;
  readonly hostname: string;
  readonly pid: number;
  readonly version: string;
  readonly state: ComponentState;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly extra: Readonly<Record<string, unknown>>;
}

export interface RegisteredComponent extends ComponentRecord {
  /** Node name under the registry's base path. */
  readonly id: string;
}

export function parseRecord(value: unknown): ComponentRecord {
  const r = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const ok =
    typeof r.kind === 'string' &&
    typeof r.hostname === 'string' &&
    typeof r.pid === 'number' &&
    typeof r.version === 'string' &&
    typeof r.state === 'string' &&
    (COMPONENT_STATES as readonly string[]).includes(r.state) &&
    typeof r.startedAt === 'string' &&
    typeof r.extra === 'object' &&
    r.extra !== null;
  if (!ok) throw new TypeError('not a component record');
  return r as unknown as ComponentRecord;
}

const codec = jsonCodec<ComponentRecord>(parseRecord);

export interface RegistrationOptions {
  /** Errors while re-registering after a new session; the registration keeps trying. */
  readonly onError?: (err: Error) => void;
}

type RegistrationState = 'registered' | 'closed';

/** Backoff of re-registration attempts after a failure, while connected. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5_000;

export class ComponentRegistration {
  private lifecycle: RegistrationState = 'registered';
  private version = 0;
  private needsReassert = false;
  private retryMs = RETRY_FIRST_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private readonly unlisten: () => void;

  private constructor(
    readonly client: ZkClient,
    readonly path: string,
    private current: ComponentRecord,
    private readonly options: RegistrationOptions,
  ) {
    this.unlisten = client.addListener({
      onNewSession: () => this.reassertSoon(),
      onState: (s) => {
        if (s === 'connected' && this.needsReassert) this.reassertSoon();
      },
    });
  }

  /** Registers a component under `basePath` (created if missing). */
  static async register(
    client: ZkClient,
    basePath: string,
    record: Omit<ComponentRecord, 'startedAt' | 'extra'> &
      Partial<Pick<ComponentRecord, 'startedAt' | 'extra'>>,
    options: RegistrationOptions = {},
  ): Promise<ComponentRegistration> {
    const full: ComponentRecord = { startedAt: new Date().toISOString(), extra: {}, ...record };
    const safe = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_');
    const name = `${safe(full.kind)}-${safe(full.hostname)}-${full.pid}-${randomBytes(3).toString('hex')}`;
    await client.mkdirp(basePath);
    const reg = new ComponentRegistration(client, `${basePath}/${name}`, full, options);
    try {
      await reg.reassert();
    } catch (e) {
      reg.unlisten();
      throw e;
    }
    return reg;
  }

  get id(): string {
    return this.path.slice(this.path.lastIndexOf('/') + 1);
  }

  get record(): ComponentRecord {
    return this.current;
  }

  /** Changes the recorded state (and optionally `extra`) by compare-and-set on our own node. */
  async update(
    state: ComponentState,
    extra?: Readonly<Record<string, unknown>>,
  ): Promise<ComponentRecord> {
    if (this.lifecycle !== 'registered')
      throw new IllegalStateError('registration', this.lifecycle, 'update');
    this.current = { ...this.current, state, extra: extra ?? this.current.extra };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        this.version = (
          await this.client.set(this.path, codec.encode(this.current), this.version)
        ).version;
        return this.current;
      } catch (e) {
        // Our node is missing (session lost): the next session writes the new record.
        if (e instanceof ZkNoNodeError) return this.current;
        if (!(e instanceof ZkBadVersionError)) throw e;
        // Only we write this node; a conflict means it was re-created: learn its version.
        const node = await unlessMissing(this.client.get(this.path), null);
        if (!node) return this.current;
        this.version = node.stat.version;
      }
    }
    throw new ZkBadVersionError(this.path);
  }

  /** Deletes the node and stops re-registering. Idempotent; returns the same promise. */
  unregister(): Promise<void> {
    this.closing ??= (async () => {
      this.lifecycle = 'closed';
      clearTimeout(this.retryTimer);
      this.unlisten();
      if (this.client.state === 'closed') return;
      await this.client.delete(this.path).catch((e: unknown) => {
        if (!(e instanceof ZkNoNodeError)) throw e;
      });
    })();
    return this.closing;
  }

  private reassertSoon(): void {
    if (this.lifecycle !== 'registered') return;
    clearTimeout(this.retryTimer);
    this.reassert().then(
      () => (this.retryMs = RETRY_FIRST_MS),
      (e: unknown) => {
        this.needsReassert = true;
        // A failure while the connection stays up (an ensemble still syncing
        // after a restart) brings no state change to retry on: retry on a timer.
        this.retryTimer = setTimeout(() => this.reassertSoon(), this.retryMs);
        this.retryTimer.unref();
        this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
        try {
          this.options.onError?.(toError(e));
        } catch {
          // Nothing left to report to.
        }
      },
    );
  }

  /** Makes sure our node exists under the current session with the current record. */
  private async reassert(): Promise<void> {
    this.needsReassert = false;
    const data = codec.encode(this.current);
    try {
      await this.client.create(this.path, data, { mode: 'ephemeral' });
      this.version = 0;
      return;
    } catch (e) {
      if (!(e instanceof ZkNodeExistsError)) throw e;
    }
    const node = await this.client.get(this.path);
    if (node.stat.ephemeralOwner === this.client.sessionId) {
      this.version = (await this.client.set(this.path, data, node.stat.version)).version;
      return;
    }
    // Left over from our previous session, which the server has not expired yet.
    await this.client.delete(this.path, node.stat.version);
    await this.client.create(this.path, data, { mode: 'ephemeral' });
    this.version = 0;
  }
}

/** Every registered component, sorted by id. */
export async function listComponents(
  client: ZkClient,
  basePath: string,
): Promise<RegisteredComponent[]> {
  const ids = await unlessMissing(client.children(basePath), []);
  return readAll(client, basePath, ids);
}

/**
 * Calls `cb` with the registered components now and whenever one joins or
 * leaves (state changes within a record do not trigger it).
 */
export function watchComponents(
  client: ZkClient,
  basePath: string,
  cb: (components: RegisteredComponent[]) => void | Promise<void>,
  options?: WatchOptions,
): StopWatch {
  return watchChildren(
    client,
    basePath,
    async (ids) => cb(await readAll(client, basePath, ids ?? [])),
    options,
  );
}

async function readAll(
  client: ZkClient,
  basePath: string,
  ids: readonly string[],
): Promise<RegisteredComponent[]> {
  const read = async (id: string): Promise<RegisteredComponent | null> => {
    const path = `${basePath}/${id}`;
    const node = await unlessMissing(client.get(path), null);
    return node ? { id, ...decodeAt(codec, path, node.data) } : null;
  };
  const all = await Promise.all([...ids].sort().map(read));
  return all.filter((c): c is RegisteredComponent => c !== null);
}
