/**
 * Reconfiguration, as `drawbridge reconfigure`, SIGHUP and web's POST
 * reconfigure all do it: read the layout the daemon config names, validate
 * it with the loader, and only if it has no error store it in ZooKeeper as
 * the current layout. An invalid layout changes nothing and comes back with
 * every diagnostic (file, line, key), as `drawbridge validate` prints them.
 */
import { collectLayoutSources, type LayoutSettings } from '../config/layout-sources.js';
import { loadLayoutFromSources } from '../config/layout-load.js';
import type { Diagnostic, Layout, LoadResult } from '../config/layout-types.js';
import type { ZkClient } from '../zk/client.js';
import type { ZkPaths } from '../zk/paths.js';
import {
  LayoutStore,
  storedLoadOptions,
  toStoredLayout,
  type StoredLayout,
} from './layout-store.js';

export type ReconfigureResult =
  | {
      readonly status: 'invalid';
      readonly version: string;
      readonly errors: readonly Diagnostic[];
      readonly warnings: readonly Diagnostic[];
    }
  | {
      readonly status: 'stored';
      readonly version: string;
      /** The version that was current before; null for the first layout. */
      readonly previous: string | null;
      /** False when this version was already current. */
      readonly switched: boolean;
      readonly warnings: readonly Diagnostic[];
      readonly pipelines: readonly string[];
    };

export interface ReconfigureInput {
  readonly zk: ZkClient;
  readonly paths: ZkPaths;
  /** The daemon config's `layout`, `repository` and `state` sections. */
  readonly config: LayoutSettings;
  /** Recorded with the version: who asked (`cli alice@host`, `web token ops`). */
  readonly requestedBy: string;
  readonly now?: () => number;
}

/** Validates the configured layout and, when valid, makes it current. Throws only for I/O trouble. */
export async function reconfigureLayout(input: ReconfigureInput): Promise<ReconfigureResult> {
  const collected = await collectLayoutSources(input.config);
  const loaded = loadLayoutFromSources(collected.sources, collected.loadOptions);
  const errors = [...collected.readErrors, ...loaded.errors];
  if (errors.length > 0 || loaded.layout === undefined)
    return { status: 'invalid', version: collected.version, errors, warnings: loaded.warnings };
  const stored = toStoredLayout({
    ...collected,
    storedBy: input.requestedBy,
    now: (input.now ?? Date.now)(),
  });
  const result = await new LayoutStore(input.zk, input.paths).publish(stored);
  return {
    status: 'stored',
    version: result.version,
    previous: result.previous,
    switched: result.switched,
    warnings: loaded.warnings,
    pipelines: [...loaded.layout.pipelines.keys()],
  };
}

/** Loads a stored version the way it was validated (its own load options). */
export function loadStoredLayout(stored: StoredLayout): LoadResult {
  return loadLayoutFromSources(stored.sources, storedLoadOptions(stored));
}

/** A loaded layout and the version recorded in the buildsets created with it. */
export interface VersionedLayout {
  readonly layout: Layout;
  readonly version: string;
}

/**
 * The current stored layout, loaded; undefined before any was stored or when
 * it does not load here. For readers such as web (watch `LayoutStore.currentPath`
 * to know when to read again).
 */
export async function readCurrentLayout(
  zk: ZkClient,
  paths: ZkPaths,
): Promise<VersionedLayout | undefined> {
  const store = new LayoutStore(zk, paths);
  const pointer = await store.current();
  if (!pointer) return undefined;
  const stored = await store.read(pointer.value.version);
  const layout = stored ? loadStoredLayout(stored).layout : undefined;
  return layout && { layout, version: pointer.value.version };
}
