import { describe, expect, it } from '@jest/globals';
import { buildRequestCodec } from './codecs.js';
import { compareRequests, type BuildRequest } from './build.js';
import { managementEventCodec, triggerEventCodec } from './events.js';

const request = (over: Partial<BuildRequest> = {}): BuildRequest => ({
  id: 'r1',
  kind: 'job',
  pipeline: 'deploy',
  buildsetId: 'bs1',
  job: 'infra-prod-base',
  attempt: 1,
  ref: 'refs/heads/master',
  commit: 'a'.repeat(40),
  playbook: 'playbooks/base.yaml',
  vars: { x: 1 },
  timeoutMs: 60_000,
  precedence: 'normal',
  createdAt: 1000,
  state: 'requested',
  cancelRequested: false,
  executor: null,
  startedAt: null,
  outcome: null,
  ...over,
});

describe('build request records', () => {
  it('round-trip through the codec', () => {
    const r = request();
    expect(buildRequestCodec.decode(buildRequestCodec.encode(r))).toEqual(r);
  });

  it('refuse an abbreviated commit, naming the field', () => {
    const bytes = Buffer.from(JSON.stringify(request({ commit: 'abc123' })));
    expect(() => buildRequestCodec.decode(bytes)).toThrow(/commit/);
  });

  it('refuse an unknown state', () => {
    const bytes = Buffer.from(JSON.stringify({ ...request(), state: 'paused' }));
    expect(() => buildRequestCodec.decode(bytes)).toThrow(/state/);
  });

  it('order high precedence first, then oldest first, then by id', () => {
    const list = [
      request({ id: 'c', precedence: 'low', createdAt: 1 }),
      request({ id: 'b', createdAt: 5 }),
      request({ id: 'a', createdAt: 5 }),
      request({ id: 'd', precedence: 'high', createdAt: 9 }),
      request({ id: 'e', createdAt: 2 }),
    ];
    expect(list.sort(compareRequests).map((r) => r.id)).toEqual(['d', 'e', 'a', 'b', 'c']);
  });
});

describe('event records', () => {
  it('decode a ref update and refuse a short sha, naming the field', () => {
    const event = {
      type: 'ref-updated',
      id: 'poll-refs/heads/master-' + 'b'.repeat(40),
      ref: 'refs/heads/master',
      oldCommit: null,
      newCommit: 'b'.repeat(40),
      changedFiles: ['playbooks/base.yaml'],
      source: 'poll',
      detail: 'seen by the poller',
      receivedAt: 1,
    };
    expect(triggerEventCodec.decode(Buffer.from(JSON.stringify(event)))).toEqual(event);
    const bad = Buffer.from(JSON.stringify({ ...event, newCommit: 'abc' }));
    expect(() => triggerEventCodec.decode(bad)).toThrow(/newCommit/);
  });

  it('refuse a management event of an unknown type', () => {
    const bad = { type: 'reboot', id: 'x', pipeline: 'deploy', requestedBy: 'a', requestedAt: 1 };
    expect(() => managementEventCodec.decode(Buffer.from(JSON.stringify(bad)))).toThrow();
  });
});
