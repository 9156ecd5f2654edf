import { describe, expect, it } from '@jest/globals';
import { buildsetCodec, pipelineStateCodec, type Buildset } from './buildset.js';

const step = {
  state: 'WAITING',
  attempt: 0,
  requestBase: null,
  requestId: null,
  reason: null,
  queuedAt: null,
  startedAt: null,
  endedAt: null,
  lastOutcome: null,
} as const;

const record = (over: Partial<Buildset> = {}): Buildset => ({
  id: 'bs1',
  pipeline: 'deploy',
  ref: 'refs/heads/main',
  commit: 'a'.repeat(40),
  oldCommit: null,
  trigger: { kind: 'timer', detail: '0 3 * * *' },
  changedFiles: null,
  layoutVersion: 'v1',
  precedence: 'normal',
  semaphores: ['prod'],
  createdAt: 1,
  startedAt: null,
  endedAt: null,
  state: 'queued',
  result: null,
  message: null,
  graph: {
    jobs: [
      {
        name: 'base',
        dependencies: [],
        droppedSoftDependencies: [],
        playbook: 'playbooks/base.yaml',
        vars: { a: [1, { b: 2 }] },
        semaphores: ['db'],
        timeoutMs: 60_000,
        attempts: 3,
      },
    ],
    selection: [{ job: 'base', selected: true, message: 'selected: timer' }],
    errors: [],
  },
  checkout: { ...step },
  jobs: [{ ...step, name: 'base', heldSemaphores: [] }],
  ...over,
});

const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('buildset records', () => {
  it('round-trip through the codec', () => {
    const bs = record();
    expect(buildsetCodec.decode(buildsetCodec.encode(bs))).toEqual(bs);
  });

  it('read a record written before pipelines had semaphores as holding none', () => {
    const old: Partial<Buildset> = record();
    delete old.semaphores;
    expect(buildsetCodec.decode(bytes(old)).semaphores).toEqual([]);
  });

  it('refuse an abbreviated commit, naming the field', () => {
    expect(() => buildsetCodec.decode(bytes(record({ commit: 'abc' })))).toThrow(/commit/);
  });

  it('refuse progress that does not match the frozen jobs', () => {
    const bs = record({ jobs: [{ ...step, name: 'other', heldSemaphores: [] }] });
    expect(() => buildsetCodec.decode(bytes(bs))).toThrow(/graph\.jobs/);
  });

  it('refuse a result on a buildset that is not done, and a done one without result', () => {
    expect(() => buildsetCodec.decode(bytes(record({ result: 'SUCCESS' })))).toThrow(/result/);
    expect(() => buildsetCodec.decode(bytes(record({ state: 'done' })))).toThrow(/result/);
  });

  it('refuse an unknown job state', () => {
    const bs = { ...record(), checkout: { ...step, state: 'PAUSED' } };
    expect(() => buildsetCodec.decode(bytes(bs))).toThrow(/state/);
  });
});

describe('pipeline state records', () => {
  it('round-trip through the codec', () => {
    const s = { pipeline: 'deploy', queue: ['a', 'b'] };
    expect(pipelineStateCodec.decode(pipelineStateCodec.encode(s))).toEqual(s);
  });

  it('refuse a queue that lists a buildset twice', () => {
    expect(() => pipelineStateCodec.decode(bytes({ pipeline: 'p', queue: ['a', 'a'] }))).toThrow(
      /unique/,
    );
  });
});
