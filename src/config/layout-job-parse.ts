/**
 * Reads a `job` stanza, or a job variant in a project pipeline, into a
 * JobPatch: only the attributes that were written, each with its line.
 * Applying patches (variants, inheritance) happens in layout-job-resolve.ts.
 */
import { compilePattern, InvalidPatternError } from '../graph/index.js';
import { E } from './layout-codes.js';
import {
  FINAL_SAFE_KEYS,
  JOB_IDENTITY_KEYS,
  JOB_KEYS,
  JOB_ZUUL_ONLY,
  VARIANT_KEYS,
  DEPENDENCY_KEYS,
} from './layout-keys.js';
import { plain, type StanzaReader } from './layout-read.js';
import type { YEntry, YNode } from './layout-yaml.js';

export interface Located<T> {
  readonly value: T;
  readonly line: number;
}

export interface DepDef {
  readonly name: string;
  readonly soft: boolean;
  readonly file: string;
  readonly line: number;
}

export interface JobPatch {
  readonly name: string;
  readonly file: string;
  readonly line: number;
  /** Every attribute written, with its line: for errors about what a variant may not change. */
  readonly keyLines: ReadonlyMap<string, number>;
  parent?: Located<string | null>;
  description?: string;
  abstract?: boolean;
  final?: boolean;
  run?: string;
  vars?: Record<string, unknown>;
  dependencies?: DepDef[];
  files?: string[];
  irrelevantFiles?: string[];
  semaphores?: (Located<string> & { file: string })[];
  timeoutMs?: number;
  attempts?: number;
}

/** A top-level `job` stanza. Returns undefined when it has no usable name. */
export function parseJobStanza(
  r: StanzaReader,
  node: YNode,
  stanzaLine: number,
): JobPatch | undefined {
  const entries = r.map(node, 'job');
  if (entries === undefined) return undefined;
  const nameEntry = entries.find((e) => e.key === 'name');
  if (nameEntry === undefined) {
    r.error(E.missing, stanzaLine, 'name', 'a job needs a name');
    return undefined;
  }
  const name = r.str(nameEntry.value, 'name');
  if (name === undefined) return undefined;
  r.stanza = `job ${name}`;
  const kept = r.known(entries, JOB_KEYS, JOB_ZUUL_ONLY);
  return readPatch(r, name, stanzaLine, kept);
}

/** A `{name: {attrs}}` entry of a project pipeline's job list. */
export function parseVariant(
  r: StanzaReader,
  name: string,
  line: number,
  node: YNode,
  key: string,
): JobPatch {
  if (node.kind === 'scalar' && node.value === null) return readPatch(r, name, line, []);
  const entries = r.map(node, key) ?? [];
  const kept: YEntry[] = [];
  for (const e of r.known(entries, JOB_KEYS, JOB_ZUUL_ONLY, `${key}.`)) {
    if (JOB_IDENTITY_KEYS.has(e.key)) {
      r.error(
        E.unsupported,
        e.line,
        `${key}.${e.key}`,
        `"${e.key}" cannot be set where a project lists a job; set it on the job`,
      );
    } else if (VARIANT_KEYS.has(e.key)) kept.push(e);
  }
  return readPatch(r, name, line, kept, `${key}.`);
}

function readPatch(
  r: StanzaReader,
  name: string,
  line: number,
  entries: readonly YEntry[],
  prefix = '',
): JobPatch {
  const keyLines = new Map(entries.map((e) => [e.key, e.line]));
  const p: JobPatch = { name, file: r.file, line, keyLines };
  for (const e of entries) readAttr(r, p, e, prefix + e.key);
  return p;
}

function readAttr(r: StanzaReader, p: JobPatch, e: YEntry, key: string): void {
  const v = e.value;
  switch (e.key) {
    case 'name':
      return;
    case 'parent':
      if (v.kind === 'scalar' && v.value === null) p.parent = { value: null, line: e.line };
      else {
        const s = r.str(v, key);
        if (s !== undefined) p.parent = { value: s, line: v.line };
      }
      return;
    case 'description':
      p.description = r.text(v, key);
      return;
    case 'abstract':
      p.abstract = r.bool(v, key);
      return;
    case 'final':
      p.final = r.bool(v, key);
      return;
    case 'run':
      p.run = readRun(r, v, key);
      return;
    case 'vars':
      if (v.kind === 'map') p.vars = plain(v) as Record<string, unknown>;
      else r.expected(v, key, 'a mapping of variables');
      return;
    case 'dependencies':
      p.dependencies = readDependencies(r, v, key);
      return;
    case 'files':
      p.files = readPatterns(r, v, key);
      return;
    case 'irrelevant-files':
      p.irrelevantFiles = readPatterns(r, v, key);
      return;
    case 'semaphore':
    case 'semaphores':
      p.semaphores = [...(p.semaphores ?? []), ...readSemaphores(r, v, key)];
      return;
    case 'timeout': {
      const s = r.positiveInt(v, key, ' (seconds)');
      if (s !== undefined) p.timeoutMs = s * 1000;
      return;
    }
    case 'attempts':
      p.attempts = r.positiveInt(v, key);
      return;
  }
}

/** One playbook per job: a path, `{name: path}`, or a list holding one of those. */
function readRun(r: StanzaReader, v: YNode, key: string): string | undefined {
  if (v.kind === 'seq') {
    if (v.items.length !== 1) {
      r.error(
        E.unsupported,
        v.line,
        key,
        `Drawbridge runs exactly one playbook per job; got ${v.items.length}`,
      );
      return undefined;
    }
    return readRun(r, v.items[0]!, `${key}[0]`);
  }
  if (v.kind === 'map') {
    const nameEntry = r
      .known(v.entries, new Set(['name']), new Set(['semaphore', 'semaphores']))
      .find((e) => e.key === 'name');
    if (nameEntry === undefined) {
      r.error(E.missing, v.line, `${key}.name`, 'a run mapping needs the playbook path in "name"');
      return undefined;
    }
    return r.str(nameEntry.value, `${key}.name`);
  }
  return r.str(v, key);
}

function readDependencies(r: StanzaReader, v: YNode, key: string): DepDef[] | undefined {
  const items =
    v.kind === 'seq'
      ? v.items
      : v.kind === 'scalar' && typeof v.value === 'string'
        ? [v]
        : undefined;
  if (items === undefined)
    return r.expected(v, key, 'a list of job names or {name, soft} mappings');
  const out: DepDef[] = [];
  for (const [i, item] of items.entries()) {
    const k = v.kind === 'seq' ? `${key}[${i}]` : key;
    if (item.kind === 'scalar' && typeof item.value === 'string') {
      out.push({ name: item.value, soft: false, file: r.file, line: item.line });
      continue;
    }
    if (item.kind !== 'map') {
      r.expected(item, k, 'a job name or a {name, soft} mapping');
      continue;
    }
    const kept = r.known(item.entries, DEPENDENCY_KEYS, new Set(), `${k}.`);
    const nameEntry = kept.find((e) => e.key === 'name');
    const softEntry = kept.find((e) => e.key === 'soft');
    if (nameEntry === undefined) {
      r.error(E.missing, item.line, `${k}.name`, 'a dependency needs the name of a job');
      continue;
    }
    const name = r.str(nameEntry.value, `${k}.name`);
    const soft = softEntry === undefined ? false : r.bool(softEntry.value, `${k}.soft`);
    if (name !== undefined && soft !== undefined)
      out.push({ name, soft, file: r.file, line: nameEntry.value.line });
  }
  return out;
}

/** files / irrelevant-files: Python-style regexes, checked now so a typo is caught at load. */
function readPatterns(r: StanzaReader, v: YNode, key: string): string[] | undefined {
  const list = r.strList(v, key);
  if (list === undefined) return undefined;
  const ok: string[] = [];
  for (const { value, line } of list) {
    if (checkPattern(r, value, line, key)) ok.push(value);
  }
  return ok;
}

export function checkPattern(r: StanzaReader, pattern: string, line: number, key: string): boolean {
  try {
    compilePattern(pattern);
    return true;
  } catch (e) {
    if (!(e instanceof InvalidPatternError)) throw e;
    r.error(E.regex, line, key, `invalid regular expression "${pattern}": ${e.reason}`);
    return false;
  }
}

export function readSemaphores(
  r: StanzaReader,
  v: YNode,
  key: string,
): (Located<string> & { file: string })[] {
  const items = v.kind === 'seq' ? v.items : [v];
  const out: (Located<string> & { file: string })[] = [];
  for (const [i, item] of items.entries()) {
    const k = v.kind === 'seq' ? `${key}[${i}]` : key;
    let name: string | undefined;
    if (item.kind === 'map') {
      // Zuul's {name, resources-first} form; resources-first means nothing here.
      const kept = r.known(item.entries, new Set(['name']), new Set(['resources-first']), `${k}.`);
      const n = kept.find((e) => e.key === 'name');
      if (n === undefined)
        r.error(E.missing, item.line, `${k}.name`, 'a semaphore reference needs a name');
      else name = r.str(n.value, `${k}.name`);
    } else name = r.str(item, k) ?? undefined;
    if (name !== undefined) out.push({ value: name, line: item.line, file: r.file });
  }
  return out;
}

/** The attributes a patch sets that a variant of a final job may not set. */
export function finalViolations(p: JobPatch): [string, number][] {
  return [...p.keyLines].filter(([k]) => !FINAL_SAFE_KEYS.has(k) && !JOB_IDENTITY_KEYS.has(k));
}
