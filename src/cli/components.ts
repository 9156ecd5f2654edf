/**
 * `drawbridge components`: every registered scheduler, executor and web with
 * its state, version and start time (the registry in ZooKeeper), and the
 * latest rolling restart. `drawbridge components pause|resume|drain ID` sends
 * a control request to one of them and waits until it is carried out.
 */
import {
  actionCarriedOut,
  clearControlRequest,
  listAllComponents,
  readRollingRestart,
  requestComponentAction,
  type ControlAction,
  type RollingRestartView,
} from '../ops/index.js';
import { listComponents, type RegisteredComponent } from '../zk/index.js';
import { openAdminSession } from './admin-session.js';
import type { Env } from './daemon-config-load.js';
import { timeoutSeconds } from './errors.js';
import { EXIT, type Io } from './io.js';

export interface ComponentsOptions {
  readonly config: string;
  readonly json?: boolean;
}

export async function componentsCommand(
  options: ComponentsOptions,
  env: Env,
  io: Io,
): Promise<number> {
  const session = await openAdminSession(options.config, env, io);
  if (session === undefined) return EXIT.invalid;
  try {
    const components = await listAllComponents(session.zk, session.paths);
    const restart = await readRollingRestart(session.zk, session.paths);
    io.stdout.write(
      options.json
        ? `${JSON.stringify({ components, rollingRestart: restart }, null, 2)}\n`
        : renderComponents(components, restart, Date.now()),
    );
    return EXIT.ok;
  } finally {
    await session.zk.close();
  }
}

export function renderComponents(
  components: readonly RegisteredComponent[],
  restart: RollingRestartView | null,
  now: number,
): string {
  const rows = components.map((c) => [
    c.kind,
    c.state,
    c.id,
    c.version,
    `${c.startedAt.replace(/\.\d+Z$/, 'Z')} (${age(now - Date.parse(c.startedAt))})`,
    `${c.hostname}:${c.pid}`,
    detail(c),
  ]);
  const head = ['KIND', 'STATE', 'ID', 'VERSION', 'STARTED', 'HOST:PID', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out =
    components.length === 0 ? ['no component is registered'] : [line(head), ...rows.map(line)];
  if (restart !== null) {
    const steps = restart.steps.map((s) => `${s.component}: ${s.state}`).join(', ');
    const dead = restart.state === 'running' && !restart.driverAlive ? ' (its driver is gone)' : '';
    out.push(
      '',
      `rolling restart ${restart.id} of ${restart.kind}s: ${restart.state}${dead}, started ${restart.startedAt}`,
      `  ${restart.message}`,
      `  ${steps}`,
    );
  }
  return `${out.join('\n')}\n`;
}

function detail(c: RegisteredComponent): string {
  const e = c.extra;
  if (c.kind === 'executor' && typeof e.slots === 'number')
    return `slots ${typeof e.slotsInUse === 'number' ? e.slotsInUse : '?'}/${e.slots}`;
  if (c.kind === 'web' && typeof e.url === 'string') return e.url;
  if (c.kind === 'scheduler' && typeof e.layoutVersion === 'string')
    return `layout ${e.layoutVersion}`;
  return '';
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86_400)}d`;
}

export interface ControlOptions {
  readonly config: string;
  /** Seconds, as typed. */
  readonly timeout: string;
}

/** `drawbridge components pause|resume|drain ID`. */
export async function componentControlCommand(
  action: ControlAction,
  id: string,
  options: ControlOptions,
  env: Env,
  io: Io,
): Promise<number> {
  const timeoutS = timeoutSeconds(options.timeout);
  const session = await openAdminSession(options.config, env, io);
  if (session === undefined) return EXIT.invalid;
  const { zk, paths } = session;
  try {
    const { request, component } = await requestComponentAction(
      zk,
      paths,
      id,
      action,
      `cli (${env.USER ?? 'unknown user'})`,
    );
    io.stderr.write(`asked ${id} to ${action} (request ${request.id}); waiting\n`);
    const deadline = Date.now() + timeoutS * 1000;
    for (;;) {
      const now = (await listComponents(zk, paths.components(kindOf(component)))).find(
        (c) => c.id === id,
      );
      if (actionCarriedOut(action, now)) break;
      if (Date.now() > deadline) {
        io.stderr.write(`drawbridge: ${id} did not ${action} within ${timeoutS} s\n`);
        return EXIT.invalid;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (action === 'drain') await clearControlRequest(zk, paths, id);
    io.stdout.write(`${id}: ${DONE[action]}\n`);
    return EXIT.ok;
  } finally {
    await zk.close();
  }
}

const DONE: Record<ControlAction, string> = {
  drain: 'drained and gone',
  pause: 'paused',
  resume: 'running',
};

function kindOf(c: RegisteredComponent): 'scheduler' | 'executor' | 'web' {
  return c.kind === 'scheduler' || c.kind === 'executor' ? c.kind : 'web';
}
