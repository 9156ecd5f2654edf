/**
 * `drawbridge config check --config FILE`: load the daemon config as a
 * process would and print it with defaults filled in and secrets masked,
 * so an operator sees what the daemon will use. Exit 1 when it is invalid.
 */
import { stringify } from 'yaml';
import { describeConfig } from '../config/daemon-config.js';
import { type Env, loadConfigForCommand } from './daemon-config-load.js';
import { EXIT, type Io } from './io.js';

export interface ConfigCheckOptions {
  readonly config: string;
  readonly json?: boolean;
}

export async function configCheckCommand(
  options: ConfigCheckOptions,
  env: Env,
  io: Io,
): Promise<number> {
  const config = await loadConfigForCommand(options.config, env, io);
  if (config === undefined) return EXIT.invalid;
  const printable = describeConfig(config);
  io.stdout.write(
    options.json
      ? `${JSON.stringify(printable, null, 2)}\n`
      : `# ${config.file}: valid (secrets shown as ***)\n${stringify(printable)}`,
  );
  return EXIT.ok;
}
