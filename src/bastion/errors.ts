import { DrawbridgeError } from '../errors.js';

/**
 * Base of every bastion/SSH error. `retryable` tells the executor whether the
 * build may be attempted again: true only when the playbook cannot have started.
 */
export abstract class BastionError extends DrawbridgeError {
  abstract readonly retryable: boolean;
}

/** The options given to the bastion connection are unusable. */
export class BastionConfigError extends BastionError {
  readonly code = 'DRAWBRIDGE_ERR_BASTION_CONFIG';
  readonly retryable = false;
  constructor(
    readonly key: string,
    readonly expected: string,
  ) {
    super(`bastion option ${key}: expected ${expected}`);
  }
}

/** The configured host key pin is neither a `SHA256:` fingerprint nor a known_hosts line. */
export class SshHostKeyPinError extends BastionError {
  readonly code = 'DRAWBRIDGE_ERR_SSH_HOST_KEY_PIN_INVALID';
  readonly retryable = false;
  constructor(readonly pin: string) {
    super(
      `host key pin ${JSON.stringify(pin)} is neither an OpenSSH SHA256: fingerprint nor a known_hosts line`,
    );
  }
}

/** The bastion presented a host key that matches none of the pinned ones. */
export class SshHostKeyMismatchError extends BastionError {
  readonly code = 'DRAWBRIDGE_ERR_SSH_HOST_KEY_MISMATCH';
  readonly retryable = false;
  constructor(
    readonly host: string,
    readonly expected: readonly string[],
    readonly got: string,
  ) {
    super(`host key of ${host} is ${got}, expected ${expected.join(' or ')}: refusing to connect`);
  }
}

/** TCP, handshake or authentication failed. */
export class SshConnectError extends BastionError {
  readonly code = 'DRAWBRIDGE_ERR_SSH_CONNECT';
  readonly retryable = true;
  constructor(
    readonly host: string,
    readonly port: number,
    cause: Error,
  ) {
    super(`cannot connect to bastion ${host}:${port}: ${cause.message}`, { cause });
  }
}

/** The connection was down and did not come back within the wait limit. */
export class SshNotConnectedError extends BastionError {
  readonly code = 'DRAWBRIDGE_ERR_SSH_NOT_CONNECTED';
  readonly retryable = true;
  constructor(
    readonly host: string,
    readonly waitedMs: number,
    cause?: Error,
  ) {
    super(
      `bastion ${host} not connected after waiting ${waitedMs} ms${cause ? `: ${cause.message}` : ''}`,
      cause ? { cause } : undefined,
    );
  }
}

/** The bastion refused a new channel (for example its MaxSessions was reached by another client). */
export class SshChannelOpenError extends BastionError {
  readonly code = 'DRAWBRIDGE_ERR_SSH_CHANNEL_OPEN';
  readonly retryable = true;
  constructor(
    readonly host: string,
    cause: Error,
  ) {
    super(`bastion ${host} refused a channel: ${cause.message}`, { cause });
  }
}

/**
 * The connection broke while a command ran, or the job runner on the bastion
 * ended under it. Retryable when the command had not started (the playbook
 * cannot have changed anything), or when its process group was killed through
 * the control lane afterwards, so a retry cannot overlap it.
 */
export class SshConnectionLostError extends BastionError {
  readonly code = 'DRAWBRIDGE_ERR_SSH_CONNECTION_LOST';
  readonly retryable: boolean;
  constructor(
    readonly host: string,
    readonly started: boolean,
    /** True when the runner, not the connection, was lost, and the command's group was killed since. */
    readonly groupKilled = false,
  ) {
    super(
      groupKilled
        ? `job runner on bastion ${host} ended while the command ran; its process group was killed`
        : started
          ? `connection to bastion ${host} lost while the command ran; its process group is killed on the bastion`
          : `connection to bastion ${host} lost before the command started`,
    );
    this.retryable = !started || groupKilled;
  }
}

/** A name, ref, sha, path or URL that would reach a remote command line is not acceptable. */
export class BastionInvalidNameError extends BastionError {
  readonly code = 'DRAWBRIDGE_ERR_BASTION_INVALID_NAME';
  readonly retryable = false;
  constructor(
    readonly kind: string,
    readonly value: string,
    readonly rule: string,
  ) {
    super(`invalid ${kind} ${JSON.stringify(value)}: ${rule}`);
  }
}

/** The checkout step failed: the buildset cannot run. */
export class BastionCheckoutError extends BastionError {
  readonly code = 'DRAWBRIDGE_ERR_BASTION_CHECKOUT';
  readonly retryable = false;
  constructor(
    readonly buildset: string,
    readonly sha: string,
    readonly reason: string,
  ) {
    super(`checkout of ${sha} for buildset ${buildset} failed: ${reason}`);
  }
}

/** The buildset's workspace is missing or not at the pinned commit when a job starts. */
export class BastionWorkspaceError extends BastionError {
  readonly code = 'DRAWBRIDGE_ERR_BASTION_WORKSPACE';
  readonly retryable = false;
  constructor(
    readonly buildset: string,
    readonly sha: string,
    readonly reason: string,
  ) {
    super(`workspace of buildset ${buildset} is not usable at ${sha}: ${reason}`);
  }
}

/** The job's playbook does not exist in the buildset's workspace; nothing ran. */
export class BastionPlaybookMissingError extends BastionError {
  readonly code = 'DRAWBRIDGE_ERR_BASTION_PLAYBOOK_MISSING';
  readonly retryable = false;
  constructor(
    readonly buildset: string,
    readonly sha: string,
    readonly playbook: string,
  ) {
    super(`playbook ${playbook} does not exist in the checkout of buildset ${buildset} at ${sha}`);
  }
}

/** A helper command on the bastion (not a playbook, or the job runner) failed. */
export class BastionCommandError extends BastionError {
  readonly code = 'DRAWBRIDGE_ERR_BASTION_COMMAND';
  readonly retryable = false;
  constructor(
    readonly what: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(
      `${what} failed on the bastion (exit ${exitCode ?? 'none'}): ${stderr.trim().slice(-500)}`,
    );
  }
}

/** The abort reason of a command that ran past its time limit. */
export class BastionTimeoutError extends BastionError {
  readonly code = 'DRAWBRIDGE_ERR_BASTION_TIMEOUT';
  readonly retryable = false;
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
  }
}

/** Writing a file to the bastion (the job's vars) failed; nothing has run yet. */
export class BastionUploadError extends BastionError {
  readonly code = 'DRAWBRIDGE_ERR_BASTION_UPLOAD';
  readonly retryable = true;
  constructor(
    readonly path: string,
    cause: Error,
  ) {
    super(`cannot write ${path} on the bastion: ${cause.message}`, { cause });
  }
}
