import type { ServerHostKeyAlgorithm } from 'ssh2';
import { BastionConfigError } from './errors.js';
import { parseHostKeyPin, type HostKeyPin } from './host-key.js';

/** Channels kept out of the job pool: the control command's and the SFTP session's. */
export const RESERVED_CHANNELS = 2;
/** The fewest sshd sessions that work: the reserved two, the job runner's for good, and a checkout's. */
export const MIN_SESSIONS = RESERVED_CHANNELS + 2;

/** How the bastion's kernel schedules a playbook: SCHED_BATCH or SCHED_OTHER. */
export const JOB_CPU_POLICIES = ['batch', 'normal'] as const;
export type JobCpuPolicy = (typeof JOB_CPU_POLICIES)[number];

export interface BastionConnectionOptions {
  host: string;
  /** Default 22. */
  port?: number;
  username: string;
  /** The private key itself (PEM/OpenSSH format), not a path. */
  privateKey: Buffer | string;
  passphrase?: string;
  /**
   * The pinned host key(s): `SHA256:...` fingerprints (`ssh-keygen -lf`) or
   * known_hosts lines. A connection is refused unless the bastion's key matches one.
   */
  hostKey: string | readonly string[];
  /** The bastion's sshd MaxSessions (default 10, as sshd). At least MIN_SESSIONS (4). */
  maxSessions?: number;
  /** SSH keepalive interval, default 15000 ms; 0 disables. */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection counts as lost, default 3. */
  keepaliveCountMax?: number;
  /** Handshake time limit, default 20000 ms. */
  readyTimeoutMs?: number;
  /** First reconnect delay, default 250 ms; doubles up to reconnectMaxMs (default 10000 ms). */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** How long a command waits for a lost connection to come back, default 30000 ms. */
  waitForReadyMs?: number;
}

export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly privateKey: Buffer | string;
  readonly passphrase: string | undefined;
  readonly hostKeys: readonly HostKeyPin[];
  /** When every pin names its key type, only those types are negotiated. */
  readonly hostKeyAlgorithms: readonly ServerHostKeyAlgorithm[];
  readonly maxSessions: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveCountMax: number;
  readonly readyTimeoutMs: number;
  readonly reconnectInitialMs: number;
  readonly reconnectMaxMs: number;
  readonly waitForReadyMs: number;
}

/** Validates once and hands back a frozen object with defaults filled in. */
export function resolveOptions(o: BastionConnectionOptions): ResolvedOptions {
  if (!o.host) throw new BastionConfigError('host', 'a host name or address');
  if (!o.username) throw new BastionConfigError('username', 'a user name');
  const pins = (typeof o.hostKey === 'string' ? [o.hostKey] : [...o.hostKey]).map(parseHostKeyPin);
  if (pins.length === 0) throw new BastionConfigError('hostKey', 'at least one pinned host key');
  const port = int('port', o.port ?? 22, 1, 65535);
  return Object.freeze({
    host: o.host,
    port,
    username: o.username,
    privateKey: o.privateKey,
    passphrase: o.passphrase,
    hostKeys: Object.freeze(pins),
    hostKeyAlgorithms: Object.freeze(algorithmsFor(pins)),
    maxSessions: int('maxSessions', o.maxSessions ?? 10, MIN_SESSIONS, 10_000),
    keepaliveIntervalMs: int('keepaliveIntervalMs', o.keepaliveIntervalMs ?? 15_000, 0, 3_600_000),
    keepaliveCountMax: int('keepaliveCountMax', o.keepaliveCountMax ?? 3, 1, 1000),
    readyTimeoutMs: int('readyTimeoutMs', o.readyTimeoutMs ?? 20_000, 1, 3_600_000),
    reconnectInitialMs: int('reconnectInitialMs', o.reconnectInitialMs ?? 250, 1, 3_600_000),
    reconnectMaxMs: int('reconnectMaxMs', o.reconnectMaxMs ?? 10_000, 1, 3_600_000),
    waitForReadyMs: int('waitForReadyMs', o.waitForReadyMs ?? 30_000, 0, 3_600_000),
  });
}

function int(key: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BastionConfigError(key, `an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

const ALGORITHMS: Record<string, readonly ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-dss': ['ssh-dss'],
};

/**
 * A bastion with several host keys offers the client's preferred type; when
 * every pin names its type, ask for those types so the pinned key is the one shown.
 */
function algorithmsFor(pins: readonly HostKeyPin[]): ServerHostKeyAlgorithm[] {
  const lists = pins.map((p) => (p.keyType === undefined ? undefined : ALGORITHMS[p.keyType]));
  if (lists.some((l) => l === undefined)) return [];
  return [...new Set(lists.flatMap((l) => l ?? []))];
}
