/**
 * The layout as the schedulers run it: the version `layout/current` names,
 * loaded from its stored sources (src/model/layout-store.ts). Parsed once
 * per version; each call costs one read of the pointer.
 */
import { loadLayoutFromSources } from '../config/index.js';
import { LayoutStore, storedLoadOptions } from '../model/layout-store.js';
import type { ZkClient, ZkPaths } from '../zk/index.js';
import type { CurrentLayout, LayoutProvider } from './routes-layout.js';

export function zkLayoutProvider(zk: ZkClient, paths: ZkPaths): LayoutProvider {
  const store = new LayoutStore(zk, paths);
  let cached: CurrentLayout | undefined;
  return async () => {
    const pointer = await store.current();
    if (pointer === null) return undefined;
    const version = pointer.value.version;
    if (cached?.version === version) return cached;
    const stored = await store.read(version);
    if (stored === null) return undefined;
    // Schedulers validated it before publishing; a failure here leaves the routes at 503.
    const { layout } = loadLayoutFromSources(stored.sources, storedLoadOptions(stored));
    if (layout === undefined) return undefined;
    cached = { layout, version };
    return cached;
  };
}
