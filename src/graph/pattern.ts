/**
 * File matchers are written as Python regexes and applied like Python's
 * `re.match`: anchored at the start of the path, free at the end. This file
 * translates the Python-only syntax into a JavaScript RegExp once per source.
 * Known gap: Python's `$` also matches before a final newline; paths have none.
 */
import { InvalidPatternError } from './errors.js';

const cache = new Map<string, RegExp>();
// Patterns come from the layout, so the cache stays small; the cap only
// guards a daemon that reloads many different layouts over months.
const CACHE_LIMIT = 10_000;

/** Compiles a Python-style file regex, anchored at the start; cached by source. */
export function compilePattern(source: string): RegExp {
  const hit = cache.get(source);
  if (hit !== undefined) return hit;
  const { body, flags } = translate(source);
  const start = flags.includes('m') ? '(?<![\\s\\S])' : '^';
  let re: RegExp;
  try {
    re = new RegExp(`${start}(?:${body})`, flags);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new InvalidPatternError(source, message.replace(/^Invalid regular expression: /, ''));
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(source, re);
  return re;
}

/** True when `path` matches `source` from its first character (Python `re.match`). */
export function matchesPath(source: string, path: string): boolean {
  return compilePattern(source).test(path);
}

interface Translated {
  readonly body: string;
  readonly flags: string;
}

/** Python flag letters and their JavaScript equivalent ('' = nothing to add). */
const FLAG_MAP: Readonly<Record<string, string | undefined>> = {
  i: 'i',
  m: 'm',
  s: 's',
  u: '', // str patterns are Unicode in Python 3 already
  a: '', // ASCII classes: JavaScript's \w, \d and \b are ASCII already
};

const SIMPLE_ESCAPES = new Set(['b', 'd', 'D', 's', 'S', 'w', 'W', 'f', 'n', 'r', 't', 'v']);

function translate(source: string): Translated {
  const fail = (reason: string): never => {
    throw new InvalidPatternError(source, reason);
  };
  const { flags, rest } = leadingFlags(source, fail);
  const multiline = flags.includes('m');
  const scanner = new Scanner(source, rest, multiline, fail);
  return { body: scanner.run(), flags };
}

/** Global inline flags such as `(?i)` are only legal at the very start (Python 3.11+). */
function leadingFlags(
  source: string,
  fail: (reason: string) => never,
): { flags: string; rest: number } {
  let flags = '';
  let i = 0;
  for (;;) {
    const m = /^\(\?([a-zA-Z]+)\)/.exec(source.slice(i));
    if (m === null) return { flags, rest: i };
    for (const letter of m[1] ?? '') {
      const js = FLAG_MAP[letter];
      if (js === undefined) fail(unsupportedFlag(letter));
      else if (!flags.includes(js)) flags += js;
    }
    i += m[0].length;
  }
}

function unsupportedFlag(letter: string): string {
  if (letter === 'x') return 'the verbose flag (?x) is not supported';
  if (letter === 'L') return 'the locale flag (?L) applies to bytes patterns only';
  return `unknown inline flag "${letter}"`;
}

/** One left-to-right pass; tracks whether we are inside a character class. */
class Scanner {
  private out = '';
  private i: number;
  private inClass = false;
  private readonly groupNames = new Set<string>();

  constructor(
    private readonly src: string,
    start: number,
    private readonly multiline: boolean,
    private readonly fail: (reason: string) => never,
  ) {
    this.i = start;
  }

  run(): string {
    while (this.i < this.src.length) {
      const c = this.src[this.i] as string;
      if (c === '\\') this.escape();
      else if (this.inClass) this.classChar(c);
      else if (c === '[') this.openClass();
      else if (c === '(') this.group();
      else if (c === '{') this.brace();
      else {
        this.out += c;
        this.i += 1;
      }
    }
    if (this.inClass) this.fail('unterminated character set');
    return this.out;
  }

  private classChar(c: string): void {
    if (c === ']') this.inClass = false;
    this.out += c;
    this.i += 1;
  }

  private openClass(): void {
    this.inClass = true;
    this.out += '[';
    this.i += 1;
    if (this.src[this.i] === '^') {
      this.out += '^';
      this.i += 1;
    }
    // Python reads a `]` right after `[` or `[^` as a literal; JavaScript
    // would close an empty class there.
    if (this.src[this.i] === ']') {
      this.out += '\\]';
      this.i += 1;
    }
  }

  private escape(): void {
    const c = this.src[this.i + 1];
    const ch = c ?? this.fail('trailing backslash');
    this.i += 2;
    if (ch === 'A' || ch === 'Z' || ch === 'z') return this.anchor(ch);
    if (ch === 'a') return this.emit('\\x07');
    if (ch === 'B' && this.inClass) this.fail('bad escape \\B inside a character set');
    if (ch === 'B' || SIMPLE_ESCAPES.has(ch) || /[0-9]/.test(ch)) return this.emit(`\\${ch}`);
    if (ch === 'x') return this.hexEscape(2, 'x');
    if (ch === 'u') return this.hexEscape(4, 'u');
    if (ch === 'U') return this.longUnicode();
    if (ch === 'N') this.fail('named Unicode escapes \\N{...} are not supported');
    if (/[A-Za-z]/.test(ch)) this.fail(`bad escape \\${ch}`);
    this.emit(`\\${ch}`);
  }

  private anchor(ch: string): void {
    if (this.inClass) this.fail(`bad escape \\${ch} inside a character set`);
    // Without the m flag, ^ and $ already mean start and end of the input.
    if (ch === 'A') this.emit(this.multiline ? '(?<![\\s\\S])' : '^');
    else this.emit(this.multiline ? '(?![\\s\\S])' : '$');
  }

  private hexEscape(width: number, letter: string): void {
    const digits = this.src.slice(this.i, this.i + width);
    if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(digits)) {
      this.fail(`incomplete escape \\${letter}${digits}`);
    }
    this.i += width;
    this.emit(`\\${letter}${digits}`);
  }

  private longUnicode(): void {
    const digits = this.src.slice(this.i, this.i + 8);
    if (!/^[0-9a-fA-F]{8}$/.test(digits)) this.fail(`incomplete escape \\U${digits}`);
    this.i += 8;
    const cp = parseInt(digits, 16);
    if (cp > 0x10ffff) this.fail(`bad escape \\U${digits}`);
    if (cp <= 0xffff) return this.emit(`\\u${digits.slice(4)}`);
    if (this.inClass) this.fail('code points above U+FFFF are not supported in a character set');
    const pair = String.fromCodePoint(cp);
    const hex = (n: number): string => n.toString(16).padStart(4, '0');
    this.emit(`(?:\\u${hex(pair.charCodeAt(0))}\\u${hex(pair.charCodeAt(1))})`);
  }

  private group(): void {
    const rest = this.src.slice(this.i);
    if (!rest.startsWith('(?')) return this.emit('(', 1);
    const named = /^\(\?P<([^>]*)>/.exec(rest);
    if (named !== null) {
      this.groupNames.add(named[1] ?? '');
      return this.emit(`(?<${named[1]}>`, named[0].length);
    }
    const backref = /^\(\?P=([^)]*)\)/.exec(rest);
    if (backref !== null) return this.backReference(backref[1] ?? '', backref[0].length);
    if (rest.startsWith('(?#')) return this.comment();
    const plain = /^\(\?(?::|=|!|<=|<!)/.exec(rest);
    if (plain !== null) return this.emit(plain[0], plain[0].length);
    this.fail(unsupportedGroup(rest));
  }

  /** JavaScript would read `\\k<x>` literally when no group is named; Python refuses. */
  private backReference(name: string, length: number): void {
    if (!this.groupNames.has(name)) this.fail(`unknown group name "${name}"`);
    this.emit(`\\k<${name}>`, length);
  }

  private comment(): void {
    const end = this.src.indexOf(')', this.i);
    if (end < 0) this.fail('missing ), unterminated comment');
    this.i = end + 1;
  }

  /** Python reads `{,n}` as `{0,n}`; JavaScript would take it literally. */
  private brace(): void {
    const m = /^\{,(\d+)\}/.exec(this.src.slice(this.i));
    if (m !== null) this.emit(`{0,${m[1]}}`, m[0].length);
    else this.emit('{', 1);
  }

  private emit(text: string, advance = 0): void {
    this.out += text;
    this.i += advance;
  }
}

function unsupportedGroup(rest: string): string {
  if (rest.startsWith('(?P')) return 'unknown extension (?P';
  if (/^\(\?[a-zA-Z]+\)/.test(rest)) return 'inline flags are only allowed at the start';
  if (/^\(\?[a-zA-Z-]+:/.test(rest)) return 'scoped inline flags (?flags:...) are not supported';
  if (rest.startsWith('(?(')) return 'conditional groups (?(id)yes|no) are not supported';
  if (rest.startsWith('(?>')) return 'atomic groups (?>...) are not supported';
  if (rest.startsWith('(?<')) return 'named groups are written (?P<name>...)';
  return `unknown extension ${rest.slice(0, 3)}`;
}
