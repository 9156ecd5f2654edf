import { createHash } from 'node:crypto';
import { SshHostKeyPinError } from './errors.js';

/** One accepted bastion host key: its OpenSSH SHA256 fingerprint and, when known, its type. */
export interface HostKeyPin {
  readonly fingerprint: string;
  readonly keyType?: string;
}

/** The OpenSSH `SHA256:` fingerprint of a public key blob in SSH wire format (what `ssh-keygen -lf` prints). */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const KEY_TYPE = /^(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-[a-z0-9@.-]+)$/;

/**
 * Accepts a `SHA256:` fingerprint, a known_hosts line (`[host]:port type base64`),
 * or a public key line (`type base64 [comment]`). Hashed host names are fine:
 * only the key is compared, the host part is not.
 */
export function parseHostKeyPin(pin: string): HostKeyPin {
  const text = pin.trim();
  if (FINGERPRINT.test(text)) return { fingerprint: text };
  if (text.startsWith('@')) throw new SshHostKeyPinError(pin); // @cert-authority / @revoked are not pins
  const fields = text.split(/\s+/);
  const at = fields.findIndex((f) => KEY_TYPE.test(f));
  const keyType = at >= 0 ? fields[at] : undefined;
  const b64 = at >= 0 ? fields[at + 1] : undefined;
  if (!keyType || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new SshHostKeyPinError(pin);
  const blob = Buffer.from(b64, 'base64');
  if (blobType(blob) !== keyType) throw new SshHostKeyPinError(pin);
  return { fingerprint: fingerprintOf(blob), keyType };
}

/** The key type string that opens every SSH public key blob. */
function blobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len > 64 || blob.length < 4 + len) return undefined;
  return blob.subarray(4, 4 + len).toString('latin1');
}
