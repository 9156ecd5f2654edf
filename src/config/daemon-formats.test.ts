import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import {
  checkBranch,
  checkGitUrl,
  checkHost,
  checkHostKeyPin,
  checkHostPort,
  checkRemoteDir,
  checkRepoPath,
  checkZkRoot,
  formatHostPort,
} from './daemon-formats.js';

const accepted = <T>(r: { ok: boolean; value?: T }) => (r.ok ? r.value : undefined);

/** `ssh-ed25519 <base64>` for a freshly generated key, as ssh-keyscan prints it. */
function ed25519Line(): string {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  const raw = Buffer.from(jwk.x as string, 'base64url');
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const blob = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')}`;
}

describe('host and host:port', () => {
  it('accepts names, IPv4, IPv6 in brackets', () => {
    expect(accepted(checkHostPort('zk-1.example.org:2181', 'x'))).toEqual({
      host: 'zk-1.example.org',
      port: 2181,
    });
    expect(accepted(checkHostPort('10.1.2.3:1', 'x'))).toEqual({ host: '10.1.2.3', port: 1 });
    expect(accepted(checkHostPort('[::1]:65535', 'x'))).toEqual({ host: '::1', port: 65535 });
  });

  it('refuses missing or out-of-range ports, bad names, brackets around a name', () => {
    for (const s of [
      'zk1',
      'zk1:',
      'zk1:0',
      'zk1:65536',
      'zk1:123456',
      '-zk:1',
      'a b:1',
      '[zk1]:1',
      ':2181',
    ]) {
      expect(checkHostPort(s, 'x').ok).toBe(false);
    }
  });

  it('formats IPv6 back in brackets', () => {
    expect(formatHostPort({ host: 'fd00::1', port: 2181 })).toBe('[fd00::1]:2181');
    expect(formatHostPort({ host: 'zk1', port: 2181 })).toBe('zk1:2181');
  });

  it('a bare host: name, address, bracketed IPv6; never a port or a path', () => {
    expect(accepted(checkHost('bastion.example.org.'))).toBe('bastion.example.org.');
    expect(accepted(checkHost('[fd00::7]'))).toBe('fd00::7');
    expect(accepted(checkHost('fd00::7'))).toBe('fd00::7');
    for (const s of ['bastion:22', 'a/b', '', 'a..b', `${'a'.repeat(64)}.org`]) {
      expect(checkHost(s).ok).toBe(false);
    }
  });
});

describe('host key pins', () => {
  it('accepts a SHA256 fingerprint, a public key line, a known_hosts line', () => {
    const key = ed25519Line();
    const fp = `SHA256:${'a'.repeat(43)}`;
    expect(accepted(checkHostKeyPin(fp))).toBe(fp);
    expect(accepted(checkHostKeyPin(`${key} root@bastion`))).toBe(`${key} root@bastion`);
    expect(accepted(checkHostKeyPin(`[bastion]:2222,10.0.0.1 ${key}\n`))).toBe(
      `[bastion]:2222,10.0.0.1 ${key}`,
    );
  });

  it('refuses a short fingerprint, MD5, a truncated or mislabelled key, marker lines', () => {
    const key = ed25519Line();
    for (const s of [
      `SHA256:${'a'.repeat(42)}`,
      'MD5:12:34:56',
      key.slice(0, 40),
      key.replace('ssh-ed25519', 'ssh-rsa'),
      `@revoked * ${key}`,
      'ssh-ed25519',
    ]) {
      expect(checkHostKeyPin(s).ok).toBe(false);
    }
  });
});

describe('paths, URLs, refs', () => {
  it('ZooKeeper root: absolute, no trailing slash, safe segments', () => {
    expect(accepted(checkZkRoot('/drawbridge/prod-1'))).toBe('/drawbridge/prod-1');
    for (const s of ['/', 'drawbridge', '/drawbridge/', '/a//b', '/a/./b', '/a/..', '/a b']) {
      expect(checkZkRoot(s).ok).toBe(false);
    }
  });

  it('remote directory: absolute, trailing slash dropped, no .. or odd characters', () => {
    expect(accepted(checkRemoteDir('/srv/ws//'))).toBe('/srv/ws');
    for (const s of ['/', 'srv', '/srv/../etc', '/srv/./x', '/srv/$(x)', '/a//b']) {
      expect(checkRemoteDir(s).ok).toBe(false);
    }
  });

  it('repository path: relative, normalised, never leaving the checkout', () => {
    expect(accepted(checkRepoPath('./zuul.d/'))).toBe('zuul.d');
    expect(accepted(checkRepoPath('a/./b'))).toBe('a/b');
    for (const s of ['/zuul.d', '../x', 'a/../../x', '.', './', 'a//b', 'a b']) {
      expect(checkRepoPath(s).ok).toBe(false);
    }
  });

  it('git URL: the forms git fetches, never something that reads as an option', () => {
    for (const s of [
      'https://git.example.org/infra.git',
      'ssh://git@git.example.org:2222/infra.git',
      'git@github.com:org/infra.git',
      'file:///srv/infra.git',
      '/srv/infra.git',
    ]) {
      expect(accepted(checkGitUrl(s))).toBe(s);
    }
    for (const s of ['-oProxyCommand=x', 'infra.git', 'https://a b', 'https://a\u0001b', '']) {
      expect(checkGitUrl(s).ok).toBe(false);
    }
  });

  it('branch: git ref rules', () => {
    expect(accepted(checkBranch('release/2024.1'))).toBe('release/2024.1');
    for (const s of [
      '',
      '-x',
      'a..b',
      'a b',
      'a~1',
      'a^',
      'a:b',
      '/a',
      'a/',
      'a.',
      'a.lock',
      '.a',
      'a@{1}',
    ]) {
      expect(checkBranch(s).ok).toBe(false);
    }
  });
});
