/**
 * The executor's component record in the registry: registered once, then
 * rewritten whenever its state or slot use changes. Writes are coalesced: a
 * burst of changes becomes one write of the latest snapshot, so the record
 * never lags behind by more than one round trip and never goes backwards.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { IllegalStateError, toError } from '../errors.js';
import type { ZkClient } from '../zk/index.js';
import { ComponentRegistration, type ComponentState } from '../zk/registry.js';

export interface RecordSnapshot {
  readonly state: ComponentState;
  readonly extra: Readonly<Record<string, unknown>>;
}

export class ExecutorRecord {
  #registration: ComponentRegistration | undefined;
  #publishing: Promise<void> | undefined;
  #again = false;

  constructor(
    private readonly log: Logger,
    private readonly snapshot: () => RecordSnapshot,
  ) {}

  /** The registry node name, once registered. */
  get id(): string | undefined {
    return this.#registration?.id;
  }

  /** Registers under `base`; the registry re-creates the node on every new session. */
  async register(zk: ZkClient, base: string, version: string): Promise<void> {
    const { state, extra } = this.snapshot();
    this.#registration = await ComponentRegistration.register(
      zk,
      base,
      { kind: 'executor', hostname: hostname(), pid: process.pid, version, state, extra },
      { onError: (err) => this.log.warn({ err }, 're-registration failed, will retry') },
    );
  }

  /** Schedules a write of the current snapshot. Never throws. */
  publish(): void {
    const reg = this.#registration;
    if (!reg) return;
    if (this.#publishing) {
      this.#again = true;
      return;
    }
    this.#publishing = (async () => {
      do {
        this.#again = false;
        const { state, extra } = this.snapshot();
        await reg.update(state, extra).catch((err: unknown) => {
          // After unregister() the registration refuses updates: nothing left to say.
          if (!(err instanceof IllegalStateError))
            this.log.warn({ err: toError(err) }, 'cannot update the component record');
        });
      } while (this.#again);
    })().finally(() => (this.#publishing = undefined));
  }

  /** Publishes and waits until the record holds the current snapshot. */
  async flush(): Promise<void> {
    this.publish();
    while (this.#publishing) await this.#publishing;
  }

  /** Waits for pending writes, then deletes the node. Never throws. */
  async unregister(): Promise<void> {
    while (this.#publishing) await this.#publishing;
    await this.#registration?.unregister().catch((err: unknown) => {
      this.log.warn({ err: toError(err) }, 'deregistration failed; the node goes with the session');
    });
  }
}
