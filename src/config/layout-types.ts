/**
 * The public shape of a loaded layout. Everything here is produced by the
 * loader once, frozen, and handed to the rest of the program read-only.
 */
import type { GraphJob, JobDependency } from '../graph/types.js';
import type { LayoutParseCache } from './layout-cache.js';

/** Where a definition came from: the file (as given to the loader) and a 1-based line. */
export interface SourceRef {
  readonly file: string;
  readonly line: number;
}

export type Severity = 'error' | 'warning';

/** One finding of the loader. Errors stop the load; warnings never do. */
export interface Diagnostic {
  /** Stable: error codes are listed in docs/errors.md, warning codes in docs/configuration.md. */
  readonly code: string;
  readonly severity: Severity;
  readonly file: string;
  readonly line: number;
  /** The stanza the finding belongs to, as `<type> <name>`, e.g. `job infra-prod-base`. */
  readonly stanza?: string;
  /** The attribute, as a dotted path inside the stanza, e.g. `trigger.timer[0].time`. */
  readonly key?: string;
  readonly message: string;
}

export type PipelineManager = 'serial' | 'supercedent' | 'independent';
export type Precedence = 'high' | 'normal' | 'low';

/**
 * What starts a buildset. `time` is the cron expression exactly as written
 * (already validated); the scheduler parses it again to get a schedule.
 */
export type Trigger =
  | { readonly kind: 'timer'; readonly time: string; readonly source: SourceRef }
  | {
      readonly kind: 'ref-updated';
      /** `git` for Drawbridge's own trigger, else the Zuul connection name it came from. */
      readonly connection: string;
      /** The event as written (`ref-updated`, `change-merged`, `push`). */
      readonly event: string;
      /** Python-style regexes over the full ref (`refs/heads/main`); empty means any ref. */
      readonly refs: readonly string[];
      /** Python-style regexes over the branch name (from Zuul `branch:` filters). */
      readonly branches: readonly string[];
      readonly source: SourceRef;
    }
  | { readonly kind: 'manual'; readonly source: SourceRef };

export interface Pipeline {
  readonly name: string;
  readonly manager: PipelineManager;
  readonly precedence: Precedence;
  readonly description: string | undefined;
  readonly triggers: readonly Trigger[];
  /**
   * Held by each buildset of the pipeline from before its checkout until it
   * ends (a Drawbridge extension; Zuul has job semaphores only).
   */
  readonly semaphores: readonly string[];
  readonly source: SourceRef;
}

export interface Semaphore {
  readonly name: string;
  readonly max: number;
  /** True when no semaphore stanza defines it: Zuul then implies `max: 1`. */
  readonly implicit: boolean;
  /** The stanza, or for an implicit semaphore the first job that names it. */
  readonly source: SourceRef;
}

export type Vars = Readonly<Record<string, unknown>>;

/** A job after its variants and its parent chain have been applied. */
export interface Job {
  readonly name: string;
  readonly parent: string | undefined;
  readonly description: string | undefined;
  readonly abstract: boolean;
  readonly final: boolean;
  /** The playbook path relative to the repository root, if the job has one yet. */
  readonly playbook: string | undefined;
  readonly vars: Vars;
  readonly dependencies: readonly JobDependency[];
  readonly files: readonly string[];
  readonly irrelevantFiles: readonly string[];
  readonly semaphores: readonly string[];
  /** Undefined: no limit (as in Zuul when `timeout` is unset). */
  readonly timeoutMs: number | undefined;
  readonly attempts: number;
  /** The first definition of the job. */
  readonly source: SourceRef;
}

/** One job of one pipeline: the job with the project's variants applied. */
export interface ResolvedJob extends GraphJob {
  readonly pipeline: string;
  readonly description: string | undefined;
  readonly playbook: string;
  readonly vars: Vars;
  readonly semaphores: readonly string[];
  readonly timeoutMs: number | undefined;
  readonly attempts: number;
  /** The first definition of the job. */
  readonly source: SourceRef;
  /** Where the job was put into this pipeline (the first project or template entry). */
  readonly listedAt: SourceRef;
}

export interface Layout {
  readonly pipelines: ReadonlyMap<string, Pipeline>;
  readonly jobs: ReadonlyMap<string, Job>;
  readonly semaphores: ReadonlyMap<string, Semaphore>;
  /** Per pipeline, its jobs in the order they were listed. */
  readonly pipelineJobs: ReadonlyMap<string, readonly ResolvedJob[]>;
}

export interface LoadOptions {
  /** Where `vars.playbook_name` playbooks live, relative to the repository root. Default `playbooks`. */
  readonly playbookDir?: string;
  /** The deployed repository; project stanzas naming another project are ignored. */
  readonly projectName?: string;
  /** Reuse parsed files across loads (see LayoutParseCache); none by default. */
  readonly cache?: LayoutParseCache;
}

export interface LoadResult {
  /** Undefined when there is any error. */
  readonly layout: Layout | undefined;
  readonly errors: Diagnostic[];
  readonly warnings: Diagnostic[];
}

/** One layout file's content; `file` is used verbatim in diagnostics. */
export interface LayoutSource {
  readonly file: string;
  readonly text: string;
}
