import { describe, expect, it } from '@jest/globals';
import { BastionConfigError, SshHostKeyPinError } from './errors.js';
import { resolveOptions, type BastionConnectionOptions } from './options.js';

const PUB = 'AAAAC3NzaC1lZDI1NTE5AAAAID8eVSYu3jbCkV9QbWQhVw+2ag04VznXP10ANuGGKeAR';
const base: BastionConnectionOptions = {
  host: '127.0.0.1',
  username: 'deploy',
  privateKey: 'unused',
  hostKey: 'SHA256:dNDWhcdJgtzitRlLyj5zVCxCfsAFSADk6kufYfJoOpY',
};

describe('bastion connection options', () => {
  it('fills in defaults and freezes the result', () => {
    const o = resolveOptions(base);
    expect(o).toMatchObject({
      port: 22,
      maxSessions: 10,
      keepaliveIntervalMs: 15_000,
      waitForReadyMs: 30_000,
    });
    expect(o.hostKeyAlgorithms).toEqual([]);
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('negotiates only the pinned key types when every pin names one', () => {
    const o = resolveOptions({ ...base, hostKey: [`bastion ssh-ed25519 ${PUB}`] });
    expect(o.hostKeyAlgorithms).toEqual(['ssh-ed25519']);
  });

  it('rejects unusable values', () => {
    expect(() => resolveOptions({ ...base, maxSessions: 3 })).toThrow(BastionConfigError);
    expect(() => resolveOptions({ ...base, port: 0 })).toThrow(BastionConfigError);
    expect(() => resolveOptions({ ...base, keepaliveIntervalMs: -1 })).toThrow(BastionConfigError);
    expect(() => resolveOptions({ ...base, hostKey: [] })).toThrow(BastionConfigError);
    expect(() => resolveOptions({ ...base, hostKey: 'trust me' })).toThrow(SshHostKeyPinError);
  });
});
