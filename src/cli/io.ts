/** The streams a command writes to; tests pass buffers, main passes process's. */
export interface Io {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/** Exit codes every command shares. */
export const EXIT = {
  ok: 0,
  /** The input was understood and found wanting (an invalid layout, a plan with errors). */
  invalid: 1,
  /** The command could not do its work (bad flags, unreadable files, git failed). */
  usage: 2,
} as const;
