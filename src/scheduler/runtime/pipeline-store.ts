/**
 * A pipeline's records in ZooKeeper: its state document and one document
 * per buildset. Read with their versions; written back in ONE transaction,
 * compare-and-set on every version read, so a pass that raced another
 * writer fails whole and is started again.
 */
import {
  buildsetCodec,
  pipelineStateCodec,
  type Buildset,
  type PipelineState,
} from '../../model/index.js';
import { IllegalStateError } from '../../errors.js';
import type { TxOp, ZkClient } from '../../zk/client.js';
import { commit, ZkDocument, type PreparedOps, type Stored } from '../../zk/document.js';
import type { ZkPaths } from '../../zk/paths.js';
import { emptyPipelineState } from '../index.js';
import type { PassDraft } from './draft.js';

export interface Snapshot {
  readonly state: PipelineState;
  /** null while the state document does not exist. */
  readonly stateVersion: number | null;
  readonly records: Map<string, Buildset>;
  readonly versions: ReadonlyMap<string, number>;
  /** What was read, generations included: the write then reads nothing again. */
  readonly stored?: {
    readonly state: Stored<PipelineState> | null;
    readonly records: ReadonlyMap<string, Stored<Buildset>>;
  };
}

export class PipelineStore {
  constructor(
    private readonly zk: ZkClient,
    private readonly paths: ZkPaths,
    readonly pipeline: string,
  ) {}

  stateDoc(): ZkDocument<PipelineState> {
    return new ZkDocument(this.zk, this.paths.pipelineState(this.pipeline), pipelineStateCodec);
  }

  buildsetDoc(id: string): ZkDocument<Buildset> {
    return new ZkDocument(this.zk, this.paths.buildset(this.pipeline, id), buildsetCodec);
  }

  async init(): Promise<void> {
    await this.zk.mkdirp(this.paths.pipelineBuildsets(this.pipeline));
  }

  async load(): Promise<Snapshot> {
    const stored = await this.stateDoc().readStored();
    const state = stored?.value ?? emptyPipelineState(this.pipeline);
    const records = new Map<string, Buildset>();
    const versions = new Map<string, number>();
    const storedRecords = new Map<string, Stored<Buildset>>();
    await Promise.all(
      state.queue.map(async (id) => {
        const doc = await this.buildsetDoc(id).readStored();
        if (doc === null) return;
        records.set(id, doc.value);
        versions.set(id, doc.version);
        storedRecords.set(id, doc);
      }),
    );
    // A listed id without a record (deleted by hand) is dropped from the queue.
    const queue = state.queue.filter((id) => records.has(id));
    return {
      state: queue.length === state.queue.length ? state : { ...state, queue },
      stateVersion: stored?.version ?? null,
      records,
      versions,
      stored: { state: stored, records: storedRecords },
    };
  }

  /**
   * The ops that write the draft (state always, so its version marks every
   * pass that wrote), for one transaction with whatever else the pass adds.
   */
  async prepare(snapshot: Snapshot, d: PassDraft): Promise<(PreparedOps | TxOp)[]> {
    const items: (PreparedOps | TxOp)[] = [];
    const state = this.stateDoc();
    items.push(
      snapshot.stateVersion === null
        ? await state.prepareCreate(d.state)
        : await state.prepareWrite(d.state, at(snapshot.stored?.state, snapshot.stateVersion)),
    );
    for (const id of d.changed) {
      const bs = d.records.get(id);
      if (bs === undefined) continue;
      const version = snapshot.versions.get(id);
      const doc = this.buildsetDoc(id);
      items.push(
        version === undefined
          ? await doc.prepareCreate(bs)
          : await doc.prepareWrite(bs, at(snapshot.stored?.records.get(id), version)),
      );
    }
    return items;
  }

  /** Writes the draft, with `extra` in the same transaction. */
  async write(
    snapshot: Snapshot,
    d: PassDraft,
    extra: readonly (TxOp | PreparedOps)[] = [],
  ): Promise<void> {
    await commit(this.zk, [...(await this.prepare(snapshot, d)), ...extra]);
  }

  /**
   * In place of the write, for a pass that changed nothing but has events to
   * ack: the transaction then needs the state still at the version read. The
   * version stays, so other schedulers see no writer and need not reconcile.
   */
  checkOp(snapshot: Snapshot): TxOp {
    if (snapshot.stateVersion === null)
      throw new IllegalStateError('PipelineStore', 'without a stored state', 'check its version');
    const path = this.paths.pipelineState(this.pipeline);
    return { op: 'check', path, version: snapshot.stateVersion };
  }
}

/** The stored read when it is of `version`; else the version alone (the write reads it again). */
function at<T>(stored: Stored<T> | null | undefined, version: number): Stored<T> | number {
  return stored?.version === version ? stored : version;
}
