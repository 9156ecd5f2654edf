/**
 * The example infrastructure repository (config/example): it loads without a
 * warning, freezes for every change, selects what a change touches, and its
 * playbooks really run in ansible.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOOTSTRAP, LETSENCRYPT } from '../bench/generate.js';
import { loadLayout, pipelineJobs } from '../src/config/index.js';
import type { Layout } from '../src/config/index.js';
import { parseCron } from '../src/cron/index.js';
import { freezeGraph } from '../src/graph/index.js';
import {
  ansible,
  example,
  filesUnder,
  hardEdges,
  recordLines,
  selectedFor,
  timerOf,
} from './support/example.js';

describe('config/example', () => {
  let layout: Layout;
  beforeAll(async () => {
    const result = await loadLayout([join(example, 'zuul.d')]);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    layout = result.layout!;
  });

  it('defines deploy (serial, on master), a daily periodic and a short hourly pipeline', () => {
    expect(layout.pipelines.get('deploy')?.manager).toBe('serial');
    expect(layout.pipelines.get('deploy')?.triggers).toMatchObject([
      { kind: 'ref-updated', refs: ['^refs/heads/master$'] },
    ]);
    const daily = parseCron(timerOf(layout, 'periodic'));
    expect([daily.minutes, daily.hours, daily.daysOfMonth.length]).toEqual([[0], [2], 31]);
    expect(parseCron(timerOf(layout, 'hourly')).hours).toHaveLength(24);
    expect(pipelineJobs(layout, 'deploy').length).toBeGreaterThanOrEqual(25);
    expect(pipelineJobs(layout, 'periodic')).toHaveLength(pipelineJobs(layout, 'deploy').length);
    expect(pipelineJobs(layout, 'hourly').length).toBeLessThan(6);
  });

  it('has a playbook on disk for every job, through vars.playbook_name', () => {
    for (const p of ['deploy', 'periodic', 'hourly']) {
      for (const j of pipelineJobs(layout, p)) {
        expect([j.name, existsSync(join(example, j.playbook))]).toEqual([j.name, true]);
        expect(j.playbook).toBe(`playbooks/${String(j.vars.playbook_name)}`);
      }
    }
    expect(layout.jobs.get('infra-prod-playbook')?.abstract).toBe(true);
  });

  it('shares the letsencrypt semaphore (max 1) between exactly two jobs', () => {
    expect(layout.semaphores.get('letsencrypt')?.max).toBe(1);
    const holders = pipelineJobs(layout, 'deploy').filter((j) =>
      j.semaphores.includes('letsencrypt'),
    );
    expect(holders.map((j) => j.name).sort()).toEqual([
      LETSENCRYPT,
      'infra-prod-service-nameserver',
    ]);
  });

  it('mixes hard chains and soft dependencies', () => {
    const deploy = pipelineJobs(layout, 'deploy');
    expect(hardEdges(deploy)).toEqual(
      expect.arrayContaining([
        ['infra-prod-base', BOOTSTRAP],
        ['infra-prod-service-gitea', LETSENCRYPT],
        ['infra-prod-service-afs', 'infra-prod-service-kerberos'],
        ['infra-prod-service-mirror-update', 'infra-prod-service-afs'],
      ]),
    );
    const gitea = deploy.find((j) => j.name === 'infra-prod-service-gitea-lb');
    expect(gitea?.dependencies).toContainEqual({ name: 'infra-prod-service-gitea', soft: true });
  });

  it('freezes every pipeline for a timer run', () => {
    for (const p of ['deploy', 'periodic', 'hourly']) {
      expect(freezeGraph(pipelineJobs(layout, p), { kind: 'all' }).errors).toEqual([]);
    }
  });

  it('freezes deploy for a change to any one file of the repository', () => {
    for (const file of [...filesUnder(example), 'docs/index.rst', 'README.md'])
      selectedFor(layout, file);
  });

  it('selects what a change touches', () => {
    expect(selectedFor(layout, 'playbooks/service-gitea.yaml')).toEqual([
      BOOTSTRAP,
      LETSENCRYPT,
      'infra-prod-service-gitea',
    ]);
    expect(selectedFor(layout, 'playbooks/roles/gitea/tasks/main.yaml')).toContain(
      'infra-prod-service-gitea',
    );
    expect(selectedFor(layout, 'playbooks/service-mirror-update.yaml')).toEqual([
      BOOTSTRAP,
      LETSENCRYPT,
      'infra-prod-service-kerberos',
      'infra-prod-service-afs',
      'infra-prod-service-mirror-update',
    ]);
    const inventory = selectedFor(layout, 'inventory/hosts');
    expect(inventory).toContain('infra-prod-base');
    expect(inventory).not.toContain('infra-prod-manage-projects');
    expect(selectedFor(layout, 'README.md')).toEqual([]);
  });

  describe('playbooks in ansible', () => {
    let out: string;
    beforeAll(() => {
      out = mkdtempSync(join(tmpdir(), 'drawbridge-example-'));
    });
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    it('all pass a syntax check', async () => {
      const playbooks = readdirSync(join(example, 'playbooks')).filter((f) => f.endsWith('.yaml'));
      expect(playbooks.length).toBeGreaterThanOrEqual(25);
      const run = await ansible(example, [
        '--syntax-check',
        ...playbooks.map((p) => `playbooks/${p}`),
      ]);
      expect({ exitCode: run.exitCode, err: run.stderr }).toMatchObject({ exitCode: 0 });
    });

    it('record start and end, write state, and fail on request', async () => {
      const vars = (extra: object): string =>
        JSON.stringify({
          drawbridge_record_file: join(out, 'record.log'),
          example_state_dir: join(out, 'state'),
          ...extra,
        });
      const run = await ansible(example, [
        'playbooks/service-gitea.yaml',
        'playbooks/service-paste.yaml',
        '-e',
        vars({ example_fail_jobs: ['infra-prod-service-paste'] }),
      ]);
      expect(run.exitCode).not.toBe(0);
      expect(run.stdout).toContain(
        'infra-prod-service-paste fails because example_fail_jobs lists it',
      );
      expect(recordLines(join(out, 'record.log')).map(([j, e]) => `${j} ${e}`)).toEqual([
        'infra-prod-service-gitea start',
        'infra-prod-service-gitea end',
        'infra-prod-service-paste start',
      ]);
      expect(readFileSync(join(out, 'state/gitea.txt'), 'utf8')).toContain(
        'deployed-by: infra-prod-service-gitea',
      );
      expect(existsSync(join(out, 'state/gitea-app.ini'))).toBe(true);
      expect(existsSync(join(out, 'state/paste.txt'))).toBe(false);
    });
  });
});
