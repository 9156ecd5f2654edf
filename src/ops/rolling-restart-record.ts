/**
 * The record of a rolling restart, kept at <root>/admin/rolling-restart: one
 * JSON document that its driver rewrites at every step, so that anyone (the
 * CLI, web's REST API, an operator with zkCli) can follow it. It stays after
 * the operation ends, until the next one replaces it.
 */
import type { ZkClient } from '../zk/client.js';
import { decodeAt, jsonCodec } from '../zk/codec.js';
import { ZkNoNodeError, ZkNodeExistsError } from '../zk/errors.js';
import { contenders } from '../zk/lock.js';
import type { ZkPaths } from '../zk/paths.js';

export type RestartKind = 'scheduler' | 'executor';
export type RollingRestartState = 'running' | 'succeeded' | 'failed';
/**
 * pending → draining → replacing → done. `gone`: it left before its turn
 * (nothing to drain); `failed`: the step that stopped the operation.
 */
export type RestartStepState = 'pending' | 'draining' | 'replacing' | 'done' | 'gone' | 'failed';

export interface RestartStep {
  /** Registry id of the component restarted in this step. */
  readonly component: string;
  readonly hostname: string;
  readonly pid: number;
  readonly state: RestartStepState;
  /** Registry id of the component that took its place, once running. */
  readonly replacement: string | null;
  /** ISO 8601, or null before the step began / ended. */
  readonly startedAt: string | null;
  readonly endedAt: string | null;
}

export interface RollingRestartRecord {
  readonly id: string;
  readonly kind: RestartKind;
  readonly state: RollingRestartState;
  readonly requestedBy: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly endedAt: string | null;
  /** How long each component may take to drain, and again to be replaced. */
  readonly timeoutMs: number;
  readonly steps: readonly RestartStep[];
  /** What is happening now, or why it failed, in words. */
  readonly message: string;
  /** Set when state is failed. */
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** What readers get: the record, and whether a driver still holds the operation's lock. */
export interface RollingRestartView extends RollingRestartRecord {
  /** False for a `running` record whose driver died: it will not progress any more. */
  readonly driverAlive: boolean;
}

export function parseRollingRestart(value: unknown): RollingRestartRecord {
  const r = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const ok =
    typeof r.id === 'string' &&
    (r.kind === 'scheduler' || r.kind === 'executor') &&
    (r.state === 'running' || r.state === 'succeeded' || r.state === 'failed') &&
    typeof r.startedAt === 'string' &&
    typeof r.timeoutMs === 'number' &&
    Array.isArray(r.steps) &&
    typeof r.message === 'string';
  if (!ok) throw new TypeError('not a rolling restart record');
  return r as unknown as RollingRestartRecord;
}

export const rollingRestartCodec = jsonCodec<RollingRestartRecord>(parseRollingRestart);

/** The lock a driver holds for the whole operation. */
export function rollingRestartLock(paths: ZkPaths): string {
  return paths.lock('rolling-restart');
}

/** The latest rolling restart (running or ended), or null if there never was one. */
export async function readRollingRestart(
  zk: ZkClient,
  paths: ZkPaths,
): Promise<RollingRestartView | null> {
  const path = paths.rollingRestart();
  let record: RollingRestartRecord;
  try {
    record = decodeAt(rollingRestartCodec, path, (await zk.get(path)).data);
  } catch (e) {
    if (e instanceof ZkNoNodeError) return null;
    throw e;
  }
  const nodes = await zk.children(rollingRestartLock(paths)).catch((e: unknown) => {
    if (e instanceof ZkNoNodeError) return [] as string[];
    throw e;
  });
  return { ...record, driverAlive: contenders(nodes).length > 0 };
}

/** Replaces the record (only the lock holder writes it). */
export async function writeRollingRestart(
  zk: ZkClient,
  paths: ZkPaths,
  record: RollingRestartRecord,
): Promise<void> {
  const path = paths.rollingRestart();
  const data = rollingRestartCodec.encode(record);
  try {
    await zk.set(path, data);
  } catch (e) {
    if (!(e instanceof ZkNoNodeError)) throw e;
    await zk.create(path, data).catch(async (err: unknown) => {
      if (!(err instanceof ZkNodeExistsError)) throw err;
      await zk.set(path, data);
    });
  }
}
