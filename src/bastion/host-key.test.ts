import { describe, expect, it } from '@jest/globals';
import { SshHostKeyPinError } from './errors.js';
import { fingerprintOf, parseHostKeyPin } from './host-key.js';

// A throwaway key and the fingerprint `ssh-keygen -lf` printed for it.
const PUB = 'AAAAC3NzaC1lZDI1NTE5AAAAID8eVSYu3jbCkV9QbWQhVw+2ag04VznXP10ANuGGKeAR';
const FP = 'SHA256:dNDWhcdJgtzitRlLyj5zVCxCfsAFSADk6kufYfJoOpY';

describe('host key pins', () => {
  it('computes the fingerprint OpenSSH prints', () => {
    expect(fingerprintOf(Buffer.from(PUB, 'base64'))).toBe(FP);
  });

  it('accepts a fingerprint, a known_hosts line, a hashed one and a public key line', () => {
    expect(parseHostKeyPin(FP)).toEqual({ fingerprint: FP });
    for (const line of [
      `[bastion.example.org]:2222 ssh-ed25519 ${PUB}`,
      `bastion,10.0.0.1 ssh-ed25519 ${PUB} comment`,
      `|1|c2FsdA==|aGFzaA== ssh-ed25519 ${PUB}`,
      `ssh-ed25519 ${PUB} root@bastion`,
      `  ssh-ed25519 ${PUB}\n`,
    ]) {
      expect(parseHostKeyPin(line)).toEqual({ fingerprint: FP, keyType: 'ssh-ed25519' });
    }
  });

  it('rejects pins that are neither', () => {
    for (const bad of [
      'SHA256:short',
      'MD5:aa:bb',
      `@cert-authority * ssh-ed25519 ${PUB}`,
      `host ssh-rsa ${PUB}`, // the blob says ed25519
      'host ssh-ed25519 !!!',
      '',
    ]) {
      expect(() => parseHostKeyPin(bad)).toThrow(SshHostKeyPinError);
    }
  });
});
