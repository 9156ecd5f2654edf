/**
 * How one job patch lands on another. The same rules serve inheritance
 * (child over parent) and variants (later definition, or a project's
 * listing, over the job), with the two differences Zuul makes: `abstract`
 * and `final` are not inherited, but once set they stick across variants.
 */
import type { DepDef, JobPatch, Located } from './layout-job-parse.js';

export interface JobAcc {
  readonly parent: string | undefined;
  readonly description: string | undefined;
  readonly abstract: boolean;
  readonly final: boolean;
  /** `run` written on this job or its variants: wins over `vars.playbook_name`. */
  readonly ownRun: string | undefined;
  /** `run` from an ancestor: used only when there is no `playbook_name`. */
  readonly inheritedRun: string | undefined;
  readonly vars: Record<string, unknown>;
  readonly dependencies: readonly DepDef[];
  readonly files: readonly string[];
  readonly irrelevantFiles: readonly string[];
  readonly semaphores: readonly (Located<string> & { file: string })[];
  readonly timeoutMs: number | undefined;
  readonly attempts: number;
}

export const DEFAULT_ATTEMPTS = 3;

export const EMPTY_JOB: JobAcc = {
  parent: undefined,
  description: undefined,
  abstract: false,
  final: false,
  ownRun: undefined,
  inheritedRun: undefined,
  vars: {},
  dependencies: [],
  files: [],
  irrelevantFiles: [],
  semaphores: [],
  timeoutMs: undefined,
  attempts: DEFAULT_ATTEMPTS,
};

export function applyPatch(base: JobAcc, p: JobPatch, mode: 'inherit' | 'variant'): JobAcc {
  const inherit = mode === 'inherit';
  return {
    parent: inherit ? undefined : base.parent,
    description: p.description ?? base.description,
    abstract: inherit ? (p.abstract ?? false) : base.abstract || (p.abstract ?? false),
    final: inherit ? (p.final ?? false) : base.final || (p.final ?? false),
    ownRun: inherit ? p.run : (p.run ?? base.ownRun),
    inheritedRun: inherit ? (base.ownRun ?? base.inheritedRun) : base.inheritedRun,
    vars: p.vars === undefined ? base.vars : deepMerge(base.vars, p.vars),
    dependencies: p.dependencies ?? base.dependencies,
    files: p.files ?? base.files,
    irrelevantFiles: p.irrelevantFiles ?? base.irrelevantFiles,
    // Zuul extends the semaphore list instead of replacing it.
    semaphores:
      p.semaphores === undefined ? base.semaphores : addUnique(base.semaphores, p.semaphores),
    timeoutMs: p.timeoutMs ?? base.timeoutMs,
    attempts: p.attempts ?? base.attempts,
  };
}

function addUnique<T extends { value: string }>(a: readonly T[], b: readonly T[]): T[] {
  const seen = new Set(a.map((x) => x.value));
  return [...a, ...b.filter((x) => !seen.has(x.value) && (seen.add(x.value), true))];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Mappings merge key by key, recursively; anything else from `over` replaces. */
export function deepMerge(
  base: Readonly<Record<string, unknown>>,
  over: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const src of [base, over]) {
    for (const key of Object.keys(src)) {
      const prev = out[key];
      const next = src[key];
      const value =
        isPlainObject(prev) && isPlainObject(next) && Object.hasOwn(out, key)
          ? deepMerge(prev, next)
          : next;
      // defineProperty: a variable named __proto__ stays an ordinary key.
      Object.defineProperty(out, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return out;
}
