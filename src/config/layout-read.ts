/**
 * Typed reads from the positioned YAML tree. Each reader records a
 * diagnostic naming the file, line, stanza and key when the value has the
 * wrong shape, and returns undefined so the caller can carry on.
 */
import { E, W } from './layout-codes.js';
import { suggest, type Diagnostics } from './layout-diagnostics.js';
import type { YEntry, YNode } from './layout-yaml.js';

/** The stanza being read: where to report, and under which name. */
export class StanzaReader {
  constructor(
    readonly diags: Diagnostics,
    readonly file: string,
    public stanza: string,
  ) {}

  error(code: string, line: number, key: string | undefined, message: string): void {
    this.diags.error(code, { file: this.file, line, stanza: this.stanza, key }, message);
  }

  warn(code: string, line: number, key: string | undefined, message: string): void {
    this.diags.warn(code, { file: this.file, line, stanza: this.stanza, key }, message);
  }

  expected(node: YNode, key: string, what: string): undefined {
    this.error(E.type, node.line, key, `expected ${what}, got ${describe(node)}`);
    return undefined;
  }

  map(node: YNode, key: string): readonly YEntry[] | undefined {
    return node.kind === 'map' ? node.entries : this.expected(node, key, 'a mapping');
  }

  str(node: YNode, key: string): string | undefined {
    if (node.kind === 'scalar' && typeof node.value === 'string') return node.value;
    return this.expected(node, key, 'a string');
  }

  /** A description-like value: YAML may read `1.0` or `yes` as non-strings. */
  text(node: YNode, key: string): string | undefined {
    if (node.kind === 'scalar' && node.value !== null) return String(node.value);
    return this.expected(node, key, 'a string');
  }

  bool(node: YNode, key: string): boolean | undefined {
    if (node.kind === 'scalar' && typeof node.value === 'boolean') return node.value;
    return this.expected(node, key, 'true or false');
  }

  positiveInt(node: YNode, key: string, unit = ''): number | undefined {
    if (
      node.kind === 'scalar' &&
      typeof node.value === 'number' &&
      Number.isInteger(node.value) &&
      node.value > 0
    ) {
      return node.value;
    }
    return this.expected(node, key, `a positive integer${unit}`);
  }

  /** Zuul's "a string or a list of strings". Each string keeps its line. */
  strList(node: YNode, key: string): { value: string; line: number }[] | undefined {
    if (node.kind === 'scalar' && typeof node.value === 'string')
      return [{ value: node.value, line: node.line }];
    if (node.kind !== 'seq') return this.expected(node, key, 'a string or a list of strings');
    const out: { value: string; line: number }[] = [];
    for (const [i, item] of node.items.entries()) {
      const s = this.str(item, `${key}[${i}]`);
      if (s !== undefined) out.push({ value: s, line: item.line });
    }
    return out;
  }

  /**
   * Sorts keys into Drawbridge's (returned), Zuul's that Drawbridge ignores
   * (a warning each) and unknown ones (an error each, with a suggestion).
   */
  known(
    entries: readonly YEntry[],
    ours: ReadonlySet<string>,
    zuulOnly: ReadonlySet<string>,
    prefix = '',
  ): YEntry[] {
    const kept: YEntry[] = [];
    for (const e of entries) {
      if (ours.has(e.key)) kept.push(e);
      else if (zuulOnly.has(e.key)) {
        this.warn(
          W.unusedKey,
          e.line,
          prefix + e.key,
          `"${e.key}" is a Zuul attribute Drawbridge does not use; ignored`,
        );
      } else {
        const hint = suggest(e.key, [...ours, ...zuulOnly]);
        this.error(E.unknownKey, e.line, prefix + e.key, `unknown attribute "${e.key}"${hint}`);
      }
    }
    return kept;
  }
}

export function describe(node: YNode): string {
  switch (node.kind) {
    case 'map':
      return 'a mapping';
    case 'seq':
      return 'a list';
    case 'scalar':
      if (node.value === null) return 'nothing (null)';
      if (typeof node.value === 'string') return `the string "${clip(node.value)}"`;
      return `${typeof node.value} ${String(node.value)}`;
  }
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** The plain JavaScript value, for `vars`: mappings become plain objects. */
export function plain(node: YNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(plain);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const e of node.entries) {
        // defineProperty: a key named __proto__ must stay a plain key.
        Object.defineProperty(out, e.key, {
          value: plain(e.value),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
  }
}

/** The value of a single-key mapping such as `- job: {...}`. */
export function singleKey(node: YNode): YEntry | undefined {
  return node.kind === 'map' && node.entries.length === 1 ? node.entries[0] : undefined;
}
