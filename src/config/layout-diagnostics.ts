/**
 * Collects diagnostics while a layout is loaded, and formats them. The
 * loader never throws for a user mistake: it records it here and goes on,
 * so one run reports every problem.
 */
import type { Diagnostic, Severity } from './layout-types.js';

export interface Where {
  readonly file: string;
  readonly line: number;
  readonly stanza?: string | undefined;
  readonly key?: string | undefined;
}

export class Diagnostics {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];

  error(code: string, where: Where, message: string): void {
    this.errors.push(make(code, 'error', where, message));
  }

  warn(code: string, where: Where, message: string): void {
    this.warnings.push(make(code, 'warning', where, message));
  }

  /** Sorted by file then line, so output reads top to bottom. */
  sorted(): { errors: Diagnostic[]; warnings: Diagnostic[] } {
    return { errors: sortByPlace(this.errors), warnings: sortByPlace(this.warnings) };
  }
}

function make(code: string, severity: Severity, w: Where, message: string): Diagnostic {
  const d: Diagnostic = { code, severity, file: w.file, line: w.line, message };
  return {
    ...d,
    ...(w.stanza === undefined ? {} : { stanza: w.stanza }),
    ...(w.key === undefined ? {} : { key: w.key }),
  };
}

function sortByPlace(list: Diagnostic[]): Diagnostic[] {
  return list
    .map((d, i) => ({ d, i }))
    .sort((a, b) =>
      a.d.file === b.d.file ? a.d.line - b.d.line || a.i - b.i : a.d.file < b.d.file ? -1 : 1,
    )
    .map((x) => x.d);
}

/** `file:line: error: [job base] parent: message (CODE)` */
export function formatDiagnostic(d: Diagnostic): string {
  const where = [d.stanza && `[${d.stanza}]`, d.key && `${d.key}:`].filter(Boolean).join(' ');
  return `${d.file}:${d.line}: ${d.severity}: ${where ? `${where} ` : ''}${d.message} (${d.code})`;
}

/** "did you mean" help: the closest candidate within a small edit distance. */
export function suggest(word: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestDist = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    if (Math.abs(c.length - word.length) >= bestDist) continue;
    const d = distance(word, c);
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

/** Damerau-style edit distance (adjacent swaps count once), two rows. */
function distance(a: string, b: string): number {
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, prev2[j - 2]! + 1);
      }
      cur.push(v);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length]!;
}
