import type { Plan } from './plan.js';

export function formatSeconds(total: number): string {
  const s = Math.round(total);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h ${m}m ${rest}s`;
  if (m > 0) return `${m}m ${rest}s`;
  return `${rest}s`;
}

export function renderText(plan: Plan): string {
  const lines: string[] = [];
  const selected = plan.selection_reasons.filter((r) => r.selected);
  const skipped = plan.selection_reasons.filter((r) => !r.selected);
  const width = Math.max(10, ...plan.selection_reasons.map((r) => r.name.length)) + 2;
  lines.push(`pipeline ${plan.pipeline}: ${plan.describe}`);
  if (plan.selection.kind === 'files') for (const f of plan.selection.files) lines.push(`  ${f}`);
  lines.push('', `selected ${selected.length} of ${plan.selection_reasons.length} jobs:`);
  for (const r of selected) lines.push(`  ${r.name.padEnd(width)}${r.reason}`);
  if (skipped.length) {
    lines.push('', `not selected (${skipped.length}):`);
    for (const r of skipped) lines.push(`  ${r.name.padEnd(width)}${r.reason}`);
  }
  if (plan.errors.length) {
    lines.push('', 'errors (this buildset would run no job):');
    for (const e of plan.errors) lines.push(`  ${e.message} (${e.code})`);
  }
  if (plan.levels.length) {
    lines.push('', 'order (jobs on one level may run in parallel):');
    plan.levels.forEach((names, i) =>
      lines.push(`  ${String(i + 1).padStart(2)}  ${names.join(', ')}`),
    );
  }
  if (plan.critical_path.length && plan.estimated_makespan_s !== null) {
    lines.push(
      '',
      `critical path (estimated ${formatSeconds(plan.estimated_makespan_s)}): ${plan.critical_path.join(' -> ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Graphviz: soft edges dashed, the critical path in bold red. */
export function renderDot(plan: Plan): string {
  const onPath = new Set<string>();
  for (let i = 1; i < plan.critical_path.length; i++) {
    onPath.add(`${plan.critical_path[i - 1]}\0${plan.critical_path[i]}`);
  }
  const critical = new Set(plan.critical_path);
  const lines = [`digraph ${quote(plan.pipeline)} {`, '  rankdir=LR;', '  node [shape=box];'];
  for (const job of plan.jobs) {
    lines.push(`  ${quote(job.name)}${critical.has(job.name) ? ' [color=red, penwidth=2]' : ''};`);
  }
  for (const job of plan.jobs) {
    for (const dep of job.dependencies) {
      const attrs = [
        dep.soft ? 'style=dashed' : '',
        onPath.has(`${dep.name}\0${job.name}`) ? 'color=red, penwidth=2' : '',
      ].filter(Boolean);
      lines.push(
        `  ${quote(dep.name)} -> ${quote(job.name)}${attrs.length ? ` [${attrs.join(', ')}]` : ''};`,
      );
    }
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
