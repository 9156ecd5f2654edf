/**
 * Applies each job's definitions (variants) and its parent chain. Jobs
 * whose chain is broken (unknown parent, cycle) are reported once and left
 * out, so one mistake does not cascade into a screenful of errors.
 */
import { findCycle } from '../graph/index.js';
import { E, W } from './layout-codes.js';
import { suggest, type Diagnostics } from './layout-diagnostics.js';
import { finalViolations, type DepDef, type JobPatch } from './layout-job-parse.js';
import { applyPatch, EMPTY_JOB, type JobAcc } from './layout-merge.js';
import type { SourceRef } from './layout-types.js';

export interface ResolvedJobs {
  /** Jobs whose chain resolved; parent is set from the first definition. */
  readonly jobs: ReadonlyMap<string, JobAcc>;
  /** Every job name defined, resolved or not (for "unknown job" checks). */
  readonly defined: ReadonlySet<string>;
  /** Each job's first definition. */
  readonly sources: ReadonlyMap<string, SourceRef>;
}

export function resolveJobs(
  defs: ReadonlyMap<string, readonly JobPatch[]>,
  diags: Diagnostics,
): ResolvedJobs {
  const parents = new Map<string, string>();
  const broken = new Set<string>();
  const defined = new Set(defs.keys());
  for (const [name, patches] of defs) {
    checkVariants(name, patches, diags);
    for (const p of patches) checkKnownDeps(p.dependencies ?? [], defined, `job ${name}`, diags);
    const parent = patches[0]!.parent;
    if (parent === undefined || parent.value === null) continue;
    if (!defs.has(parent.value)) {
      const p = patches[0]!;
      const hint = suggest(parent.value, defs.keys());
      diags.error(
        E.unknownParent,
        { file: p.file, line: parent.line, stanza: `job ${name}`, key: 'parent' },
        `unknown parent job "${parent.value}"${hint}`,
      );
      broken.add(name);
    } else parents.set(name, parent.value);
  }
  reportInheritanceCycles(defs, parents, broken, diags);
  const jobs = new Map<string, JobAcc>();
  for (const name of defs.keys()) resolveOne(name, defs, parents, broken, jobs, diags);
  const sources = new Map(
    [...defs].map(([n, ps]) => [n, { file: ps[0]!.file, line: ps[0]!.line }]),
  );
  return { jobs, defined, sources };
}

/** Later definitions of a job are variants: they must keep the parent and respect `final`. */
function checkVariants(name: string, patches: readonly JobPatch[], diags: Diagnostics): void {
  const first = patches[0]!;
  let final = first.final === true;
  for (const p of patches.slice(1)) {
    const where = { file: p.file, line: p.line, stanza: `job ${name}` };
    diags.warn(
      W.jobVariant,
      where,
      `job "${name}" is defined again; applied as a variant of the definition at ${first.file}:${first.line}`,
    );
    if (p.parent !== undefined && p.parent.value !== (first.parent?.value ?? null)) {
      diags.error(
        E.unsupported,
        { ...where, line: p.parent.line, key: 'parent' },
        `a later definition of job "${name}" cannot change its parent`,
      );
    }
    if (final) {
      for (const [key, line] of finalViolations(p)) {
        diags.error(
          E.final,
          { ...where, line, key },
          `job "${name}" is final; a variant cannot change "${key}"`,
        );
      }
    }
    final ||= p.final === true;
  }
}

function reportInheritanceCycles(
  defs: ReadonlyMap<string, readonly JobPatch[]>,
  parents: Map<string, string>,
  broken: Set<string>,
  diags: Diagnostics,
): void {
  const edges = new Map<string, string[]>([...parents].map(([c, p]) => [c, [p]]));
  for (let cycle = findCycle(edges); cycle !== undefined; cycle = findCycle(edges)) {
    const head = defs.get(cycle[0]!)![0]!;
    diags.error(
      E.inheritanceCycle,
      {
        file: head.file,
        line: head.parent?.line ?? head.line,
        stanza: `job ${cycle[0]!}`,
        key: 'parent',
      },
      `inheritance cycle: ${cycle.join(' -> ')}`,
    );
    for (const n of cycle) {
      broken.add(n);
      edges.delete(n);
      parents.delete(n);
    }
  }
}

/** Walks up to the nearest resolved ancestor, then applies definitions downwards. */
function resolveOne(
  name: string,
  defs: ReadonlyMap<string, readonly JobPatch[]>,
  parents: ReadonlyMap<string, string>,
  broken: Set<string>,
  jobs: Map<string, JobAcc>,
  diags: Diagnostics,
): void {
  const chain: string[] = [];
  let cur: string | undefined = name;
  while (cur !== undefined && !jobs.has(cur) && !broken.has(cur)) {
    chain.push(cur);
    cur = parents.get(cur);
  }
  let base = cur === undefined ? EMPTY_JOB : jobs.get(cur);
  for (const n of chain.reverse()) {
    if (base === undefined) {
      broken.add(n); // an ancestor is broken; its error is already reported
      continue;
    }
    const patches = defs.get(n)!;
    const parent = parents.get(n);
    if (parent !== undefined && base.final) {
      const p = patches[0]!;
      diags.error(
        E.final,
        { file: p.file, line: p.parent!.line, stanza: `job ${n}`, key: 'parent' },
        `cannot inherit from job "${parent}": it is final`,
      );
    }
    let acc = applyPatch(base, patches[0]!, 'inherit');
    for (const p of patches.slice(1)) acc = applyPatch(acc, p, 'variant');
    acc = { ...acc, parent };
    jobs.set(n, acc);
    base = acc;
  }
}

/** A dependency must name a job defined somewhere in the layout, soft or not. */
export function checkKnownDeps(
  deps: readonly DepDef[],
  defined: ReadonlySet<string>,
  stanza: string,
  diags: Diagnostics,
): void {
  for (const d of deps) {
    if (!defined.has(d.name)) {
      diags.error(
        E.unknownDependency,
        { file: d.file, line: d.line, stanza, key: 'dependencies' },
        `unknown dependency "${d.name}"${suggest(d.name, defined)}`,
      );
    }
  }
}
