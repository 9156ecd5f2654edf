/** Reads `pipeline` and `semaphore` stanzas. */
import { CronSyntaxError, parseCron } from '../cron/index.js';
import { E, W } from './layout-codes.js';
import { checkPattern, readSemaphores, type Located } from './layout-job-parse.js';
import {
  GIT_TRIGGER_KEYS,
  MANAGERS,
  PIPELINE_KEYS,
  PIPELINE_ZUUL_ONLY,
  PRECEDENCES,
  REF_UPDATE_EVENTS,
  SEMAPHORE_KEYS,
  TIMER_KEYS,
} from './layout-keys.js';
import { describe, type StanzaReader } from './layout-read.js';
import type { Pipeline, PipelineManager, Precedence, Semaphore, Trigger } from './layout-types.js';
import type { YEntry, YNode } from './layout-yaml.js';

function named(
  r: StanzaReader,
  node: YNode,
  type: string,
  line: number,
): { name: string; entries: readonly YEntry[] } | undefined {
  const entries = r.map(node, type);
  if (entries === undefined) return undefined;
  const nameEntry = entries.find((e) => e.key === 'name');
  if (nameEntry === undefined) {
    r.error(E.missing, line, 'name', `a ${type} needs a name`);
    return undefined;
  }
  const name = r.str(nameEntry.value, 'name');
  if (name === undefined) return undefined;
  r.stanza = `${type} ${name}`;
  return { name, entries };
}

export function parseSemaphoreStanza(
  r: StanzaReader,
  node: YNode,
  line: number,
): Semaphore | undefined {
  const head = named(r, node, 'semaphore', line);
  if (head === undefined) return undefined;
  let max = 1;
  for (const e of r.known(head.entries, SEMAPHORE_KEYS, new Set())) {
    if (e.key === 'max') max = r.positiveInt(e.value, 'max') ?? 1;
  }
  return { name: head.name, max, implicit: false, source: { file: r.file, line } };
}

/** `semaphoreRefs` receives each semaphore reference with its line, for the implicit-semaphore check. */
export function parsePipelineStanza(
  r: StanzaReader,
  node: YNode,
  line: number,
  semaphoreRefs: (Located<string> & { file: string })[] = [],
): Pipeline | undefined {
  const head = named(r, node, 'pipeline', line);
  if (head === undefined) return undefined;
  let manager: PipelineManager | undefined;
  let precedence: Precedence = 'normal';
  let description: string | undefined;
  let triggers: Trigger[] = [];
  const semaphores: (Located<string> & { file: string })[] = [];
  for (const e of r.known(head.entries, PIPELINE_KEYS, PIPELINE_ZUUL_ONLY)) {
    if (e.key === 'manager') manager = oneOf(r, e.value, 'manager', MANAGERS);
    else if (e.key === 'precedence')
      precedence = oneOf(r, e.value, 'precedence', PRECEDENCES) ?? 'normal';
    else if (e.key === 'description') description = r.text(e.value, 'description');
    else if (e.key === 'trigger') triggers = parseTriggers(r, e.value);
    else if (e.key === 'semaphore' || e.key === 'semaphores')
      semaphores.push(...readSemaphores(r, e.value, e.key));
  }
  if (!head.entries.some((e) => e.key === 'manager')) {
    r.error(
      E.missing,
      line,
      'manager',
      `a pipeline needs a manager: one of ${MANAGERS.join(', ')}`,
    );
  }
  if (manager === undefined) return undefined;
  semaphoreRefs.push(...semaphores);
  return {
    name: head.name,
    manager,
    precedence,
    description,
    triggers,
    semaphores: [...new Set(semaphores.map((s) => s.value))],
    source: { file: r.file, line },
  };
}

function oneOf<T extends string>(
  r: StanzaReader,
  v: YNode,
  key: string,
  allowed: readonly T[],
): T | undefined {
  if (
    v.kind === 'scalar' &&
    typeof v.value === 'string' &&
    (allowed as readonly string[]).includes(v.value)
  ) {
    return v.value as T;
  }
  r.error(E.type, v.line, key, `expected one of ${allowed.join(', ')}; got ${describe(v)}`);
  return undefined;
}

function parseTriggers(r: StanzaReader, v: YNode): Trigger[] {
  const entries = r.map(v, 'trigger');
  if (entries === undefined) return [];
  const out: Trigger[] = [];
  for (const e of entries) {
    const key = `trigger.${e.key}`;
    if (e.key === 'manual') {
      const ok =
        (e.value.kind === 'scalar' && (e.value.value === null || e.value.value === true)) ||
        isEmpty(e.value);
      if (ok) out.push({ kind: 'manual', source: { file: r.file, line: e.line } });
      else r.expected(e.value, key, 'true or an empty mapping');
      continue;
    }
    const items =
      e.value.kind === 'seq' ? e.value.items : r.expected(e.value, key, 'a list of trigger events');
    for (const [i, item] of (items ?? []).entries()) {
      const k = `${key}[${i}]`;
      const fields = r.map(item, k);
      if (fields === undefined) continue;
      if (e.key === 'timer') out.push(...timer(r, fields, item.line, k));
      else if (e.key === 'git') out.push(...gitTrigger(r, fields, item.line, k));
      else out.push(...foreignTrigger(r, e.key, fields, item.line, k));
    }
  }
  return out;
}

function isEmpty(v: YNode): boolean {
  return (v.kind === 'map' && v.entries.length === 0) || (v.kind === 'seq' && v.items.length === 0);
}

function timer(r: StanzaReader, fields: readonly YEntry[], line: number, k: string): Trigger[] {
  const time = r.known(fields, TIMER_KEYS, new Set(), `${k}.`).find((f) => f.key === 'time');
  if (time === undefined) {
    r.error(E.missing, line, `${k}.time`, 'a timer trigger needs a cron expression in "time"');
    return [];
  }
  const expr = r.str(time.value, `${k}.time`);
  if (expr === undefined) return [];
  try {
    parseCron(expr);
  } catch (e) {
    if (!(e instanceof CronSyntaxError)) throw e;
    r.error(
      E.cron,
      time.value.line,
      `${k}.time`,
      `invalid cron expression "${expr}": ${e.field}: ${e.reason}`,
    );
    return [];
  }
  return [{ kind: 'timer', time: expr, source: { file: r.file, line: time.value.line } }];
}

function gitTrigger(
  r: StanzaReader,
  fields: readonly YEntry[],
  line: number,
  k: string,
): Trigger[] {
  const kept = r.known(fields, GIT_TRIGGER_KEYS, new Set(['ignore-deletes']), `${k}.`);
  const event = kept.find((f) => f.key === 'event');
  const eventName = event === undefined ? undefined : r.str(event.value, `${k}.event`);
  if (event === undefined)
    r.error(E.missing, line, `${k}.event`, 'a git trigger needs "event: ref-updated"');
  else if (eventName !== undefined && eventName !== 'ref-updated') {
    r.error(
      E.type,
      event.value.line,
      `${k}.event`,
      `the git trigger knows only "ref-updated"; got "${eventName}"`,
    );
    return [];
  }
  if (eventName !== 'ref-updated') return [];
  const refs = patterns(r, kept, 'ref', k);
  if (refs === undefined) return [];
  return [
    {
      kind: 'ref-updated',
      connection: 'git',
      event: 'ref-updated',
      refs,
      branches: [],
      source: { file: r.file, line },
    },
  ];
}

/**
 * A Zuul code-review connection (gerrit, github, ...): its merge and push
 * events mean "the branch moved", which is all Drawbridge reacts to.
 */
function foreignTrigger(
  r: StanzaReader,
  conn: string,
  fields: readonly YEntry[],
  line: number,
  k: string,
): Trigger[] {
  const event = fields.find((f) => f.key === 'event');
  if (event === undefined) {
    r.warn(
      W.triggerIgnored,
      line,
      k,
      `trigger entry without "event" on connection "${conn}"; ignored`,
    );
    return [];
  }
  const events = r.strList(event.value, `${k}.event`) ?? [];
  const useful = events.filter((e) => REF_UPDATE_EVENTS.has(e.value));
  const other = events.filter((e) => !REF_UPDATE_EVENTS.has(e.value)).map((e) => e.value);
  if (other.length > 0) {
    r.warn(
      W.triggerIgnored,
      line,
      `${k}.event`,
      `event(s) ${other.join(', ')} of connection "${conn}" have no meaning for Drawbridge; ignored`,
    );
  }
  if (useful.length === 0) return [];
  const refs = patterns(r, fields, 'ref', k);
  const branches = patterns(r, fields, 'branch', k);
  if (refs === undefined || branches === undefined) return [];
  return useful.map((ev) => {
    r.warn(
      W.triggerTranslated,
      ev.line,
      `${k}.event`,
      `"${conn}" event "${ev.value}" is treated as a ref update of the deployed repository`,
    );
    return {
      kind: 'ref-updated',
      connection: conn,
      event: ev.value,
      refs,
      branches,
      source: { file: r.file, line },
    } as const;
  });
}

function patterns(
  r: StanzaReader,
  fields: readonly YEntry[],
  name: string,
  k: string,
): string[] | undefined {
  const f = fields.find((x) => x.key === name);
  if (f === undefined) return [];
  const list = r.strList(f.value, `${k}.${name}`);
  if (list === undefined) return undefined;
  const valid = list.map((p) => checkPattern(r, p.value, p.line, `${k}.${name}`));
  return valid.every(Boolean) ? list.map((p) => p.value) : undefined;
}
