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
import type { TxOp, ZkClient } from '../../zk/client.js';
import { commit, ZkDocument, type PreparedOps } from '../../zk/document.js';
import type { ZkPaths } from '../../zk/paths.js';
import { emptyPipelineState } from '../index.js';
import type { PassDraft } from './draft.js';

export interface Snapshot {
  readonly state: PipelineState;
  /** null while the state document does not exist. */
  readonly stateVersion: number | null;
  readonly records: Map<string, Buildset>;
  readonly versions: ReadonlyMap<string, number>;
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
    const stored = await this.stateDoc().read();
    const state = stored?.value ?? emptyPipelineState(this.pipeline);
    const records = new Map<string, Buildset>();
    const versions = new Map<string, number>();
    await Promise.all(
      state.queue.map(async (id) => {
        const doc = await this.buildsetDoc(id).read();
        if (doc === null) return;
        records.set(id, doc.value);
        versions.set(id, doc.version);
      }),
    );
    // A listed id without a record (deleted by hand) is dropped from the queue.
    const queue = state.queue.filter((id) => records.has(id));
    return {
      state: queue.length === state.queue.length ? state : { ...state, queue },
      stateVersion: stored?.version ?? null,
      records,
      versions,
    };
  }

  /** Writes the draft (state always, so its version marks every pass that wrote). */
  async write(snapshot: Snapshot, d: PassDraft, extra: readonly TxOp[] = []): Promise<void> {
    const items: (PreparedOps | TxOp)[] = [...extra];
    const state = this.stateDoc();
    items.push(
      snapshot.stateVersion === null
        ? await state.prepareCreate(d.state)
        : await state.prepareWrite(d.state, snapshot.stateVersion),
    );
    for (const id of d.changed) {
      const bs = d.records.get(id);
      if (bs === undefined) continue;
      const version = snapshot.versions.get(id);
      const doc = this.buildsetDoc(id);
      items.push(
        version === undefined ? await doc.prepareCreate(bs) : await doc.prepareWrite(bs, version),
      );
    }
    await commit(this.zk, items);
  }
}
