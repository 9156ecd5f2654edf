/**
 * The keys of one mapping (a section, `zookeeper.auth`, one web token) with
 * typed getters that apply defaults. A getter that finds a bad value reports
 * it and returns the default, so a section always yields a complete object;
 * the loader discards it when anything was reported.
 */
import { DAEMON_E } from './daemon-errors.js';
import type { Checked } from './daemon-formats.js';
import type { DaemonReader, Text } from './daemon-read.js';
import { E } from './layout-codes.js';
import type { YEntry, YNode } from './layout-yaml.js';

export interface Item {
  readonly node: YNode;
  readonly key: string;
}

const NUMBER = /^-?\d+(?:\.\d+)?$/;

export class Fields {
  private readonly byKey: ReadonlyMap<string, YEntry>;

  /**
   * @param line where a missing key is reported: the line of the mapping's own key
   * @param quiet the whole mapping is missing and was reported once; say nothing more
   */
  constructor(
    readonly r: DaemonReader,
    readonly prefix: string,
    readonly line: number,
    entries: readonly YEntry[],
    known: readonly string[],
    private readonly quiet = false,
  ) {
    this.byKey = new Map(r.known(entries, prefix, known).map((e) => [e.key, e]));
  }

  key(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  /** The value, or undefined when the key is absent or written empty (`key:` / `~`). */
  node(name: string): YNode | undefined {
    const v = this.byKey.get(name)?.value;
    return v === undefined || (v.kind === 'scalar' && v.value === null) ? undefined : v;
  }

  /** The line of the key, or of the mapping when the key is not written. */
  lineOf(name: string): number {
    return this.byKey.get(name)?.line ?? this.line;
  }

  has(name: string): boolean {
    return this.node(name) !== undefined;
  }

  missing(name: string, what: string): undefined {
    if (!this.quiet) this.r.error(E.missing, this.line, this.key(name), `required: ${what}`);
    return undefined;
  }

  /**
   * The value as text; undefined when absent, bad, or empty after substitution:
   * `${VAR:-}` that comes out empty means "not set", so an option can be left
   * to the environment.
   */
  text(name: string, what: string, secret = false): Text | undefined {
    const n = this.node(name);
    const t = n === undefined ? undefined : this.r.text(n, this.key(name), what, secret);
    return t?.fromEnv === true && t.value === '' ? undefined : t;
  }

  requiredText(name: string, what: string, secret = false): Text | undefined {
    if (!this.has(name)) return this.missing(name, what);
    const t = this.text(name, what, secret);
    if (t === undefined && this.r.clean(this.key(name))) {
      this.r.error(
        E.missing,
        this.lineOf(name),
        this.key(name),
        `required: ${what} (empty after \${} substitution)`,
      );
    }
    return t;
  }

  /** An optional string passed through a shape check; undefined when absent or bad. */
  checked<T>(name: string, what: string, check: (s: string) => Checked<T>): T | undefined {
    const t = this.text(name, what);
    return t === undefined ? undefined : this.r.check(t, check(t.value));
  }

  requiredChecked<T>(name: string, what: string, check: (s: string) => Checked<T>): T | undefined {
    const t = this.requiredText(name, what);
    return t === undefined ? undefined : this.r.check(t, check(t.value));
  }

  bool(name: string, fallback: boolean): boolean {
    const n = this.node(name);
    if (n === undefined) return fallback;
    if (n.kind === 'scalar' && typeof n.value === 'boolean') return n.value;
    if (hasReference(n)) {
      const t = this.r.text(n, this.key(name), 'true or false');
      if (t === undefined || t.value === '') return fallback;
      if (t.value === 'true' || t.value === 'false') return t.value === 'true';
      this.r.error(
        E.type,
        n.line,
        t.key,
        `expected true or false, got "${t.value}" (after \${} substitution)`,
      );
      return fallback;
    }
    this.r.expected(n, this.key(name), 'true or false');
    return fallback;
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const what = values.map((v) => `"${v}"`).join(', ');
    const t = this.text(name, `one of ${what}`);
    if (t === undefined) return fallback;
    if ((values as readonly string[]).includes(t.value)) return t.value as T;
    this.r.error(E.type, t.line, t.key, `expected one of ${what}, got "${t.value}"`);
    return fallback;
  }

  /** An integer from min to max. */
  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.number(name, 'an integer');
    if (v === undefined) return fallback;
    if (Number.isInteger(v.value) && v.value >= min && v.value <= max) return v.value;
    this.range(v.line, name, `an integer from ${min} to ${max}`, v.value);
    return fallback;
  }

  /**
   * A duration written in seconds (fractions allowed), returned in milliseconds.
   * `zero` says whether 0 is allowed (it usually means "off").
   */
  seconds(name: string, fallbackSeconds: number, zero: boolean, maxSeconds = 86_400): number {
    const v = this.number(name, 'a number of seconds');
    if (v === undefined) return fallbackSeconds * 1000;
    const low = zero ? v.value >= 0 : v.value > 0;
    if (low && v.value <= maxSeconds) return Math.round(v.value * 1000);
    const lowText = zero ? 'from 0' : 'above 0';
    this.range(v.line, name, `a number of seconds ${lowText} to ${maxSeconds}`, v.value);
    return fallbackSeconds * 1000;
  }

  /** A nested mapping, or undefined when the key is absent. */
  sub(name: string, known: readonly string[]): Fields | undefined {
    const e = this.byKey.get(name);
    if (e === undefined || this.node(name) === undefined) return undefined;
    const entries = this.r.entries(e.value, this.key(name));
    return entries === undefined
      ? undefined
      : new Fields(this.r, this.key(name), e.line, entries, known);
  }

  /** The items of a list, each with its `key[i]`; a scalar where a list belongs is an error. */
  list(name: string, what: string): Item[] | undefined {
    const n = this.node(name);
    if (n === undefined) return undefined;
    if (n.kind !== 'seq') return this.r.expected(n, this.key(name), what);
    return n.items.map((node, i) => ({ node, key: `${this.key(name)}[${i}]` }));
  }

  /** A number, or a string that became one through `${NAME}` substitution. */
  private number(name: string, what: string): { value: number; line: number } | undefined {
    const n = this.node(name);
    if (n === undefined) return undefined;
    if (n.kind === 'scalar' && typeof n.value === 'number' && Number.isFinite(n.value)) {
      return { value: n.value, line: n.line };
    }
    if (!hasReference(n)) return this.r.expected(n, this.key(name), what);
    const t = this.r.text(n, this.key(name), what);
    if (t === undefined || t.value === '') return undefined;
    if (NUMBER.test(t.value)) return { value: Number(t.value), line: n.line };
    this.r.error(
      E.type,
      n.line,
      t.key,
      `expected ${what}, got "${t.value}" (after \${} substitution)`,
    );
    return undefined;
  }

  private range(line: number, name: string, what: string, got: number): void {
    this.r.error(DAEMON_E.range, line, this.key(name), `expected ${what}, got ${got}`);
  }
}

/** Numbers and booleans may come from the environment, where everything is a string. */
function hasReference(n: YNode): boolean {
  return n.kind === 'scalar' && typeof n.value === 'string' && n.value.includes('${');
}
