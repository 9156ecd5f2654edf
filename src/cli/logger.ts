/**
 * The root logger of a daemon process. Secrets are redacted by pino itself,
 * from the paths the config module declares, wherever a config object is
 * logged under `config`; components take `logger.child({ component })`.
 */
import { pino, type Logger } from 'pino';
import { REDACTED, redactPaths, type LogFormat, type LogLevel } from '../config/daemon-config.js';
import { type LineSink, prettyDestination } from './log-pretty.js';

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
}

export function buildRootLogger(options: LoggerOptions, out: LineSink): Logger {
  const paths = redactPaths.flatMap((p) => [p, `config.${p}`]);
  const destination = options.format === 'pretty' ? prettyDestination(out) : out;
  return pino({ level: options.level, redact: { paths, censor: REDACTED } }, destination);
}
