/**
 * Routing: moves each event of the global trigger queue onto the trigger
 * queue of every pipeline it concerns. One transaction per event puts the
 * copies and deletes the original, so an event is routed exactly once even
 * when several schedulers route at the same time (the loser's delete fails
 * and with it its whole transaction). No lock is needed.
 */
import type { Logger } from 'pino';
import type { Layout, Pipeline } from '../../config/index.js';
import { toError } from '../../errors.js';
import { compilePattern } from '../../graph/index.js';
import { triggerEventCodec, type TriggerEvent } from '../../model/index.js';
import { commit, type PreparedOps } from '../../zk/document.js';
import type { TxOp, ZkClient } from '../../zk/client.js';
import { ZkBadVersionError, ZkNoNodeError, ZkNodeExistsError } from '../../zk/errors.js';
import type { ZkPaths } from '../../zk/paths.js';
import { ZkEventQueue } from '../../zk/queue.js';
import { dropGeneration, parseHeader, unlessMissing } from '../../zk/shard.js';

const HEADS = 'refs/heads/';

/** The pipelines `event` should run in, by their triggers. Pure. */
export function pipelinesFor(layout: Layout, event: TriggerEvent): string[] {
  if (event.type === 'timer') return layout.pipelines.has(event.pipeline) ? [event.pipeline] : [];
  return [...layout.pipelines.values()].filter((p) => refMatches(p, event.ref)).map((p) => p.name);
}

function refMatches(pipeline: Pipeline, ref: string): boolean {
  const branch = ref.startsWith(HEADS) ? ref.slice(HEADS.length) : null;
  return pipeline.triggers.some((t) => {
    if (t.kind !== 'ref-updated') return false;
    // Both filters apply when both are given, as Zuul's event filters do.
    const refOk = t.refs.length === 0 || t.refs.some((r) => compilePattern(r).test(ref));
    const branchOk =
      t.branches.length === 0 ||
      (branch !== null && t.branches.some((b) => compilePattern(b).test(branch)));
    return refOk && branchOk;
  });
}

export class TriggerRouter {
  readonly #global: ZkEventQueue<TriggerEvent>;
  readonly #perPipeline = new Map<string, ZkEventQueue<TriggerEvent>>();

  constructor(
    private readonly zk: ZkClient,
    paths: ZkPaths,
    private readonly layout: Layout,
    private readonly log: Logger,
  ) {
    this.#global = new ZkEventQueue(zk, paths.triggerEvents(), triggerEventCodec);
    for (const name of layout.pipelines.keys())
      this.#perPipeline.set(
        name,
        new ZkEventQueue(zk, paths.pipelineTriggerEvents(name), triggerEventCodec),
      );
  }

  get globalQueue(): ZkEventQueue<TriggerEvent> {
    return this.#global;
  }

  /** Creates the queues the transactions write into. */
  async init(): Promise<void> {
    await this.#global.init();
    await Promise.all([...this.#perPipeline.values()].map((q) => q.init()));
  }

  /**
   * Routes the pending global events, at most `limit`; returns how many this
   * scheduler routed. `onMore`: more than `limit` were pending and this batch
   * made way for them (another round now); `onFailed`: an event could not be
   * routed (retried in the next round, whatever starts it).
   */
  async routeAll(
    limit: number,
    hooks: { onMore?: () => void; onFailed?: () => void } = {},
  ): Promise<number> {
    let routed = 0;
    // Counted on the listing: another scheduler routing the same backlog makes reads come up short.
    const ids = await this.#global.ids();
    for (const entry of await this.#global.readEach(ids.slice(0, limit))) {
      // Unreadable (say, written by a newer version during a rolling upgrade): kept for a
      // scheduler that can read it, and the events behind it are routed meanwhile.
      if ('error' in entry) {
        hooks.onFailed?.();
        this.log.warn({ err: entry.error, entry: entry.id }, 'global event unreadable; kept');
        continue;
      }
      try {
        if (await this.#route(entry.id, entry.value)) routed += 1;
      } catch (e) {
        hooks.onFailed?.();
        this.log.warn({ err: toError(e), event: entry.value.id }, 'routing failed; will retry');
      }
    }
    // A batch that routed nothing would only be read again at once: no round for it.
    if (ids.length > limit && routed > 0) hooks.onMore?.();
    return routed;
  }

  async #route(entryId: string, event: TriggerEvent): Promise<boolean> {
    const targets = pipelinesFor(this.layout, event);
    const path = `${this.#global.entriesPath}/${entryId}`;
    const node = await unlessMissing(this.zk.get(path), null);
    if (!node) return false;
    const puts: PreparedOps[] = [];
    for (const name of targets) {
      const queue = this.#perPipeline.get(name);
      if (queue) puts.push(await queue.preparePut(event));
    }
    const remove: TxOp = { op: 'delete', path, version: node.stat.version };
    try {
      await commit(this.zk, [...puts, remove]);
    } catch (e) {
      // Another scheduler routed it first: its copies are the ones that count.
      if (e instanceof ZkNoNodeError || e instanceof ZkBadVersionError) return false;
      if (e instanceof ZkNodeExistsError) return false;
      throw e;
    }
    await dropGeneration(this.zk, parseHeader(node.data, path)).catch(() => undefined);
    const log = this.log.child({ event: event.id, type: event.type });
    if (targets.length === 0) log.info('trigger event matches no pipeline; dropped');
    else log.debug({ pipelines: targets }, 'trigger event routed');
    return true;
  }
}
