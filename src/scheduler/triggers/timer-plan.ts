/**
 * Pure planning for timer triggers: which timers a layout defines, when
 * each fires next (slot time plus the jitter every scheduler derives alike),
 * which late firings are dropped, and which old slot nodes may be pruned.
 */
import type { Layout } from '../../config/index.js';
import { type CronSchedule, jitterMs, nextFireAfter, parseCron, slotId } from '../../cron/index.js';
import { TriggerTimerError } from './errors.js';

export interface TimerSpec {
  readonly pipeline: string;
  /** The expression as written in the layout. */
  readonly time: string;
  readonly schedule: CronSchedule;
  /** Same key, same slots: timers that differ only in jitter or spacing share one. */
  readonly key: string;
}

/** One firing of one timer: its slot (identity) and when it is due. */
export interface Firing {
  readonly pipeline: string;
  readonly slot: string;
  /** The exact cron instant the slot names. */
  readonly slotMs: number;
  /** slotMs plus the derived jitter: when the slot is claimed. */
  readonly dueMs: number;
}

/** Every timer trigger of the layout, one per (pipeline, distinct schedule). */
export function timerSpecs(layout: Pick<Layout, 'pipelines'>): TimerSpec[] {
  const specs = new Map<string, TimerSpec>();
  for (const pipeline of layout.pipelines.values()) {
    for (const trigger of pipeline.triggers) {
      if (trigger.kind !== 'timer') continue;
      let schedule: CronSchedule;
      try {
        schedule = parseCron(trigger.time);
      } catch (e) {
        throw new TriggerTimerError(pipeline.name, trigger.time, { cause: e });
      }
      const key = `${pipeline.name} ${fields(schedule)}`;
      if (!specs.has(key))
        specs.set(key, { pipeline: pipeline.name, time: trigger.time, schedule, key });
    }
  }
  return [...specs.values()];
}

/** The first firing whose slot is strictly after `afterMs`. */
export function firingAfter(spec: TimerSpec, afterMs: number): Firing {
  const slotMs = nextFireAfter(spec.schedule, afterMs);
  const slot = slotId(spec.schedule, slotMs);
  return {
    pipeline: spec.pipeline,
    slot,
    slotMs,
    dueMs: slotMs + jitterMs(spec.schedule, `${spec.pipeline}/${slot}`),
  };
}

/**
 * The next firing after the slot at `afterSlotMs` that is still due: one
 * whose due time lies more than `toleranceMs` before `nowMs` is missed and
 * skipped, as Zuul does not catch up timers either.
 */
export function nextDueFiring(
  spec: TimerSpec,
  afterSlotMs: number,
  nowMs: number,
  toleranceMs: number,
): Firing {
  const earliestDue = nowMs - toleranceMs;
  // Jump over a long gap at once; jitter can delay a slot by at most its bound.
  const from = Math.max(afterSlotMs, earliestDue - spec.schedule.jitterSeconds * 1000 - 1000);
  let firing = firingAfter(spec, from);
  while (firing.dueMs < earliestDue) firing = firingAfter(spec, firing.slotMs);
  return firing;
}

const SLOT_TIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z(?:-|$)/;

/** The instant a slot id names (`20261124T020000Z-…`), or undefined for another name. */
export function slotTime(slot: string): number | undefined {
  const m = SLOT_TIME.exec(slot);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

/**
 * Slot nodes that may go: all but the newest `keep`, and of those only the
 * ones older than `retainMs`, so that no slot a late scheduler could still
 * fire is removed (its claim would then succeed a second time).
 */
export function slotsToPrune(
  names: readonly string[],
  nowMs: number,
  keep: number,
  retainMs: number,
): string[] {
  const dated = names
    .map((name) => ({ name, ms: slotTime(name) }))
    .filter((s): s is { name: string; ms: number } => s.ms !== undefined)
    .sort((a, b) => b.ms - a.ms || (a.name < b.name ? 1 : -1));
  return dated
    .slice(keep)
    .filter((s) => s.ms < nowMs - retainMs)
    .map((s) => s.name);
}

function fields(s: CronSchedule): string {
  return [s.seconds, s.minutes, s.hours, s.daysOfMonth, s.months, s.daysOfWeek]
    .map((f) => f.join(','))
    .join(' ');
}
