/**
 * Loading `drawbridge.yaml` for a command: every error and warning printed
 * as `file:line: ...` on stderr, then a one-line summary; the caller exits 1
 * when no config came back.
 */
import { formatDiagnostic } from '../config/index.js';
import {
  DaemonConfigInvalidError,
  loadDaemonConfig,
  type DaemonConfig,
} from '../config/daemon-config.js';
import type { Io } from './io.js';

export type Env = Readonly<Record<string, string | undefined>>;

export async function loadConfigForCommand(
  file: string,
  env: Env,
  io: Io,
): Promise<DaemonConfig | undefined> {
  const result = await loadDaemonConfig(file, { env });
  for (const d of [...result.errors, ...result.warnings])
    io.stderr.write(`${formatDiagnostic(d)}\n`);
  if (result.config !== undefined) return result.config;
  const err = new DaemonConfigInvalidError(file, result.errors);
  io.stderr.write(
    `drawbridge: ${file}: daemon config has ${result.errors.length} error(s) (${err.code})\n`,
  );
  return undefined;
}
