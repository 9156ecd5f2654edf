/**
 * The shape of a loaded daemon configuration (`drawbridge.yaml`). The loader
 * produces it once, deeply frozen; times are in milliseconds and every local
 * path is absolute. docs/daemon-config.md documents each option.
 */
import type { Diagnostic } from './layout-types.js';
import type { JobCpuPolicy } from '../bastion/options.js';

/** A TCP address; `host` is a name, an IPv4 address, or an IPv6 address without brackets. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface ZookeeperConfig {
  readonly hosts: readonly HostPort[];
  /** `host:port,host:port`, IPv6 hosts in brackets: what ZooKeeper clients take. */
  readonly connectString: string;
  /** Absolute znode path every Drawbridge node lives under; no trailing slash. */
  readonly root: string;
  readonly sessionTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Digest ACL identity; undefined means an open (world) ACL. */
  readonly auth: { readonly user: string; readonly password: string } | undefined;
}

export interface LayoutConfig {
  /**
   * Absolute local paths, or, when `fromRepository`, normalised paths relative
   * to the root of the repository checkout (never absolute, never `..`).
   */
  readonly paths: readonly string[];
  readonly fromRepository: boolean;
  /** Where `vars.playbook_name` playbooks live, relative to the repository root. */
  readonly playbookDir: string;
  /** The deployed repository's name as project stanzas spell it. */
  readonly project: string | undefined;
}

export interface RepositoryConfig {
  readonly url: string;
  readonly branch: string;
  /** 0 disables polling (webhooks or manual enqueues only). */
  readonly pollIntervalMs: number;
  /** Absolute path of the scheduler's local clone. */
  readonly localPath: string;
}

export type CommitSourceKind = 'fetch' | 'push';

export interface BastionConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Absolute local path of the private key file (read by the executor, not here). */
  readonly privateKey: string;
  /** Pinned host keys as written: `SHA256:` fingerprints or known_hosts / public key lines. */
  readonly hostKeys: readonly string[];
  /** Absolute path on the bastion. */
  readonly workspaceRoot: string;
  /** The bastion sshd's MaxSessions. */
  readonly sessionLimit: number;
  /** Workspaces kept on the bastion; 0 keeps all. */
  readonly keepWorkspaces: number;
  readonly commitSource: CommitSourceKind;
  /** SSH keepalive interval; 0 disables. */
  readonly keepaliveMs: number;
}

export interface ExecutorConfig {
  readonly slots: number;
  readonly logRoot: string;
  readonly logStream: HostPort;
  readonly killGraceMs: number;
  /** Nice value of every playbook's process group on the bastion; 0 leaves it alone. */
  readonly jobNice: number;
  /** How the bastion's kernel schedules each playbook: SCHED_BATCH or SCHED_OTHER. */
  readonly jobCpuPolicy: JobCpuPolicy;
}

export interface SchedulerConfig {
  readonly timers: boolean;
  readonly statusIntervalMs: number;
}

export type TokenRole = 'read' | 'operator' | 'admin';

export interface WebToken {
  readonly name: string;
  /** `sha256:` and 64 lowercase hex digits: the SHA-256 of the token. */
  readonly hash: string;
  readonly role: TokenRole;
}

export interface JwtConfig {
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly hs256Secret: string | undefined;
  /** Absolute local path of a PEM public key. */
  readonly rs256PublicKey: string | undefined;
}

export interface WebConfig {
  readonly listen: HostPort;
  /** Without a trailing slash. */
  readonly publicUrl: string | undefined;
  readonly readProtected: boolean;
  readonly tokens: readonly WebToken[];
  readonly jwt: JwtConfig | undefined;
  /** Per git server kind, the secret its webhooks are signed with; absent: refused. */
  readonly webhooks: WebhookSecrets;
}

export interface WebhookSecrets {
  readonly github?: string;
  readonly gitea?: string;
  readonly gitlab?: string;
  readonly generic?: string;
}

/** Where finished buildsets and builds are kept (src/history). */
export type HistoryConfig =
  | {
      readonly kind: 'sqlite';
      /** Absolute path of the database file. */
      readonly path: string;
    }
  | {
      readonly kind: 'postgres';
      /** `postgres://user@host:port/database`, never with a password. */
      readonly url: string;
      readonly password: string | undefined;
      /** Absolute local path of a file holding the password (read at start, not by the loader). */
      readonly passwordFile: string | undefined;
    };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type LogFormat = 'json' | 'pretty';

export interface DaemonConfig {
  /** Absolute path of the file this was loaded from. */
  readonly file: string;
  readonly zookeeper: ZookeeperConfig;
  readonly layout: LayoutConfig;
  readonly repository: RepositoryConfig;
  readonly bastion: BastionConfig;
  readonly executor: ExecutorConfig;
  readonly scheduler: SchedulerConfig;
  readonly web: WebConfig;
  readonly history: HistoryConfig;
  readonly state: { readonly dir: string };
  readonly log: { readonly level: LogLevel; readonly format: LogFormat };
}

export interface DaemonConfigResult {
  /** Undefined when there is any error. */
  readonly config: DaemonConfig | undefined;
  readonly errors: Diagnostic[];
  readonly warnings: Diagnostic[];
}

export interface DaemonConfigOptions {
  /** Values for `${NAME}` references; the CLI passes process.env. None by default. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The text of a daemon config; `file` is used verbatim in diagnostics and locates relative paths. */
export interface DaemonConfigSource {
  readonly file: string;
  readonly text: string;
}
