/**
 * An opt-in cache of parsed layout files, keyed by their exact text. A
 * scheduler reloads the layout for every buildset while most files stay the
 * same; YAML parsing is most of a load's cost, and an unchanged text always
 * parses to the same tree. Only files that parsed cleanly are kept.
 */
import type { YNode } from './layout-yaml.js';

export class LayoutParseCache {
  private readonly trees = new Map<string, YNode>();
  private hitCount = 0;

  /** @param maxFiles how many distinct file texts to keep (least recently used go first). */
  constructor(readonly maxFiles = 512) {}

  get hits(): number {
    return this.hitCount;
  }

  get size(): number {
    return this.trees.size;
  }

  /** @internal used by the loader */
  get(text: string): YNode | undefined {
    const tree = this.trees.get(text);
    if (tree === undefined) return undefined;
    this.hitCount += 1;
    // Re-insert so Map order doubles as recency order.
    this.trees.delete(text);
    this.trees.set(text, tree);
    return tree;
  }

  /** @internal used by the loader */
  put(text: string, tree: YNode): void {
    this.trees.set(text, tree);
    if (this.trees.size > this.maxFiles) {
      const oldest = this.trees.keys().next();
      if (oldest.done !== true) this.trees.delete(oldest.value);
    }
  }
}
