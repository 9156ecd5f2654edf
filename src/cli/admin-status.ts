/**
 * `drawbridge status`: every pipeline's queue as the schedulers last wrote
 * it to ZooKeeper (the summary web serves), as a table or as JSON.
 */
import type { PipelineStatus } from '../scheduler/index.js';
import { readStatus } from '../scheduler/runtime/index.js';
import { openAdminSession } from './admin-session.js';
import type { Env } from './daemon-config-load.js';
import { EXIT, type Io } from './io.js';

export interface StatusOptions {
  readonly config: string;
  readonly json?: boolean;
}

export async function statusCommand(options: StatusOptions, env: Env, io: Io): Promise<number> {
  const session = await openAdminSession(options.config, env, io);
  if (session === undefined) return EXIT.invalid;
  try {
    const { zk, paths } = session;
    const names = (await zk.exists(paths.pipelines()))
      ? (await zk.children(paths.pipelines())).sort()
      : [];
    const statuses: PipelineStatus[] = [];
    for (const name of names) {
      const status = await readStatus(zk, paths, name);
      if (status !== null) statuses.push(status);
    }
    io.stdout.write(
      options.json
        ? `${JSON.stringify({ pipelines: statuses }, null, 2)}\n`
        : renderStatus(statuses),
    );
    return EXIT.ok;
  } finally {
    await session.zk.close();
  }
}

export function renderStatus(statuses: readonly PipelineStatus[]): string {
  if (statuses.length === 0) return 'no pipeline has run yet\n';
  const lines: string[] = [];
  for (const p of statuses) {
    lines.push(
      `${p.pipeline} (${p.manager}): ${p.buildsets.length === 0 ? 'idle' : `${p.buildsets.length} buildset(s)`}`,
    );
    for (const bs of p.buildsets) {
      const { progress: c } = bs;
      lines.push(
        `  ${bs.id}  ${bs.state}${bs.result ? ` ${bs.result}` : ''}  ${bs.commit.slice(0, 12)}  ` +
          `${c.succeeded}/${c.total} ok, ${c.running} running, ${c.failed} failed, ${c.skipped} skipped`,
      );
      for (const job of bs.jobs.filter((j) => j.state === 'RUNNING' || j.state === 'FAILURE')) {
        lines.push(`    ${job.state.padEnd(8)} ${job.name}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
