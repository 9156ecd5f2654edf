/**
 * Trigger sources that put events on the global trigger queue: timer slots
 * (exactly once per slot across schedulers) and git polling (once per push).
 * See docs/triggers.md.
 */
export {
  TimerTrigger,
  type TimerTriggerState,
  type TimerTriggerOptions,
  type TimerTriggerDeps,
  type TimerFiring,
} from './timer.js';
export {
  GitPoller,
  type GitPollerState,
  type GitPollerOptions,
  type GitPollerDeps,
  type PollResult,
  type PollOutcome,
} from './poller.js';
export {
  type Firing,
  type TimerSpec,
  timerSpecs,
  firingAfter,
  nextDueFiring,
} from './timer-plan.js';
export { type SlotRecord, slotRecordCodec } from './slot-claim.js';
export { type RefState, refStateCodec, refStatePath, refStatesPath } from './ref-state.js';
export { resolveLocalHead } from './local-clone.js';
export { branchRef, refKey, checkRepositoryUrl, redactUrl } from './names.js';
export * from './errors.js';
