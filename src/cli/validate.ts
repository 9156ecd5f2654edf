import { formatDiagnostic, loadLayout } from '../config/index.js';
import type { Diagnostic } from '../config/index.js';
import { EXIT, type Io } from './io.js';

export interface ValidateOptions {
  readonly json?: boolean;
  readonly playbookDir?: string;
  readonly project?: string;
}

const asJson = (d: Diagnostic) => ({
  file: d.file,
  line: d.line,
  code: d.code,
  ...(d.stanza === undefined ? {} : { stanza: d.stanza }),
  ...(d.key === undefined ? {} : { key: d.key }),
  message: d.message,
});

/** `drawbridge validate PATH...`: 0 when the layout is valid, 1 when not. */
export async function validateCommand(
  paths: readonly string[],
  options: ValidateOptions,
  io: Io,
): Promise<number> {
  const result = await loadLayout(paths, {
    ...(options.playbookDir === undefined ? {} : { playbookDir: options.playbookDir }),
    ...(options.project === undefined ? {} : { projectName: options.project }),
  });
  if (options.json) {
    const body = { errors: result.errors.map(asJson), warnings: result.warnings.map(asJson) };
    io.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  } else {
    for (const d of [...result.errors, ...result.warnings])
      io.stderr.write(`${formatDiagnostic(d)}\n`);
    if (result.layout) {
      const { pipelines, jobs } = result.layout;
      io.stdout.write(
        `layout valid: ${jobs.size} jobs, ${pipelines.size} pipelines` +
          (result.warnings.length ? `, ${result.warnings.length} warnings` : '') +
          '\n',
      );
    } else {
      io.stderr.write(`layout invalid: ${result.errors.length} errors\n`);
    }
  }
  return result.errors.length === 0 ? EXIT.ok : EXIT.invalid;
}
