/**
 * A pipeline pass stores what it did in ONE transaction: the state, the
 * requests it asks for, the acks of the events it applied and the deletes
 * of the requests whose results it applied. Against the shared ZooKeeper;
 * the scheduler's client is the real one, watched for its transactions.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { loadLayoutFromSources, type Layout } from '../../src/config/index.js';
import { tryClaim } from '../../src/executor/claim.js';
import { Reporter } from '../../src/executor/report.js';
import { Scheduler, checkoutRequestId, jobRequestId } from '../../src/scheduler/runtime/index.js';
import type { TxOp, ZkClient } from '../../src/zk/client.js';
import { ZkPaths } from '../../src/zk/paths.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { putManagement } from '../fixtures/pipeline-events.js';
import { waitUntil } from '../fixtures/wait.js';
import { newChroot } from '../fixtures/zookeeper.js';

const paths = new ZkPaths('/drawbridge');
const PIPELINE = 'deploy';

const WIDE = 'wide';
/** Jobs of the wide pipeline: 100 KB of vars each: 1.2 MB of requests, more than one transaction may carry. */
const WIDE_JOBS = Array.from({ length: 12 }, (_, i) => `w${i}`);

function layout(): Layout {
  const blob = 'x'.repeat(100 * 1024);
  const text =
    '- job:\n    name: j\n    run: playbooks/j.yml\n' +
    WIDE_JOBS.map(
      (j) => `- job:\n    name: ${j}\n    run: playbooks/j.yml\n    vars:\n      blob: ${blob}\n`,
    ).join('') +
    `- pipeline:\n    name: ${PIPELINE}\n    manager: serial\n    trigger:\n      manual: true\n` +
    `- pipeline:\n    name: ${WIDE}\n    manager: serial\n    trigger:\n      manual: true\n` +
    `- project:\n    ${PIPELINE}:\n      jobs: [j]\n    ${WIDE}:\n      jobs: [${WIDE_JOBS.join(', ')}]\n`;
  const loaded = loadLayoutFromSources([{ file: 'zuul.d/layout.yaml', text }]);
  if (!loaded.layout) throw new Error(loaded.errors.map((e) => e.message).join('; '));
  return loaded.layout;
}

/** The real client; every committed transaction's ops are kept, in order. */
function recording(client: ZooKeeperClient): { zk: ZkClient; committed: TxOp[][] } {
  const committed: TxOp[][] = [];
  const transaction = async (ops: readonly TxOp[]): Promise<string[]> => {
    const created = await client.transaction(ops);
    committed.push([...ops]);
    return created;
  };
  const zk = new Proxy(client, {
    get(target, prop) {
      if (prop === 'transaction') return transaction;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  }) as ZkClient;
  return { zk, committed };
}

const has = (tx: readonly TxOp[], op: TxOp['op'], path: string | RegExp) =>
  tx.some((o) => o.op === op && (typeof path === 'string' ? o.path === path : path.test(o.path)));

let own: ZooKeeperClient;
let executorZk: ZooKeeperClient;

describe('a pipeline pass’s transaction', () => {
  let scheduler: Scheduler | undefined;

  beforeAll(async () => {
    const chroot = await newChroot('pass-transaction');
    const connect = () =>
      connectZooKeeper({ connectString: chroot.connectString, sessionTimeoutMs: 4_000 });
    own = await connect();
    executorZk = await connect();
  });
  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
    await own.deleteRecursive('/drawbridge');
  });
  afterAll(async () => {
    await Promise.all([own?.close(), executorZk?.close()]);
  });

  it('acks events and forgets requests in the transaction that stores their effect', async () => {
    const { zk, committed } = recording(own);
    scheduler = new Scheduler(
      { version: 'test' },
      { zk, paths, layout: layout(), layoutVersion: 'v1', logger: pino({ level: 'silent' }) },
    );
    await scheduler.start();
    const state = paths.pipelineState(PIPELINE);
    const management = `${paths.pipelineManagementEvents(PIPELINE)}/entries/`;
    const results = `${paths.pipelineResultEvents(PIPELINE)}/entries/`;
    const buildset = await putManagement(
      own,
      paths,
      { type: 'enqueue', pipeline: PIPELINE, ref: 'refs/heads/main', commit: 'a'.repeat(40) },
      'pass-tx-1',
    );
    const checkout = checkoutRequestId(buildset);
    await waitUntil(
      async () => (await own.exists(paths.buildRequest(checkout))) !== null,
      'the checkout to be requested',
    );
    // The enqueue: state, the event's ack and the checkout request, all at once.
    const enqueued = committed.filter((tx) => has(tx, 'delete', new RegExp(`^${management}`)));
    expect(enqueued).toHaveLength(1);
    expect(has(enqueued[0]!, 'create', state) || has(enqueued[0]!, 'set', state)).toBe(true);
    expect(has(enqueued[0]!, 'create', paths.buildRequest(checkout))).toBe(true);

    await runCheckout(checkout);
    await waitUntil(
      async () => (await own.exists(paths.buildRequest(checkout))) === null,
      'the finished checkout request to be deleted',
    );
    // The result: state, the event's ack, the finished request's delete, and the job's request.
    const applied = committed.filter((tx) => has(tx, 'delete', paths.buildRequest(checkout)));
    expect(applied).toHaveLength(1);
    const tx = applied[0]!;
    expect(has(tx, 'set', state)).toBe(true);
    expect(has(tx, 'delete', new RegExp(`^${results}`))).toBe(true);
    expect(has(tx, 'create', paths.buildRequest(jobRequestId(buildset, 'j')))).toBe(true);
  });

  it('creates what does not fit in the transaction after it', async () => {
    const { zk, committed } = recording(own);
    scheduler = new Scheduler(
      { version: 'test' },
      { zk, paths, layout: layout(), layoutVersion: 'v1', logger: pino({ level: 'silent' }) },
    );
    await scheduler.start();
    const buildset = await putManagement(
      own,
      paths,
      { type: 'enqueue', pipeline: WIDE, ref: 'refs/heads/main', commit: 'a'.repeat(40) },
      'pass-tx-wide',
    );
    const checkout = checkoutRequestId(buildset);
    await waitUntil(
      async () => (await own.exists(paths.buildRequest(checkout))) !== null,
      'the checkout to be requested',
    );
    await runCheckout(checkout);
    const jobs = WIDE_JOBS.map((j) => paths.buildRequest(jobRequestId(buildset, j)));
    await waitUntil(
      async () => (await Promise.all(jobs.map((p) => own.exists(p)))).every((s) => s !== null),
      'every job to be requested',
    );
    const applied = committed.find((tx) => has(tx, 'delete', paths.buildRequest(checkout)));
    const inline = jobs.filter((p) => applied !== undefined && has(applied, 'create', p));
    // Some went with the state, the rest right after it.
    expect(inline.length).toBeGreaterThan(0);
    expect(inline.length).toBeLessThan(jobs.length);
  });
});

async function runCheckout(checkout: string): Promise<void> {
  // An executor runs the checkout and reports it.
  await executorZk.mkdirp(paths.buildLocks());
  const claim = await tryClaim(checkout, {
    client: executorZk,
    paths,
    executorId: 'exec-test',
    now: Date.now,
    stillClaiming: () => true,
    onLockLost: () => undefined,
  });
  if (!claim.claimed) throw new Error(`checkout not claimed: ${claim.why}`);
  const outcome = {
    result: 'SUCCESS' as const,
    retryable: false,
    reason: 'exit status 0',
    startedAt: Date.now(),
    endedAt: Date.now(),
    exitCode: 0,
    logPath: null,
  };
  const reported = await new Reporter(executorZk, paths).report(claim.claim, outcome);
  if (!reported.reported) throw new Error(`checkout not reported: ${reported.why}`);
}
