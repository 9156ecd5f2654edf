/**
 * Turns one layout file into a small positioned tree. Aliases are resolved
 * and `<<` merge keys applied here, so the stanza parsers see plain maps,
 * lists and scalars, each still carrying the line it was written on.
 *
 * Parsing uses js-yaml: it is an order of magnitude faster than a parser that
 * keeps a full concrete syntax tree, and reloading a 1000-job layout sits on
 * the reconfiguration path. Lines come from its open/close node events.
 */
import jsyaml from 'js-yaml';
import { E } from './layout-codes.js';
import type { Diagnostics } from './layout-diagnostics.js';
import type { LayoutSource } from './layout-types.js';

export type Scalar = string | number | boolean | null;
export interface YEntry {
  readonly key: string;
  readonly line: number;
  readonly value: YNode;
}
export type YNode =
  | { readonly kind: 'map'; readonly line: number; readonly entries: readonly YEntry[] }
  | { readonly kind: 'seq'; readonly line: number; readonly items: readonly YNode[] }
  | { readonly kind: 'scalar'; readonly line: number; readonly value: Scalar };

// Aliases share nodes, so the tree stays small, but whoever walks it visits a
// shared node once per reference ("billion laughs"). No layout needs this many.
const NODE_BUDGET = 2_000_000;

// Zuul layouts carry local tags (`!encrypted/pkcs1-oaep` on secrets,
// `!inherit`); their values are kept as written and the tag is dropped.
const anyLocalTag = (['scalar', 'sequence', 'mapping'] as const).map(
  (kind) => new jsyaml.Type('!', { kind, multi: true, construct: (data: unknown) => data }),
);
const SCHEMA = jsyaml.CORE_SCHEMA.extend(anyLocalTag);

class YamlShapeError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/** Parses one file; on malformed YAML records errors and returns undefined. */
export function parseLayoutYaml(src: LayoutSource, diags: Diagnostics): YNode | undefined {
  const builder = new TreeBuilder();
  try {
    // The core schema: no timestamps or binary, and `<<` stays a plain key so
    // the builder applies merges itself, keeping the lines of merged entries.
    jsyaml.load(src.text, {
      schema: SCHEMA,
      filename: src.file,
      listener: (event, state) => builder.on(event, state),
    });
    const root = builder.root;
    if (root !== undefined) checkBudget(root);
    return root === undefined || (root.kind === 'scalar' && root.value === null) ? undefined : root;
  } catch (e) {
    if (e instanceof jsyaml.YAMLException) {
      const line = (e.mark?.line ?? 0) + 1;
      diags.error(E.yaml, { file: src.file, line }, `malformed YAML: ${e.reason}`);
      return undefined;
    }
    if (e instanceof YamlShapeError) {
      diags.error(E.yaml, { file: src.file, line: e.line }, `malformed YAML: ${e.message}`);
      return undefined;
    }
    throw e;
  }
}

interface Frame {
  /** Where the node's content starts. */
  readonly line: number;
  /** Where the parser stood when it began looking for the node (the key's line). */
  readonly openLine: number;
  readonly children: YNode[];
}

/** The line of the first character at or after `pos` that is not blank or a comment. */
function contentLine(input: string, pos: number, line: number): number {
  let at = pos;
  let n = line;
  for (;;) {
    const c = input.charCodeAt(at);
    if (c === 0x20 || c === 0x09 || c === 0x0d) at += 1;
    else if (c === 0x0a) {
      at += 1;
      n += 1;
    } else if (c === 0x23) {
      while (at < input.length && input.charCodeAt(at) !== 0x0a) at += 1;
    } else return n;
  }
}

class TreeBuilder {
  root: YNode | undefined;
  private readonly stack: Frame[] = [];
  // Composed objects (maps, lists) to their node, so an alias reuses the node.
  private readonly byObject = new Map<object, YNode>();

  on(event: jsyaml.EventType, state: jsyaml.State): void {
    if (event === 'open') {
      const openLine = state.line + 1;
      this.stack.push({
        line: contentLine(state.input, state.position, openLine),
        openLine,
        children: [],
      });
      return;
    }
    const frame = this.stack.pop();
    if (frame === undefined) return;
    const node = this.close(frame, state.kind, state.result);
    const parent = this.stack.at(-1);
    if (parent) parent.children.push(node);
    else this.root = node;
  }

  private close(frame: Frame, kind: string | null, result: unknown): YNode {
    if (result !== null && typeof result === 'object') {
      if (kind !== 'mapping' && kind !== 'sequence') {
        // An alias. The parser anchors a collection before composing it, so an
        // alias to an ancestor arrives before that ancestor has a node.
        const known = this.byObject.get(result);
        if (known === undefined) {
          throw new YamlShapeError(frame.line, 'an alias refers to a node that contains it');
        }
        return known;
      }
      const node =
        kind === 'sequence' && Array.isArray(result)
          ? this.seq(frame, result)
          : this.map(frame, result as Record<string, unknown>);
      this.byObject.set(result, node);
      return node;
    }
    // An empty value (`key:` and nothing) belongs on its key's line.
    const line = result === null && kind === null ? frame.openLine : frame.line;
    return { kind: 'scalar', line, value: scalarValue(result) };
  }

  private seq(frame: Frame, result: readonly unknown[]): YNode {
    // An empty `-` item composes no node; then the events cannot be trusted.
    const items =
      frame.children.length === result.length
        ? frame.children
        : result.map((v) => this.fromValue(v, frame.line));
    return { kind: 'seq', line: frame.line, items };
  }

  private map(frame: Frame, result: Record<string, unknown>): YNode {
    const pairs = pairsFromEvents(frame.children, result);
    const entries =
      pairs ??
      Object.entries(result).map(([key, v]) => ({
        key,
        line: frame.line,
        value: this.fromValue(v, frame.line),
      }));
    return { kind: 'map', line: frame.line, entries: applyMerges(entries) };
  }

  /** A composed value with no events of its own gets its parent's line. */
  private fromValue(value: unknown, line: number): YNode {
    if (value !== null && typeof value === 'object') {
      const known = this.byObject.get(value);
      if (known !== undefined) return known;
      if (Array.isArray(value))
        return { kind: 'seq', line, items: value.map((v) => this.fromValue(v, line)) };
      const entries = Object.entries(value as Record<string, unknown>).map(([key, v]) => ({
        key,
        line,
        value: this.fromValue(v, line),
      }));
      return { kind: 'map', line, entries: applyMerges(entries) };
    }
    return { kind: 'scalar', line, value: scalarValue(value) };
  }
}

/**
 * Block mappings compose key, value, key, value... Explicit `?` keys and some
 * flow forms skip a node; then the pairing disagrees with the composed keys
 * and the caller falls back to the mapping's own line.
 */
function pairsFromEvents(
  children: readonly YNode[],
  result: Record<string, unknown>,
): YEntry[] | undefined {
  const keys = Object.keys(result);
  if (children.length !== 2 * keys.length) return undefined;
  const entries: YEntry[] = [];
  for (let i = 0; i < children.length; i += 2) {
    const keyNode = children[i] as YNode;
    if (keyNode.kind !== 'scalar' || keyNode.value === null) {
      throw new YamlShapeError(keyNode.line, 'mapping keys must be plain strings');
    }
    entries.push({
      key: String(keyNode.value),
      line: keyNode.line,
      value: children[i + 1] as YNode,
    });
  }
  const named = new Set(entries.map((e) => e.key));
  return named.size === keys.length && keys.every((k) => named.has(k)) ? entries : undefined;
}

/** `<<: *base` or `<<: [*a, *b]`: the mapping's own keys win, then the first source. */
function applyMerges(entries: readonly YEntry[]): YEntry[] {
  if (!entries.some((e) => e.key === '<<')) return [...entries];
  const own = entries.filter((e) => e.key !== '<<');
  const seen = new Set(own.map((e) => e.key));
  for (const merge of entries.filter((e) => e.key === '<<')) {
    for (const e of mergeSource(merge.value, merge.line)) {
      if (!seen.has(e.key)) {
        seen.add(e.key);
        own.push(e);
      }
    }
  }
  return own;
}

function mergeSource(value: YNode, line: number): readonly YEntry[] {
  if (value.kind === 'map') return value.entries;
  if (value.kind === 'seq' && value.items.every((i) => i.kind === 'map')) {
    return value.items.flatMap((i) => (i.kind === 'map' ? i.entries : []));
  }
  throw new YamlShapeError(line, 'a << merge key needs a mapping or a list of mappings');
}

/** Counts nodes as a walker would see them (aliases expanded), memoised per shared node. */
function checkBudget(root: YNode): void {
  const size = new Map<YNode, number>();
  const visit = (n: YNode): number => {
    const known = size.get(n);
    if (known !== undefined) return known;
    let total = 1;
    if (n.kind === 'map') for (const e of n.entries) total += visit(e.value);
    if (n.kind === 'seq') for (const i of n.items) total += visit(i);
    if (total > NODE_BUDGET)
      throw new YamlShapeError(n.line, 'too many nodes after expanding aliases');
    size.set(n, total);
    return total;
  };
  visit(root);
}

function scalarValue(v: unknown): Scalar {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  return JSON.stringify(v) ?? null;
}
