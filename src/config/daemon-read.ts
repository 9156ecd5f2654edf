/**
 * Typed reads of one mapping of the daemon config. Every reader interpolates
 * `${NAME}`, records a diagnostic naming the dotted key and what was expected,
 * and falls back to the default so the rest of the file is still checked.
 */
import { DAEMON_E, DAEMON_W } from './daemon-errors.js';
import { interpolate, type Env } from './daemon-env.js';
import { DAEMON_KEYS } from './daemon-keys.js';
import type { Checked } from './daemon-formats.js';
import { E } from './layout-codes.js';
import { suggest, type Diagnostics } from './layout-diagnostics.js';
import { describe } from './layout-read.js';
import type { YEntry, YNode } from './layout-yaml.js';

/** One value as text after interpolation, with where it was written. */
export interface Text {
  readonly value: string;
  readonly line: number;
  readonly key: string;
  readonly fromEnv: boolean;
}

export class DaemonReader {
  /** Keys that had an error: cross-field rules skip them instead of piling on. */
  private readonly failed = new Set<string>();

  constructor(
    readonly diags: Diagnostics,
    readonly file: string,
    readonly env: Env,
  ) {}

  error(code: string, line: number, key: string, message: string): void {
    this.failed.add(key);
    this.diags.error(code, { file: this.file, line, key: key || undefined }, message);
  }

  warn(code: string, line: number, key: string, message: string): void {
    this.diags.warn(code, { file: this.file, line, key: key || undefined }, message);
  }

  /** True when none of these keys, nor anything under them, had an error. */
  clean(...keys: string[]): boolean {
    return ![...this.failed].some((f) =>
      keys.some((k) => f === k || f.startsWith(`${k}.`) || f.startsWith(`${k}[`)),
    );
  }

  expected(node: YNode, key: string, what: string, secret = false): undefined {
    const got = secret && node.kind === 'scalar' ? typeName(node) : describe(node);
    this.error(E.type, node.line, key, `expected ${what}, got ${got}`);
    return undefined;
  }

  /** A string scalar after interpolation; numbers are not strings here. */
  text(node: YNode, key: string, what: string, secret = false): Text | undefined {
    if (node.kind !== 'scalar' || typeof node.value !== 'string') {
      return this.expected(node, key, what, secret);
    }
    const r = interpolate(node.value, this.env);
    if (!r.ok) {
      for (const p of r.problems) this.error(DAEMON_E.env, node.line, key, p);
      return undefined;
    }
    if (secret && !r.referencesEnv && r.value !== '') {
      this.warn(
        DAEMON_W.literalSecret,
        node.line,
        key,
        'a secret is written in the file; take it from the environment with ${NAME}',
      );
    }
    return { value: r.value, line: node.line, key, fromEnv: r.referencesEnv };
  }

  /** A shape check on a string: reports what was expected, without echoing secrets. */
  check<T>(t: Text, result: Checked<T>, secret = false): T | undefined {
    if (result.ok) return result.value;
    const got = secret
      ? ''
      : `, got "${clip(t.value)}"${t.fromEnv ? ' (after ${} substitution)' : ''}`;
    this.error(DAEMON_E.format, t.line, t.key, `expected ${result.expected}${got}`);
    return undefined;
  }

  /** The entries of a mapping; `key:` with nothing is an empty mapping. */
  entries(node: YNode, key: string): readonly YEntry[] | undefined {
    if (node.kind === 'map') return node.entries;
    if (node.kind === 'scalar' && node.value === null) return [];
    return this.expected(node, key, 'a mapping');
  }

  /** Reports keys outside `known`, each with a suggestion, and returns the rest. */
  known(entries: readonly YEntry[], prefix: string, known: readonly string[]): YEntry[] {
    const kept: YEntry[] = [];
    for (const e of entries) {
      if (known.includes(e.key)) {
        kept.push(e);
        continue;
      }
      const key = prefix ? `${prefix}.${e.key}` : e.key;
      const hint = spelling(e.key, known) ?? elsewhere(e.key, prefix) ?? suggest(e.key, known);
      this.error(E.unknownKey, e.line, key, `unknown key "${e.key}"${hint}`);
    }
    return kept;
  }
}

/** `session_timeout`, `SessionTimeout` and `session-timeout` all mean `sessionTimeout`. */
function spelling(word: string, known: readonly string[]): string | undefined {
  const fold = (s: string): string => s.replace(/[-_]/g, '').toLowerCase();
  const match = known.find((k) => fold(k) === fold(word));
  return match === undefined ? undefined : ` (did you mean "${match}"?)`;
}

/** A key written in the wrong section (`executor.sessionLimit`, or `slots` at the top). */
function elsewhere(word: string, prefix: string): string | undefined {
  for (const [section, keys] of Object.entries(DAEMON_KEYS)) {
    if (section === '' || section === prefix || section.includes('[]')) continue;
    const match = spelling(word, keys);
    if (match !== undefined) return match.replace('"', `"${section}.`);
  }
  return undefined;
}

function typeName(node: YNode & { kind: 'scalar' }): string {
  return node.value === null ? 'nothing (null)' : `a ${typeof node.value}`;
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
