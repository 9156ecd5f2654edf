/**
 * Shared by the trigger tests: a silent logger, a layout with timer
 * pipelines, and reading (then acking) the global trigger queue.
 */
import { pino, type Logger } from 'pino';
import type { Pipeline } from '../../src/config/index.js';
import { type TriggerEvent, triggerEventCodec } from '../../src/model/events.js';
import type { ZkClient } from '../../src/zk/client.js';
import type { ZkPaths } from '../../src/zk/paths.js';
import { ZkEventQueue } from '../../src/zk/queue.js';

export const silent: Logger = pino({ level: 'silent' });

export function timerLayout(entries: Record<string, string[]>): {
  pipelines: Map<string, Pipeline>;
} {
  const source = { file: 'zuul.yaml', line: 1 };
  const pipelines = new Map<string, Pipeline>();
  for (const [name, times] of Object.entries(entries)) {
    const triggers = times.map((time) => ({ kind: 'timer' as const, time, source }));
    pipelines.set(name, {
      name,
      triggers,
      manager: 'serial',
      precedence: 'normal',
      description: undefined,
      semaphores: [],
      source,
    });
  }
  return { pipelines };
}

export function triggerQueue(client: ZkClient, paths: ZkPaths): ZkEventQueue<TriggerEvent> {
  return new ZkEventQueue(client, paths.triggerEvents(), triggerEventCodec);
}

/** Every pending trigger event, oldest first. */
export async function events(client: ZkClient, paths: ZkPaths): Promise<TriggerEvent[]> {
  return (await triggerQueue(client, paths).read()).map((e) => e.value);
}

/** Acks every pending trigger event (as the router would). */
export async function drain(client: ZkClient, paths: ZkPaths): Promise<void> {
  const q = triggerQueue(client, paths);
  for (const id of await q.ids()) await q.ack(id);
}
