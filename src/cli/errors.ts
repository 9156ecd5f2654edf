import { DrawbridgeError } from '../errors.js';

/** A command-line flag or argument is missing or malformed. */
export class CliUsageError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_CLI_USAGE';
  constructor(
    message: string,
    readonly option?: string,
  ) {
    super(message);
  }
}

/** A file named on the command line (e.g. --durations) cannot be read or parsed. */
export class CliInputFileError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_CLI_INPUT_FILE';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

/** A daemon could not reach a service it needs at startup (ZooKeeper). */
export class CliConnectError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_CLI_CONNECT';
  constructor(
    readonly service: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(`cannot connect to ${service} at ${address}: ${reason}`);
  }
}

/** A `--timeout` flag's seconds, > 0; anything else is a usage error naming the flag. */
export function timeoutSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new CliUsageError(`--timeout: expected seconds > 0, got "${value}"`, '--timeout');
  return seconds;
}
