/**
 * The layout every scheduler runs, kept in ZooKeeper. A version is stored
 * once, immutable, as the layout's source files (sharded when large), and
 * `layout/current` names the active one; writing that pointer is what
 * switches the schedulers, which watch it. Storing the sources rather than
 * a parsed layout lets each scheduler load them with its own loader, which
 * validates them again. See docs/zookeeper.md ("Layout").
 */
import { z } from 'zod';
import type { LayoutSource, LoadOptions } from '../config/layout-types.js';
import type { Watcher, ZkClient } from '../zk/client.js';
import { jsonCodec } from '../zk/codec.js';
import { ZkDocument, type Versioned } from '../zk/document.js';
import type { ZkPaths } from '../zk/paths.js';
import { unlessMissing } from '../zk/shard.js';

const epochMs = z.number().int().nonnegative();

export const storedLayoutSchema = z.object({
  /** `files-<hash>` or a commit sha; also the node's name. */
  version: z.string().min(1),
  /** The commit the files were read from; null for local files. */
  commit: z.string().nullable(),
  sources: z.array(z.object({ file: z.string(), text: z.string() })),
  playbookDir: z.string().optional(),
  projectName: z.string().optional(),
  storedAt: epochMs,
  /** Who stored it: `reconfigure (alice@host)`, `web (token ops)`, `scheduler <id> at start`. */
  storedBy: z.string(),
});
export type StoredLayout = z.infer<typeof storedLayoutSchema>;

export const layoutPointerSchema = z.object({
  version: z.string().min(1),
  /** The version it replaced; null for the first. */
  previous: z.string().nullable(),
  switchedAt: epochMs,
  switchedBy: z.string(),
});
export type LayoutPointer = z.infer<typeof layoutPointerSchema>;

export const storedLayoutCodec = jsonCodec((v) => storedLayoutSchema.parse(v));
export const layoutPointerCodec = jsonCodec((v) => layoutPointerSchema.parse(v));

/** Versions kept besides the current one, newest first; older ones are deleted on publish. */
export const KEEP_LAYOUT_VERSIONS = 10;

export interface PublishResult {
  readonly version: string;
  readonly previous: string | null;
  /** False when the version was already the current one (nothing switched). */
  readonly switched: boolean;
}

/** The load options a stored layout was validated with, to load it the same way. */
export function storedLoadOptions(stored: StoredLayout): LoadOptions {
  return {
    ...(stored.playbookDir === undefined ? {} : { playbookDir: stored.playbookDir }),
    ...(stored.projectName === undefined ? {} : { projectName: stored.projectName }),
  };
}

export function toStoredLayout(input: {
  version: string;
  commit: string | null;
  sources: readonly LayoutSource[];
  loadOptions: LoadOptions;
  storedBy: string;
  now: number;
}): StoredLayout {
  const { playbookDir, projectName } = input.loadOptions;
  return {
    version: input.version,
    commit: input.commit,
    sources: input.sources.map((s) => ({ file: s.file, text: s.text })),
    ...(playbookDir === undefined ? {} : { playbookDir }),
    ...(projectName === undefined ? {} : { projectName }),
    storedAt: input.now,
    storedBy: input.storedBy,
  };
}

export class LayoutStore {
  readonly #pointer: ZkDocument<LayoutPointer>;

  constructor(
    private readonly zk: ZkClient,
    private readonly paths: ZkPaths,
  ) {
    this.#pointer = new ZkDocument(zk, paths.layoutCurrent(), layoutPointerCodec);
  }

  /** The path schedulers watch. */
  get currentPath(): string {
    return this.paths.layoutCurrent();
  }

  /** The pointer to the active version, or null before any layout was stored. */
  async current(watcher?: Watcher): Promise<Versioned<LayoutPointer> | null> {
    return this.#pointer.read(watcher);
  }

  /** One stored version, or null when it does not exist (never stored, or pruned). */
  async read(version: string): Promise<StoredLayout | null> {
    return (await this.#version(version).read())?.value ?? null;
  }

  /** The stored versions, oldest first (by creation). */
  async versions(): Promise<string[]> {
    const dir = this.paths.layoutVersions();
    const names = await unlessMissing(this.zk.children(dir), [] as string[]);
    // `.shards` holds the generations of large versions; it is not a version.
    const stats = await Promise.all(
      names
        .filter((n) => !n.startsWith('.'))
        .map(async (n) => ({ n, stat: await this.zk.exists(`${dir}/${n}`) })),
    );
    return stats
      .filter((s) => s.stat !== null)
      .sort((a, b) => a.stat!.ctime - b.stat!.ctime || (a.n < b.n ? -1 : 1))
      .map((s) => s.n);
  }

  /**
   * Stores `layout` (if that version is not stored yet) and makes it current.
   * `onlyIfAbsent`: switch only when no layout is current yet (a scheduler's
   * cold start); the result then names what is current.
   */
  async publish(
    layout: StoredLayout,
    options: { onlyIfAbsent?: boolean } = {},
  ): Promise<PublishResult> {
    await this.zk.mkdirp(this.paths.layoutVersions());
    await this.#version(layout.version).createIfAbsent(layout);
    let previous: string | null = null;
    let switched = false;
    const written = await this.#pointer.update((cur) => {
      previous = cur?.version ?? null;
      switched = cur === null || (!options.onlyIfAbsent && cur.version !== layout.version);
      if (!switched && cur) return cur;
      return {
        version: layout.version,
        previous,
        switchedAt: layout.storedAt,
        switchedBy: layout.storedBy,
      };
    });
    await this.prune().catch(() => undefined);
    return { version: written.value.version, previous, switched };
  }

  /** Deletes all but the newest KEEP_LAYOUT_VERSIONS versions, never the current one. */
  async prune(keep = KEEP_LAYOUT_VERSIONS): Promise<string[]> {
    const current = (await this.current())?.value.version;
    const all = (await this.versions()).filter((v) => v !== current);
    const drop = all.slice(0, Math.max(0, all.length - keep));
    for (const v of drop) await this.#version(v).delete();
    return drop;
  }

  #version(version: string): ZkDocument<StoredLayout> {
    return new ZkDocument(this.zk, this.paths.layoutVersion(version), storedLayoutCodec);
  }
}
