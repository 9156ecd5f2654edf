/**
 * What a scheduler works on for one layout: the router and one
 * PipelinePasses per pipeline, and how it moves to the next layout between
 * rounds. Buildsets keep the graph frozen into their record, so a switch
 * never touches them; a pipeline the new layout drops is kept ("retiring")
 * until its queue is empty, so its buildsets in flight still finish.
 */
import type { Logger } from 'pino';
import type { Layout } from '../../config/index.js';
import type { ZkClient } from '../../zk/client.js';
import type { FinishedBuildsetSink } from '../../history/recorder.js';
import type { EventLatency } from '../../model/event-latency.js';
import type { DurationEstimates } from './durations.js';
import type { ZkPaths } from '../../zk/paths.js';
import type { ResolvedSchedulerOptions } from './options.js';
import { pipelineOrder } from './order.js';
import { PipelinePasses, type PassDeps } from './pipeline-pass.js';
import { TriggerRouter } from './routing.js';

export interface PipelineWorkDeps {
  readonly zk: ZkClient;
  readonly paths: ZkPaths;
  readonly options: ResolvedSchedulerOptions;
  readonly now: () => number;
  readonly log: Logger;
  readonly holder: string;
  readonly history?: FinishedBuildsetSink;
  readonly durations?: DurationEstimates;
  readonly latency?: EventLatency;
}

export class PipelineWork {
  #retiring: readonly PipelinePasses[];

  private constructor(
    readonly layout: Layout,
    readonly version: string,
    readonly router: TriggerRouter,
    /** The layout's pipelines, high precedence first. */
    readonly passes: readonly PipelinePasses[],
    retiring: readonly PipelinePasses[],
  ) {
    this.#retiring = retiring;
  }

  /** Pipelines an earlier layout had, still finishing their buildsets. */
  get retiring(): readonly PipelinePasses[] {
    return this.#retiring;
  }

  /** Builds and initialises (creates the queues of) the work for `layout`. */
  static async create(
    layout: Layout,
    version: string,
    deps: PipelineWorkDeps,
    retiring: readonly PipelinePasses[] = [],
  ): Promise<PipelineWork> {
    const passDeps: PassDeps = { ...deps, layout, layoutVersion: version };
    const router = new TriggerRouter(deps.zk, deps.paths, layout, deps.log);
    const passes = pipelineOrder(layout).map((p) => new PipelinePasses(p, passDeps));
    await router.init();
    await Promise.all(passes.map((p) => p.init()));
    return new PipelineWork(layout, version, router, passes, retiring);
  }

  /** The work for the next layout; pipelines it drops retire here. */
  next(layout: Layout, version: string, deps: PipelineWorkDeps): Promise<PipelineWork> {
    const dropped = [...this.retiring, ...this.passes].filter(
      (p) => !layout.pipelines.has(p.pipeline.name),
    );
    for (const p of dropped) p.retire();
    return PipelineWork.create(layout, version, deps, dropped);
  }

  /** Every pass a round runs: the layout's, then the retiring ones. */
  all(): readonly PipelinePasses[] {
    return [...this.passes, ...this.retiring];
  }

  /**
   * The queue directories whose changes wake the scheduler, each with the
   * pipeline it wakes; the global trigger queue's is undefined (every pipeline).
   */
  queueOwners(): Map<string, string | undefined> {
    return new Map([
      [this.router.globalQueue.entriesPath, undefined],
      ...this.all().flatMap((p) =>
        [p.management, p.results, p.triggers].map(
          (q) => [q.entriesPath, p.pipeline.name] as [string, string],
        ),
      ),
    ]);
  }

  /** Drops retiring pipelines with nothing left to do; true when any was dropped. */
  async pruneRetired(log: Logger): Promise<boolean> {
    const done: PipelinePasses[] = [];
    for (const p of this.retiring) if (!(await p.hasWork())) done.push(p);
    if (done.length === 0) return false;
    this.#retiring = this.#retiring.filter((p) => !done.includes(p));
    for (const p of done)
      log.info({ pipeline: p.pipeline.name }, 'pipeline removed from the layout has finished');
    return true;
  }
}
