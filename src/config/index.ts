/**
 * Layout loading: Zuul-style job, project, pipeline and semaphore stanzas
 * into a frozen, validated Layout. See docs/configuration.md.
 */
import { UnknownPipelineError } from './errors.js';
import type { Layout, ResolvedJob } from './layout-types.js';

export { loadLayout } from './layout-files.js';
export { loadLayoutFromSources, DEFAULT_PLAYBOOK_DIR } from './layout-load.js';
export { formatDiagnostic } from './layout-diagnostics.js';
export { LayoutParseCache } from './layout-cache.js';
export { LayoutInvalidError, UnknownPipelineError } from './errors.js';
export type {
  Diagnostic,
  Job,
  Layout,
  LayoutSource,
  LoadOptions,
  LoadResult,
  Pipeline,
  PipelineManager,
  Precedence,
  ResolvedJob,
  Semaphore,
  Severity,
  SourceRef,
  Trigger,
  Vars,
} from './layout-types.js';

/** The jobs of one pipeline, in listing order; throws UnknownPipelineError for an undefined pipeline. */
export function pipelineJobs(layout: Layout, pipeline: string): readonly ResolvedJob[] {
  const jobs = layout.pipelineJobs.get(pipeline);
  if (jobs === undefined) throw new UnknownPipelineError(pipeline, [...layout.pipelines.keys()]);
  return jobs;
}
export * from './daemon-config.js';
