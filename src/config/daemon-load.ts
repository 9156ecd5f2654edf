/**
 * Loads `drawbridge.yaml`: YAML into a positioned tree (the layout's parser),
 * every section read and checked, cross-section rules, then one deeply
 * frozen DaemonConfig, or every problem found, never just the first.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { toError } from '../errors.js';
import { DaemonConfigInvalidError } from './daemon-errors.js';
import { readBastion, readExecutor } from './daemon-bastion.js';
import { Fields } from './daemon-fields.js';
import { DAEMON_KEYS, REQUIRED_SECTIONS } from './daemon-keys.js';
import { DaemonReader } from './daemon-read.js';
import { checkRules } from './daemon-rules.js';
import {
  readLayout,
  readLog,
  readRepository,
  readScheduler,
  readStateDir,
  readZookeeper,
} from './daemon-sections.js';
import type {
  DaemonConfig,
  DaemonConfigOptions,
  DaemonConfigResult,
  DaemonConfigSource,
} from './daemon-types.js';
import { readHistory } from './daemon-history.js';
import { readWeb } from './daemon-web.js';
import { E } from './layout-codes.js';
import { Diagnostics } from './layout-diagnostics.js';
import { deepFreeze } from './layout-freeze.js';
import { parseLayoutYaml, type YEntry } from './layout-yaml.js';

/** Reads the file, then parses it; an unreadable file is one error on line 0. */
export async function loadDaemonConfig(
  file: string,
  options: DaemonConfigOptions = {},
): Promise<DaemonConfigResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const diags = new Diagnostics();
    diags.error(E.read, { file, line: 0 }, `cannot read the daemon config: ${reason(e)}`);
    return { config: undefined, ...diags.sorted() };
  }
  return parseDaemonConfig({ file, text }, options);
}

/** Pure but for path resolution: a relative `file` is taken from the working directory. */
export function parseDaemonConfig(
  src: DaemonConfigSource,
  options: DaemonConfigOptions = {},
): DaemonConfigResult {
  const diags = new Diagnostics();
  const root = parseLayoutYaml(src, diags);
  if (diags.errors.length > 0) return { config: undefined, ...diags.sorted() };
  const r = new DaemonReader(diags, src.file, options.env ?? {});
  const rootLine = root?.line ?? 0;
  const entries = root === undefined ? [] : r.entries(root, '');
  if (entries === undefined) return { config: undefined, ...diags.sorted() };
  const sections = new Sections(r, rootLine, entries);
  const config = build(sections, resolve(src.file));
  const { errors, warnings } = diags.sorted();
  return { config: errors.length > 0 ? undefined : deepFreeze(config), errors, warnings };
}

/** For callers that cannot go on without a config: the config, or DaemonConfigInvalidError. */
export function daemonConfigOrThrow(result: DaemonConfigResult, file: string): DaemonConfig {
  if (result.config !== undefined) return result.config;
  throw new DaemonConfigInvalidError(file, result.errors);
}

function build(s: Sections, file: string): DaemonConfig {
  const dir = dirname(file);
  const stateDir = readStateDir(s.get('state'), dir);
  const bastion = { value: readBastion(s.get('bastion'), dir), fields: s.get('bastion') };
  const executor = { value: readExecutor(s.get('executor'), dir), fields: s.get('executor') };
  const web = { value: readWeb(s.get('web'), dir), fields: s.get('web') };
  checkRules(s.r, { bastion, executor, web });
  return {
    file,
    zookeeper: readZookeeper(s.get('zookeeper')),
    layout: readLayout(s.get('layout'), dir),
    repository: readRepository(s.get('repository'), dir, stateDir),
    bastion: bastion.value,
    executor: executor.value,
    scheduler: readScheduler(s.get('scheduler')),
    web: web.value,
    history: readHistory(s.get('history'), dir, stateDir),
    state: { dir: stateDir },
    log: readLog(s.get('log')),
  };
}

type SectionName = Exclude<keyof typeof DAEMON_KEYS, ''> & (typeof DAEMON_KEYS)[''][number];

/** The top-level mapping: one Fields per section, a missing required section reported once. */
class Sections {
  private readonly byName: ReadonlyMap<string, YEntry>;
  private readonly made = new Map<string, Fields>();

  constructor(
    readonly r: DaemonReader,
    private readonly line: number,
    entries: readonly YEntry[],
  ) {
    this.byName = new Map(r.known(entries, '', DAEMON_KEYS['']).map((e) => [e.key, e]));
    for (const [name, keys] of Object.entries(REQUIRED_SECTIONS)) {
      if (!this.byName.has(name)) {
        r.error(E.missing, line, name, `required section is missing (with ${keys})`);
      }
    }
  }

  get(name: SectionName): Fields {
    const known = this.made.get(name);
    if (known !== undefined) return known;
    const fields = this.make(name);
    this.made.set(name, fields);
    return fields;
  }

  private make(name: SectionName): Fields {
    const keys = DAEMON_KEYS[name];
    const e = this.byName.get(name);
    if (e !== undefined) {
      const entries = this.r.entries(e.value, name);
      return new Fields(this.r, name, e.line, entries ?? [], keys, entries === undefined);
    }
    // A missing required section was reported once, above; its keys say nothing more.
    return new Fields(this.r, name, this.line, [], keys, name in REQUIRED_SECTIONS);
  }
}

// fs errors can come from another realm (jest's VM), where `instanceof Error` fails.
function reason(e: unknown): string {
  const m = typeof e === 'object' && e !== null && 'message' in e ? e.message : undefined;
  return typeof m === 'string' ? m : toError(e).message;
}
