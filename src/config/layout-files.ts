/**
 * The only part of the layout loader that touches the file system: expands
 * paths into the sorted list of layout files, reads them, and hands the
 * text to the pure loader.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { toError } from '../errors.js';
import { E } from './layout-codes.js';
import { loadLayoutFromSources } from './layout-load.js';
import type { Diagnostic, LayoutSource, LoadOptions, LoadResult } from './layout-types.js';

const LAYOUT_FILE = /\.ya?ml$/;

/**
 * Loads a layout from files and directories. A directory contributes every
 * `*.yaml` / `*.yml` below it, recursively, in sorted path order (like a
 * Zuul config repository's zuul.d/). Paths are loaded in the order given.
 */
export async function loadLayout(
  paths: readonly string[],
  options: LoadOptions = {},
): Promise<LoadResult> {
  const { sources, readErrors } = await readLayoutSources(paths);
  const result = loadLayoutFromSources(sources, options);
  if (readErrors.length === 0) return result;
  return {
    layout: undefined,
    errors: [...readErrors, ...result.errors],
    warnings: result.warnings,
  };
}

/** The layout files under `paths` and their text, as `loadLayout` reads them; unreadable paths as errors. */
export async function readLayoutSources(
  paths: readonly string[],
): Promise<{ sources: LayoutSource[]; readErrors: Diagnostic[] }> {
  const readErrors: Diagnostic[] = [];
  const sources: LayoutSource[] = [];
  // A file reached twice (a directory and a file inside it) is read once:
  // a second copy would only produce duplicate-definition noise.
  const seen = new Set<string>();
  for (const path of paths) {
    try {
      for (const file of await expand(path)) {
        const key = resolve(file);
        if (seen.has(key)) continue;
        seen.add(key);
        sources.push({ file, text: await readFile(file, 'utf8') });
      }
    } catch (e) {
      readErrors.push(readError(path, e));
    }
  }
  return { sources, readErrors };
}

async function expand(path: string): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  const candidates = entries
    .filter((d) => (d.isFile() || d.isSymbolicLink()) && LAYOUT_FILE.test(d.name))
    .map((d) => ({ path: join(d.parentPath, d.name), link: d.isSymbolicLink() }));
  const files: string[] = [];
  for (const c of candidates) {
    // A symlinked layout file counts when it points at a file (stat follows links).
    if (!c.link || (await stat(c.path)).isFile()) files.push(c.path);
  }
  files.sort();
  if (files.length === 0) throw new Error(`no *.yaml or *.yml files under ${path}`);
  return files;
}

function readError(path: string, e: unknown): Diagnostic {
  // fs errors can come from another realm (jest's VM), so read `code` structurally.
  const code = typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined;
  const why =
    code === 'ENOENT'
      ? 'no such file or directory'
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'is a directory'
          : toError(e).message;
  return {
    code: E.read,
    severity: 'error',
    file: path,
    line: 0,
    message: `cannot read layout: ${why}`,
  };
}
