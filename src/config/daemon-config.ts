/**
 * The daemon configuration (`drawbridge.yaml`) as the processes see it: load
 * it, print it without secrets, redact it in logs. See docs/daemon-config.md.
 */
export { daemonConfigOrThrow, loadDaemonConfig, parseDaemonConfig } from './daemon-load.js';
export { describeConfig, maskUrlPassword, redactPaths, REDACTED } from './daemon-describe.js';
export type { Printable } from './daemon-describe.js';
export { DaemonConfigInvalidError, DAEMON_E, DAEMON_W } from './daemon-errors.js';
export { formatHostPort } from './daemon-formats.js';
export type {
  BastionConfig,
  CommitSourceKind,
  DaemonConfig,
  DaemonConfigOptions,
  DaemonConfigResult,
  DaemonConfigSource,
  ExecutorConfig,
  HistoryConfig,
  HostPort,
  JwtConfig,
  LayoutConfig,
  LogFormat,
  LogLevel,
  RepositoryConfig,
  SchedulerConfig,
  TokenRole,
  WebConfig,
  WebToken,
  ZookeeperConfig,
} from './daemon-types.js';
