import { describe, expect, it } from '@jest/globals';
import { freezeGraph } from './freeze.js';
import type { FrozenGraph } from './freeze.js';
import { jobsToSkip, readyJobs } from './progress.js';
import type { JobState } from './types.js';

/** `graph({ b: ['a'] })`: b hard-depends on a; keys give the input order. */
function graph(deps: Record<string, string[]>): FrozenGraph {
  const jobs = Object.entries(deps).map(([name, parents]) => ({
    name,
    dependencies: parents.map((p) => ({ name: p, soft: false })),
    files: [],
    irrelevantFiles: [],
  }));
  return freezeGraph(jobs, { kind: 'all' });
}

const states = (entries: Record<string, JobState>): Map<string, JobState> =>
  new Map(Object.entries(entries));

// infra-prod-base -> (dns, mail) -> letsencrypt(dns, mail) -> web; backup stands alone
const INFRA = graph({
  'infra-prod-base': [],
  dns: ['infra-prod-base'],
  mail: ['infra-prod-base'],
  letsencrypt: ['dns', 'mail'],
  web: ['letsencrypt'],
  backup: [],
});

describe('readyJobs', () => {
  it('starts with the jobs that have no dependencies', () => {
    expect(readyJobs(INFRA, new Map())).toEqual(['infra-prod-base', 'backup']);
  });

  it('releases a job once every dependency succeeded', () => {
    expect(readyJobs(INFRA, states({ 'infra-prod-base': 'SUCCESS', backup: 'RUNNING' }))).toEqual([
      'dns',
      'mail',
    ]);
    expect(
      readyJobs(INFRA, states({ 'infra-prod-base': 'SUCCESS', dns: 'SUCCESS', mail: 'RUNNING' })),
    ).toEqual(['backup']);
    expect(
      readyJobs(INFRA, states({ 'infra-prod-base': 'SUCCESS', dns: 'SUCCESS', mail: 'SUCCESS' })),
    ).toEqual(['letsencrypt', 'backup']);
  });

  it('counts only WAITING jobs (absent means WAITING)', () => {
    const s = states({ 'infra-prod-base': 'QUEUED', backup: 'WAITING' });
    expect(readyJobs(INFRA, s)).toEqual(['backup']);
  });

  it('never releases a job whose dependency ended in anything but SUCCESS', () => {
    for (const bad of [
      'FAILURE',
      'TIMED_OUT',
      'SKIPPED',
      'RETRY',
      'RETRY_LIMIT',
      'CANCELED',
      'ERROR',
    ] as const) {
      expect(readyJobs(INFRA, states({ 'infra-prod-base': bad, backup: 'SUCCESS' }))).toEqual([]);
    }
  });

  it('treats a kept soft dependency like a hard one', () => {
    const g = freezeGraph(
      [
        { name: 'build', dependencies: [], files: [], irrelevantFiles: [] },
        {
          name: 'deploy',
          dependencies: [{ name: 'build', soft: true }],
          files: [],
          irrelevantFiles: [],
        },
      ],
      { kind: 'all' },
    );
    expect(readyJobs(g, new Map())).toEqual(['build']);
    expect(readyJobs(g, states({ build: 'SUCCESS' }))).toEqual(['deploy']);
  });

  it('releases nothing when the freeze reported errors', () => {
    const g = graph({ a: [], b: ['ghost'] });
    expect(g.errors).toHaveLength(1);
    expect(readyJobs(g, new Map())).toEqual([]);
  });
});

describe('jobsToSkip', () => {
  it('skips every descendant of a failed job with its name in the reason', () => {
    const skips = jobsToSkip(INFRA, states({ 'infra-prod-base': 'FAILURE', backup: 'SUCCESS' }));
    expect(skips).toEqual([
      {
        job: 'dns',
        cause: 'infra-prod-base',
        causeState: 'FAILURE',
        reason: 'skipped: infra-prod-base failed',
      },
      {
        job: 'mail',
        cause: 'infra-prod-base',
        causeState: 'FAILURE',
        reason: 'skipped: infra-prod-base failed',
      },
      {
        job: 'letsencrypt',
        cause: 'infra-prod-base',
        causeState: 'FAILURE',
        reason: 'skipped: infra-prod-base failed',
      },
      {
        job: 'web',
        cause: 'infra-prod-base',
        causeState: 'FAILURE',
        reason: 'skipped: infra-prod-base failed',
      },
    ]);
  });

  it('skips nothing else: siblings and unrelated jobs keep waiting', () => {
    const s = states({ 'infra-prod-base': 'SUCCESS', dns: 'TIMED_OUT', mail: 'RUNNING' });
    expect(jobsToSkip(INFRA, s).map((d) => [d.job, d.reason])).toEqual([
      ['letsencrypt', 'skipped: dns timed out'],
      ['web', 'skipped: dns timed out'],
    ]);
  });

  it.each([
    ['FAILURE', 'skipped: dns failed'],
    ['TIMED_OUT', 'skipped: dns timed out'],
    ['SKIPPED', 'skipped: dns was skipped'],
    ['RETRY_LIMIT', 'skipped: dns hit its retry limit'],
    ['CANCELED', 'skipped: dns was canceled'],
    ['ERROR', 'skipped: dns ended in error'],
  ] as const)('describes a %s parent', (state, reason) => {
    const s = states({ 'infra-prod-base': 'SUCCESS', dns: state, mail: 'SUCCESS' });
    expect(jobsToSkip(INFRA, s)[0]).toEqual({
      job: 'letsencrypt',
      cause: 'dns',
      causeState: state,
      reason,
    });
  });

  it('does not skip for states that are not final failures', () => {
    for (const ok of ['WAITING', 'QUEUED', 'RUNNING', 'SUCCESS', 'RETRY'] as const) {
      expect(jobsToSkip(INFRA, states({ 'infra-prod-base': ok }))).toEqual([]);
    }
  });

  it('names the nearest blocked ancestor', () => {
    // a failed; b (child of a) was already skipped by an earlier pass: b is nearer to c than a
    const g = graph({ a: [], d: [], b: ['a'], c: ['b', 'd'], e: ['c'] });
    const s = states({ a: 'FAILURE', b: 'SKIPPED', d: 'SUCCESS' });
    expect(jobsToSkip(g, s).map((x) => [x.job, x.reason])).toEqual([
      ['c', 'skipped: b was skipped'],
      ['e', 'skipped: b was skipped'],
    ]);
  });

  it('prefers a failed parent over a failed grandparent', () => {
    const g = graph({ root: [], mid: ['root'], other: [], leaf: ['mid', 'other'] });
    const s = states({ root: 'FAILURE', other: 'ERROR' });
    expect(jobsToSkip(g, s).map((x) => [x.job, x.reason])).toEqual([
      ['mid', 'skipped: root failed'],
      ['leaf', 'skipped: other ended in error'],
    ]);
  });

  it('breaks ties between equally near causes by input order', () => {
    const g = graph({ x: [], y: [], child: ['y', 'x'] });
    const s = states({ x: 'FAILURE', y: 'FAILURE' });
    expect(jobsToSkip(g, s).map((d) => d.cause)).toEqual(['x']);
  });

  it('leaves descendants that are not WAITING alone, and does not pass through them', () => {
    const g = graph({ a: [], b: ['a'], c: ['b'] });
    expect(jobsToSkip(g, states({ a: 'FAILURE', b: 'RUNNING' }))).toEqual([]);
  });

  it('is empty when nothing failed', () => {
    expect(jobsToSkip(INFRA, new Map())).toEqual([]);
  });
});
