/**
 * The `drawbridge` command as an operator runs it: a real process, real
 * files, real git. Exit codes and output formats are part of the contract.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const example = join(root, 'config/example/zuul.d');

function drawbridge(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', join(root, 'src/cli/main.ts'), ...args],
    { cwd: root, encoding: 'utf8', timeout: 30_000 },
  );
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'drawbridge-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('drawbridge --help', () => {
  it('lists the commands and exits 0', () => {
    const r = drawbridge('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/validate \[options\] <path\.\.\.>/);
    expect(r.stdout).toMatch(/plan \[options\] <path\.\.\.>/);
  });
  it('exits 2 on an unknown option, naming it', () => {
    const r = drawbridge('validate', '--frobnicate', example);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--frobnicate');
  });
});

describe('drawbridge validate', () => {
  it('accepts the example layout', () => {
    const r = drawbridge('validate', example);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^layout valid: \d+ jobs, 3 pipelines/);
  });

  it('reports file:line errors on stderr and exits 1', () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, '- job:\n    name: a\n    parent: nope\n');
    const r = drawbridge('validate', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${bad}:3: error: .*nope`, 'm'));
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace for a user error
  });

  it('--json gives errors and warnings with file, line and message', () => {
    const bad = join(tmp, 'bad-json.yaml');
    writeFileSync(bad, '- job:\n    name: a\n    nodeset: ubuntu\n    parent: nope\n');
    const r = drawbridge('validate', '--json', bad);
    expect(r.code).toBe(1);
    const body = JSON.parse(r.stdout) as {
      errors: { file: string; line: number; message: string }[];
      warnings: { file: string; line: number; message: string }[];
    };
    expect(body.errors).toEqual([expect.objectContaining({ file: bad, line: 4 })]);
    expect(body.warnings).toEqual([expect.objectContaining({ file: bad, line: 3 })]);
    expect(body.warnings[0]?.message).toContain('nodeset');
  });

  it('exits 1 with a clear message for a path that does not exist', () => {
    const r = drawbridge('validate', join(tmp, 'missing'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(join(tmp, 'missing'));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('drawbridge plan', () => {
  it('prints the frozen graph as JSON with only the remaining edges', () => {
    const r = drawbridge('plan', '--pipeline', 'periodic', '--format', 'json', example);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as {
      pipeline: string;
      jobs: { name: string; dependencies: { name: string; soft: boolean }[] }[];
      errors: unknown[];
      critical_path: string[];
    };
    expect(plan.pipeline).toBe('periodic');
    expect(plan.errors).toEqual([]);
    const names = new Set(plan.jobs.map((j) => j.name));
    for (const job of plan.jobs)
      for (const dep of job.dependencies) expect(names.has(dep.name)).toBe(true);
    expect(plan.critical_path.length).toBeGreaterThan(1);
    for (const name of plan.critical_path) expect(names.has(name)).toBe(true);
  });

  it('takes the changed files from a git range', () => {
    const repo = join(tmp, 'repo');
    cpSync(join(root, 'config/example'), repo, { recursive: true });
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo });
    git('init', '-q', '-b', 'master');
    git('add', '-A');
    git('commit', '-qm', 'one');
    writeFileSync(join(repo, 'playbooks/service-gitea.yaml'), '# changed\n', { flag: 'a' });
    git('commit', '-qam', 'two');
    const r = drawbridge(
      'plan',
      '--pipeline',
      'deploy',
      '--git-range',
      'HEAD~1..HEAD',
      '--repo',
      repo,
      join(repo, 'zuul.d'),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 changed file(s) in HEAD~1..HEAD');
    expect(r.stdout).toMatch(
      /infra-prod-service-gitea\s+selected: playbooks\/service-gitea\.yaml matched/,
    );
    expect(r.stdout).toMatch(/critical path \(estimated/);
  });

  it('uses --durations for the estimate', () => {
    const durations = join(tmp, 'durations.json');
    writeFileSync(durations, JSON.stringify({ 'infra-prod-bootstrap-bastion': 3600 }));
    const r = drawbridge(
      'plan',
      '--pipeline',
      'periodic',
      '--durations',
      durations,
      '--default-duration',
      '0',
      '--format',
      'json',
      example,
    );
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { estimated_makespan_s: number }).estimated_makespan_s).toBe(
      3600,
    );
  });

  it('draws soft edges dashed in --format dot', () => {
    const r = drawbridge('plan', '--pipeline', 'periodic', '--format', 'dot', example);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^digraph "periodic" \{/);
    expect(r.stdout).toContain('style=dashed');
  });

  it('names the known pipelines when asked for an unknown one', () => {
    const r = drawbridge('plan', '--pipeline', 'nope', example);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no pipeline "nope".*deploy/);
    expect(r.stderr).toContain('DRAWBRIDGE_ERR_CLI_USAGE');
  });

  it('rejects a durations file that is not a map of seconds, naming the job', () => {
    const durations = join(tmp, 'bad-durations.json');
    writeFileSync(durations, JSON.stringify({ 'infra-prod-base': 'ten' }));
    const r = drawbridge('plan', '--pipeline', 'periodic', '--durations', durations, example);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${durations}: "infra-prod-base": expected a number of seconds`);
  });

  it('rejects a bad git range before running git', () => {
    const r = drawbridge(
      'plan',
      '--pipeline',
      'deploy',
      '--git-range',
      '--output=/tmp/x..HEAD',
      example,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DRAWBRIDGE_ERR_GIT_BAD_RANGE');
  });
});
