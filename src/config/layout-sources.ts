/**
 * Where a daemon's job layout comes from: the files under `layout.paths`, or
 * (with `layout.fromRepository`) those paths in a shallow clone of the
 * deployed branch's head. Returns the files' text unparsed, so the same
 * sources can be validated here, stored in ZooKeeper and loaded again by
 * every scheduler. The version names the content: the commit sha, or
 * `files-<hash>` for local files.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { execa } from 'execa';
import { DrawbridgeError, toError } from '../errors.js';
import type { DaemonConfig } from './daemon-config.js';
import { maskUrlPassword } from './daemon-describe.js';
import { readLayoutSources } from './layout-files.js';
import type { Diagnostic, LayoutSource, LoadOptions } from './layout-types.js';

export interface CollectedLayout {
  readonly sources: readonly LayoutSource[];
  /** Files that could not be read, as loader diagnostics (line 0). */
  readonly readErrors: readonly Diagnostic[];
  /** `files-<16 hex>` of the content, or the commit sha it was read from. */
  readonly version: string;
  /** The commit the files were read from; null for local files. */
  readonly commit: string | null;
  readonly loadOptions: LoadOptions;
}

/** The deployed branch could not be cloned to read the layout from it. */
export class LayoutSourceError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_CONFIG_LAYOUT_SOURCE';
  constructor(
    readonly url: string,
    readonly branch: string,
    readonly reason: string,
  ) {
    super(`${url}: cannot clone branch ${branch} for the layout: ${reason}`);
  }
}

export type LayoutSettings = Pick<DaemonConfig, 'layout' | 'repository' | 'state'>;

export function layoutLoadOptions(config: LayoutSettings): LoadOptions {
  return {
    playbookDir: config.layout.playbookDir,
    ...(config.layout.project === undefined ? {} : { projectName: config.layout.project }),
  };
}

/** Reads the layout's files as the config says; throws LayoutSourceError when a clone fails. */
export async function collectLayoutSources(config: LayoutSettings): Promise<CollectedLayout> {
  const loadOptions = layoutLoadOptions(config);
  if (!config.layout.fromRepository) {
    const { sources, readErrors } = await readLayoutSources(config.layout.paths);
    const version = filesVersion(sources, loadOptions);
    return { sources, readErrors, version, commit: null, loadOptions };
  }
  await mkdir(config.state.dir, { recursive: true });
  const dir = await mkdtemp(join(config.state.dir, 'layout-'));
  try {
    const { url, branch } = config.repository;
    const commit = await cloneHead(url, branch, dir);
    const read = await readLayoutSources(config.layout.paths.map((p) => join(dir, p)));
    // Named as in the repository, so diagnostics and stored copies never show the temporary clone.
    const inRepo = (file: string): string => relative(dir, file).split(sep).join('/');
    return {
      sources: read.sources.map((s) => ({ file: inRepo(s.file), text: s.text })),
      readErrors: read.readErrors.map((d) => ({ ...d, file: inRepo(d.file) })),
      // The same commit read with other paths or options is another layout.
      version: `${commit}-${optionsHash({ paths: config.layout.paths, ...loadOptions })}`,
      commit,
      loadOptions,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A short content hash over every file name and text, independent of load
 * order, and over the load options: the same files loaded with another
 * playbook directory or project are another layout.
 */
export function filesVersion(sources: readonly LayoutSource[], options: LoadOptions = {}): string {
  const hash = createHash('sha256');
  const sorted = [...sources].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  for (const s of sorted) hash.update(s.file).update('\0').update(s.text).update('\0');
  hash.update(canonical(options));
  return `files-${hash.digest('hex').slice(0, 16)}`;
}

function optionsHash(value: object): string {
  return createHash('sha256').update(canonical(value)).digest('hex').slice(0, 8);
}

/** JSON with sorted keys, so equal options always hash the same. */
function canonical(value: object): string {
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify(entries);
}

async function cloneHead(url: string, branch: string, dir: string): Promise<string> {
  try {
    await execa('git', ['clone', '--quiet', '--depth', '1', '--branch', branch, '--', url, dir]);
    return (await execa('git', ['-C', dir, 'rev-parse', 'HEAD'])).stdout.trim();
  } catch (e) {
    const err = toError(e) as Error & { stderr?: unknown };
    const why =
      typeof err.stderr === 'string' && err.stderr.trim() ? err.stderr.trim() : err.message;
    // A URL may carry a password, and git repeats the URL in its errors.
    const masked = maskUrlPassword(url);
    throw new LayoutSourceError(masked, branch, why.split(url).join(masked));
  }
}
