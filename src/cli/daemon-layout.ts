/**
 * The job layout a scheduler starts with. From local paths, its version is
 * a hash of the files; from the repository (`layout.fromRepository`), a
 * shallow clone of the branch head is read and the commit sha is the version.
 * Errors are printed as `file:line:` diagnostics, like the daemon config's.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { DaemonConfig } from '../config/daemon-config.js';
import { formatDiagnostic, loadLayout, type Layout } from '../config/index.js';
import { toError } from '../errors.js';
import { CliInputFileError } from './errors.js';
import type { Io } from './io.js';

export interface LoadedLayout {
  readonly layout: Layout;
  readonly version: string;
}

/** The layout, or undefined once its errors have been printed. */
export async function loadSchedulerLayout(
  config: DaemonConfig,
  io: Io,
): Promise<LoadedLayout | undefined> {
  if (!config.layout.fromRepository) {
    const layout = await loadPrinting(config, config.layout.paths, io);
    return layout && { layout, version: `files-${await hashFiles(config.layout.paths)}` };
  }
  await mkdir(config.state.dir, { recursive: true });
  const dir = await mkdtemp(join(config.state.dir, 'layout-'));
  try {
    const { url, branch } = config.repository;
    const sha = await cloneHead(url, branch, dir);
    const layout = await loadPrinting(
      config,
      config.layout.paths.map((p) => join(dir, p)),
      io,
    );
    return layout && { layout, version: sha };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function loadPrinting(
  config: DaemonConfig,
  paths: readonly string[],
  io: Io,
): Promise<Layout | undefined> {
  const result = await loadLayout(paths, {
    playbookDir: config.layout.playbookDir,
    ...(config.layout.project === undefined ? {} : { projectName: config.layout.project }),
  });
  for (const d of [...result.errors, ...result.warnings])
    io.stderr.write(`${formatDiagnostic(d)}\n`);
  if (result.layout === undefined)
    io.stderr.write(
      `drawbridge: layout has ${result.errors.length} error(s) (DRAWBRIDGE_ERR_CONFIG_LAYOUT_INVALID)\n`,
    );
  return result.layout;
}

async function cloneHead(url: string, branch: string, dir: string): Promise<string> {
  try {
    await execa('git', ['clone', '--quiet', '--depth', '1', '--branch', branch, '--', url, dir]);
    return (await execa('git', ['-C', dir, 'rev-parse', 'HEAD'])).stdout.trim();
  } catch (e) {
    const err = toError(e) as Error & { stderr?: unknown };
    const why =
      typeof err.stderr === 'string' && err.stderr.trim() ? err.stderr.trim() : err.message;
    throw new CliInputFileError(url, `cannot clone branch ${branch} for the layout: ${why}`);
  }
}

/** A short content hash over every layout file, in path order. */
async function hashFiles(paths: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  const files = (await Promise.all(paths.map(yamlFiles))).flat().sort();
  for (const f of files)
    hash
      .update(f)
      .update('\0')
      .update(await readFile(f))
      .update('\0');
  return hash.digest('hex').slice(0, 16);
}

async function yamlFiles(path: string): Promise<string[]> {
  const s = await stat(path).catch(() => undefined);
  if (s === undefined) return [];
  if (!s.isDirectory()) return [path];
  const names = await readdir(path);
  return names.filter((n) => /\.ya?ml$/.test(n)).map((n) => join(path, n));
}
