/**
 * The example layout (config/example) through the core, end to end: every
 * pipeline's buildset is valid to store and runs to SUCCESS when every build
 * succeeds, each job requested exactly once, after its dependencies.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { loadLayout, pipelineJobs, type Layout } from '../config/index.js';
import { buildsetCodec, type Buildset } from '../model/buildset.js';
import { applyInput } from './buildset-machine.js';
import { createBuildset } from './create.js';
import { dispatchable, markDispatched } from './dispatch.js';
import { createInput, outcome } from './test-fixtures.js';

const zuulD = new URL('../../config/example/zuul.d', import.meta.url).pathname;

function runToEnd(bs: Buildset): { bs: Buildset; order: string[] } {
  const order: string[] = [];
  let now = 2000;
  bs = applyInput(bs, { type: 'start', requestId: 'co' }, now).buildset;
  bs = applyInput(bs, completed(bs, 'co', 'checkout', 1), now).buildset;
  for (let round = 0; bs.state !== 'done' && round < 1000; round++) {
    now += 100;
    for (const { job } of dispatchable(bs)) {
      bs = markDispatched(bs, job, `r-${job}`, now).buildset;
      order.push(job);
    }
    const live = bs.jobs.find((j) => j.state === 'QUEUED');
    if (live?.requestId)
      bs = applyInput(bs, completed(bs, live.requestId, live.name, 1), now).buildset;
  }
  return { bs, order };
}

function completed(bs: Buildset, requestId: string, job: string, attempt: number) {
  return {
    type: 'build-completed' as const,
    requestId,
    buildsetId: bs.id,
    job,
    attempt,
    outcome: outcome('SUCCESS'),
  };
}

describe('the example layout through the scheduler core', () => {
  let layout: Layout;
  beforeAll(async () => {
    const result = await loadLayout([zuulD]);
    expect(result.errors).toEqual([]);
    layout = result.layout!;
  });

  it('runs every pipeline to SUCCESS, each job once and after its dependencies', () => {
    expect(layout.pipelines.size).toBeGreaterThan(0);
    for (const pipeline of layout.pipelines.values()) {
      const jobs = pipelineJobs(layout, pipeline.name);
      const created = createBuildset(
        createInput(jobs, { pipeline: pipeline.name, precedence: pipeline.precedence }),
      );
      if (created.kind !== 'created') throw new Error(`${pipeline.name}: ${created.kind}`);
      const bs = created.buildset;
      expect(bs.state).toBe('queued');
      expect(buildsetCodec.decode(buildsetCodec.encode(bs))).toEqual(bs);
      const end = runToEnd(bs);
      expect([pipeline.name, end.bs.result]).toEqual([pipeline.name, 'SUCCESS']);
      expect([...end.order].sort()).toEqual(bs.graph.jobs.map((j) => j.name).sort());
      for (const job of bs.graph.jobs)
        for (const dep of job.dependencies)
          expect(end.order.indexOf(dep)).toBeLessThan(end.order.indexOf(job.name));
    }
  });
});
