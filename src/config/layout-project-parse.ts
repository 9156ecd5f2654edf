/**
 * Reads `project` and `project-template` stanzas: per pipeline, the jobs
 * listed and the variant attributes given to each. Whether a pipeline
 * exists is decided later, once every file has been read.
 */
import { E } from './layout-codes.js';
import { checkPattern, parseVariant, type JobPatch, type Located } from './layout-job-parse.js';
import {
  PROJECT_KEYS,
  PROJECT_PIPELINE_KEYS,
  PROJECT_PIPELINE_ZUUL_ONLY,
  PROJECT_ZUUL_ONLY,
  TEMPLATE_KEYS,
  TEMPLATE_ZUUL_ONLY,
} from './layout-keys.js';
import { suggest } from './layout-diagnostics.js';
import { plain, singleKey, type StanzaReader } from './layout-read.js';
import type { SourceRef } from './layout-types.js';
import type { YNode } from './layout-yaml.js';

export interface ListedJob {
  readonly name: string;
  readonly file: string;
  readonly line: number;
  /** The listing stanza (`project`, `project-template common`) and path (`deploy.jobs[2]`). */
  readonly stanza: string;
  readonly key: string;
  /** Attributes set where the job is listed; undefined for a bare name. */
  readonly variant: JobPatch | undefined;
}

export interface PipelineSection {
  readonly pipeline: string;
  readonly line: number;
  readonly jobs: readonly ListedJob[];
}

export interface ProjectDef {
  readonly kind: 'project' | 'project-template';
  /** Undefined for a project stanza without a name: the deployed repository itself. */
  readonly name: string | undefined;
  readonly file: string;
  readonly line: number;
  readonly source: SourceRef;
  readonly stanza: string;
  readonly templates: readonly Located<string>[];
  readonly vars: Record<string, unknown> | undefined;
  readonly sections: readonly PipelineSection[];
}

export function parseProjectStanza(
  r: StanzaReader,
  node: YNode,
  line: number,
  kind: 'project' | 'project-template',
): ProjectDef | undefined {
  const entries = r.map(node, kind);
  if (entries === undefined) return undefined;
  let name: string | undefined;
  const nameEntry = entries.find((e) => e.key === 'name');
  if (nameEntry !== undefined) {
    name = r.str(nameEntry.value, 'name');
    if (name === undefined) return undefined;
    r.stanza = `${kind} ${name}`;
    if (
      kind === 'project' &&
      name.startsWith('^') &&
      !checkPattern(r, name, nameEntry.value.line, 'name')
    ) {
      return undefined;
    }
  } else if (kind === 'project-template') {
    r.error(E.missing, line, 'name', 'a project-template needs a name');
    return undefined;
  }
  const ours = kind === 'project' ? PROJECT_KEYS : TEMPLATE_KEYS;
  const zuulOnly = kind === 'project' ? PROJECT_ZUUL_ONLY : TEMPLATE_ZUUL_ONLY;
  const templates: Located<string>[] = [];
  let vars: Record<string, unknown> | undefined;
  const sections: PipelineSection[] = [];
  for (const e of entries) {
    if (e.value.kind === 'map' && !ours.has(e.key) && !zuulOnly.has(e.key)) {
      // Any other mapping-valued key is a pipeline section, as in Zuul.
      sections.push({ pipeline: e.key, line: e.line, jobs: readSection(r, e.key, e.value) });
      continue;
    }
    if (!ours.has(e.key) && !zuulOnly.has(e.key)) {
      const hint = suggest(e.key, ours);
      r.error(
        E.unknownKey,
        e.line,
        e.key,
        `unknown attribute "${e.key}"${hint}; a pipeline section must be a mapping with "jobs"`,
      );
      continue;
    }
    if (r.known([e], ours, zuulOnly).length === 0) continue;
    if (e.key === 'templates')
      templates.push(
        ...(r.strList(e.value, 'templates') ?? []).map((t) => ({ value: t.value, line: t.line })),
      );
    else if (e.key === 'vars') {
      if (e.value.kind === 'map') vars = plain(e.value) as Record<string, unknown>;
      else r.expected(e.value, 'vars', 'a mapping of variables');
    } else if (e.key === 'description') r.text(e.value, 'description');
  }
  return {
    kind,
    name,
    file: r.file,
    line,
    source: { file: r.file, line },
    stanza: r.stanza,
    templates,
    vars,
    sections,
  };
}

function readSection(r: StanzaReader, pipeline: string, node: YNode): ListedJob[] {
  if (node.kind !== 'map') return [];
  const jobs: ListedJob[] = [];
  for (const e of r.known(
    node.entries,
    PROJECT_PIPELINE_KEYS,
    PROJECT_PIPELINE_ZUUL_ONLY,
    `${pipeline}.`,
  )) {
    const key = `${pipeline}.jobs`;
    if (e.value.kind === 'scalar' && e.value.value === null) continue;
    if (e.value.kind !== 'seq') {
      r.expected(e.value, key, 'a list of jobs');
      continue;
    }
    for (const [i, item] of e.value.items.entries()) {
      const listed = readListedJob(r, item, `${key}[${i}]`);
      if (listed !== undefined) jobs.push(listed);
    }
  }
  return jobs;
}

function readListedJob(r: StanzaReader, item: YNode, key: string): ListedJob | undefined {
  if (item.kind === 'scalar' && typeof item.value === 'string') {
    return {
      name: item.value,
      file: r.file,
      line: item.line,
      stanza: r.stanza,
      key,
      variant: undefined,
    };
  }
  const only = singleKey(item);
  if (only === undefined) {
    r.expected(item, key, 'a job name or a single-key mapping {job-name: {attributes}}');
    return undefined;
  }
  const variant = parseVariant(r, only.key, only.line, only.value, `${key}.${only.key}`);
  return { name: only.key, file: r.file, line: only.line, stanza: r.stanza, key, variant };
}
