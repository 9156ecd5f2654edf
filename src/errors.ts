/**
 * The base of every error Drawbridge raises on purpose. `code` is stable
 * (DRAWBRIDGE_ERR_<AREA>_<WHAT>) and listed in docs/errors.md; a test keeps
 * the two in sync. Subclasses carry the facts as typed fields.
 */
export abstract class DrawbridgeError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** A method was called in a lifecycle state that does not allow it. */
export class IllegalStateError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_STATE_ILLEGAL';
  constructor(
    readonly component: string,
    readonly state: string,
    readonly action: string,
  ) {
    super(`${component}: cannot ${action} while ${state}`);
  }
}

/** Normalises anything thrown into an Error; never lose a non-Error throw. */
export function toError(e: unknown): Error {
  if (e instanceof Error) return e;
  // Errors made in another realm (a vm context such as jest's, a worker)
  // fail instanceof but are real errors: keep their message and stack.
  if (Object.prototype.toString.call(e) === '[object Error]') return e as Error;
  if (typeof e === 'string') return new Error(e);
  try {
    return new Error(JSON.stringify(e));
  } catch {
    return new Error(String(e));
  }
}
