/**
 * The job layout a scheduler starts with. From local paths, its version is
 * a hash of the files; from the repository (`layout.fromRepository`), a
 * shallow clone of the branch head is read and the commit sha is the version
 * (src/config/layout-sources.ts). Errors are printed as `file:line:`
 * diagnostics, like the daemon config's.
 */
import { hostname } from 'node:os';
import type { DaemonConfig } from '../config/daemon-config.js';
import { formatDiagnostic, loadLayoutFromSources, type Layout } from '../config/index.js';
import { collectLayoutSources } from '../config/layout-sources.js';
import { toStoredLayout, type StoredLayout } from '../model/layout-store.js';
import type { Io } from './io.js';

export interface LoadedLayout {
  readonly layout: Layout;
  readonly version: string;
  /** The same layout as ZooKeeper stores it (published when this scheduler starts first). */
  readonly stored: StoredLayout;
}

/** The layout, or undefined once its errors have been printed. */
export async function loadSchedulerLayout(
  config: DaemonConfig,
  io: Io,
): Promise<LoadedLayout | undefined> {
  const collected = await collectLayoutSources(config);
  const result = loadLayoutFromSources(collected.sources, collected.loadOptions);
  const errors = [...collected.readErrors, ...result.errors];
  for (const d of [...errors, ...result.warnings]) io.stderr.write(`${formatDiagnostic(d)}\n`);
  if (errors.length > 0 || result.layout === undefined) {
    io.stderr.write(
      `drawbridge: layout has ${errors.length} error(s) (DRAWBRIDGE_ERR_CONFIG_LAYOUT_INVALID)\n`,
    );
    return undefined;
  }
  const stored = toStoredLayout({
    ...collected,
    storedBy: `scheduler at start (${hostname()} pid ${process.pid})`,
    now: Date.now(),
  });
  return { layout: result.layout, version: collected.version, stored };
}
