/**
 * The pure loader: layout sources in, a frozen Layout or a list of
 * diagnostics out. No file system here (see layout-files.ts), so every
 * rule can be unit-tested from strings.
 */
import type { LayoutParseCache } from './layout-cache.js';
import { E, W } from './layout-codes.js';
import { Diagnostics, suggest } from './layout-diagnostics.js';
import { deepFreeze, FrozenMap } from './layout-freeze.js';
import { parseJobStanza, type JobPatch, type Located } from './layout-job-parse.js';
import { resolveJobs } from './layout-job-resolve.js';
import { STANZA_TYPES, ZUUL_ONLY_STANZAS } from './layout-keys.js';
import { parsePipelineStanza, parseSemaphoreStanza } from './layout-pipeline-parse.js';
import { buildPipelineJobs, playbookOf } from './layout-pipeline-resolve.js';
import { parseProjectStanza, type ProjectDef } from './layout-project-parse.js';
import { singleKey, StanzaReader } from './layout-read.js';
import type { JobAcc } from './layout-merge.js';
import type {
  Job,
  Layout,
  LayoutSource,
  LoadOptions,
  LoadResult,
  Pipeline,
  Semaphore,
} from './layout-types.js';
import { parseLayoutYaml, type YNode } from './layout-yaml.js';

export const DEFAULT_PLAYBOOK_DIR = 'playbooks';

/** A parse error is recorded in `diags` each time; only good trees are cached. */
function parseCached(
  src: LayoutSource,
  diags: Diagnostics,
  cache: LayoutParseCache | undefined,
): YNode | undefined {
  const hit = cache?.get(src.text);
  if (hit !== undefined) return hit;
  const before = diags.errors.length;
  const tree = parseLayoutYaml(src, diags);
  if (cache !== undefined && tree !== undefined && diags.errors.length === before)
    cache.put(src.text, tree);
  return tree;
}

/** Everything read from the files, before any cross-stanza rule is applied. */
interface Collected {
  readonly jobs: Map<string, JobPatch[]>;
  readonly pipelines: Map<string, Pipeline>;
  readonly semaphores: Map<string, Semaphore>;
  readonly templates: Map<string, ProjectDef>;
  readonly projects: ProjectDef[];
  /** Semaphores named by pipeline stanzas, keyed by pipeline, with where. */
  readonly pipelineSemaphores: Map<string, (Located<string> & { file: string })[]>;
}

export function loadLayoutFromSources(
  sources: readonly LayoutSource[],
  options: LoadOptions = {},
): LoadResult {
  const diags = new Diagnostics();
  const c: Collected = {
    jobs: new Map(),
    pipelines: new Map(),
    semaphores: new Map(),
    templates: new Map(),
    projects: [],
    pipelineSemaphores: new Map(),
  };
  for (const src of sources) collectFile(src, c, diags, options.cache);
  const resolved = resolveJobs(c.jobs, diags);
  const semaphores = withImplicitSemaphores(c, diags);
  const playbookDir = options.playbookDir ?? DEFAULT_PLAYBOOK_DIR;
  const pipelineJobs = buildPipelineJobs(
    {
      pipelines: c.pipelines,
      projects: c.projects,
      templates: c.templates,
      resolved,
      playbookDir,
      projectName: options.projectName,
    },
    diags,
  );
  const { errors, warnings } = diags.sorted();
  if (errors.length > 0) return { layout: undefined, errors, warnings };
  const jobs = [...resolved.jobs].map(([name, acc]) =>
    toJob(name, acc, resolved.sources.get(name)!, playbookDir),
  );
  const layout: Layout = {
    pipelines: new FrozenMap([...c.pipelines].map(([k, v]) => [k, deepFreeze(v)] as const)),
    jobs: new FrozenMap(jobs.map((j) => [j.name, deepFreeze(j)] as const)),
    semaphores: new FrozenMap([...semaphores].map(([k, v]) => [k, deepFreeze(v)] as const)),
    pipelineJobs: new FrozenMap([...pipelineJobs].map(([k, v]) => [k, deepFreeze(v)] as const)),
  };
  return { layout: Object.freeze(layout), errors, warnings };
}

function collectFile(
  src: LayoutSource,
  c: Collected,
  diags: Diagnostics,
  cache: LayoutParseCache | undefined,
): void {
  const root = parseCached(src, diags, cache);
  if (root === undefined || (root.kind === 'scalar' && root.value === null)) return;
  if (root.kind !== 'seq') {
    diags.error(
      E.type,
      { file: src.file, line: root.line },
      'a layout file must be a list of stanzas (- job: ..., - pipeline: ...)',
    );
    return;
  }
  for (const item of root.items) {
    const stanza = singleKey(item);
    if (stanza === undefined) {
      diags.error(
        E.type,
        { file: src.file, line: item.line },
        'each list item must be a single-key mapping such as "- job: {...}"',
      );
      continue;
    }
    const r = new StanzaReader(diags, src.file, stanza.key);
    if (!STANZA_TYPES.has(stanza.key)) {
      if (ZUUL_ONLY_STANZAS.has(stanza.key)) {
        r.warn(
          W.unusedStanza,
          stanza.line,
          undefined,
          `"${stanza.key}" stanzas are Zuul-only; ignored`,
        );
      } else {
        const hint = suggest(stanza.key, [...STANZA_TYPES, ...ZUUL_ONLY_STANZAS]);
        diags.error(
          E.unknownStanza,
          { file: src.file, line: stanza.line },
          `unknown stanza type "${stanza.key}"${hint}`,
        );
      }
      continue;
    }
    collectStanza(r, stanza.key, stanza.value, stanza.line, c);
  }
}

function collectStanza(
  r: StanzaReader,
  type: string,
  node: YNode,
  line: number,
  c: Collected,
): void {
  switch (type) {
    case 'job': {
      const job = parseJobStanza(r, node, line);
      if (job === undefined) return;
      const list = c.jobs.get(job.name);
      if (list === undefined) c.jobs.set(job.name, [job]);
      else list.push(job);
      return;
    }
    case 'pipeline': {
      const refs: (Located<string> & { file: string })[] = [];
      const pipeline = parsePipelineStanza(r, node, line, refs);
      if (pipeline !== undefined && !c.pipelines.has(pipeline.name))
        c.pipelineSemaphores.set(pipeline.name, refs);
      addUnique(r, c.pipelines, pipeline, 'pipeline', line);
      return;
    }
    case 'semaphore':
      addUnique(r, c.semaphores, parseSemaphoreStanza(r, node, line), 'semaphore', line);
      return;
    case 'project-template': {
      const tpl = parseProjectStanza(r, node, line, 'project-template');
      addUnique(r, c.templates, tpl, 'project-template', line);
      return;
    }
    case 'project': {
      const proj = parseProjectStanza(r, node, line, 'project');
      if (proj !== undefined) c.projects.push(proj);
      return;
    }
  }
}

/** Pipelines, semaphores and templates are unique in Zuul's tenant; so they are here. */
function addUnique<T extends { name: string | undefined; source: { file: string; line: number } }>(
  r: StanzaReader,
  map: Map<string, T>,
  item: T | undefined,
  type: string,
  line: number,
): void {
  if (item?.name === undefined) return;
  const prev = map.get(item.name);
  if (prev === undefined) {
    map.set(item.name, item);
    return;
  }
  r.error(
    E.duplicate,
    line,
    'name',
    `${type} "${item.name}" is already defined at ${prev.source.file}:${prev.source.line}`,
  );
}

/** Zuul creates a semaphore with max 1 for a name no stanza defines; a warning flags likely typos. */
function withImplicitSemaphores(c: Collected, diags: Diagnostics): Map<string, Semaphore> {
  const all = new Map(c.semaphores);
  const refs = [...c.jobs.values()]
    .flat()
    .concat(
      [...c.projects, ...c.templates.values()].flatMap((p) =>
        p.sections.flatMap((s) => s.jobs.flatMap((j) => (j.variant ? [j.variant] : []))),
      ),
    );
  const named = [
    ...refs.map((patch) => ({ stanza: `job ${patch.name}`, refs: patch.semaphores ?? [] })),
    ...[...c.pipelineSemaphores].map(([name, list]) => ({
      stanza: `pipeline ${name}`,
      refs: list,
    })),
  ];
  for (const { stanza, refs: list } of named) {
    for (const s of list) {
      if (all.has(s.value)) continue;
      all.set(s.value, {
        name: s.value,
        max: 1,
        implicit: true,
        source: { file: s.file, line: s.line },
      });
      const hint = suggest(s.value, c.semaphores.keys());
      diags.warn(
        W.implicitSemaphore,
        { file: s.file, line: s.line, stanza, key: 'semaphores' },
        `semaphore "${s.value}" is not defined; using an implicit one with max 1${hint}`,
      );
    }
  }
  return all;
}

function toJob(
  name: string,
  acc: JobAcc,
  source: { file: string; line: number },
  playbookDir: string,
): Job {
  return {
    name,
    parent: acc.parent,
    description: acc.description,
    abstract: acc.abstract,
    final: acc.final,
    playbook: playbookOf(acc, acc.vars, playbookDir),
    vars: acc.vars,
    dependencies: acc.dependencies.map((d) => ({ name: d.name, soft: d.soft })),
    files: acc.files,
    irrelevantFiles: acc.irrelevantFiles,
    semaphores: acc.semaphores.map((s) => s.value),
    timeoutMs: acc.timeoutMs,
    attempts: acc.attempts,
    source,
  };
}
