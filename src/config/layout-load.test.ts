import { describe, expect, it } from '@jest/globals';
import {
  LayoutInvalidError,
  LayoutParseCache,
  loadLayoutFromSources,
  pipelineJobs,
  UnknownPipelineError,
  type LoadOptions,
} from './index.js';

/** Loads one file named zuul.yaml; strips the common indentation of the template. */
function load(text: string, options?: LoadOptions, file = 'zuul.yaml') {
  const full = dedent(text).replace(/^@pipeline$/m, dedent(PIPELINE).trimEnd());
  return loadLayoutFromSources([{ file, text: full }], options);
}

function dedent(text: string): string {
  const lines = text.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

function loaded(text: string, options?: LoadOptions) {
  const r = load(text, options);
  expect(r.errors).toEqual([]);
  return { layout: r.layout!, warnings: r.warnings };
}

const PIPELINE = `
  - pipeline:
      name: deploy
      manager: serial
      trigger:
        git:
          - event: ref-updated
            ref: ^refs/heads/main$
`;

describe('loadLayoutFromSources: jobs', () => {
  it('normalises a minimal job: playbook, attempts default 3, no timeout', () => {
    const { layout } = loaded(`
      @pipeline
      - job:
          name: hello
          run: playbooks/hello.yaml
      - project:
          deploy:
            jobs: [hello]
    `);
    const [job] = pipelineJobs(layout, 'deploy');
    expect(job).toMatchObject({
      name: 'hello',
      pipeline: 'deploy',
      playbook: 'playbooks/hello.yaml',
      attempts: 3,
      timeoutMs: undefined,
      dependencies: [],
      files: [],
      irrelevantFiles: [],
      semaphores: [],
      source: { file: 'zuul.yaml', line: 8 },
      listedAt: { file: 'zuul.yaml', line: 13 },
    });
  });

  it('inherits: vars deep-merged with the child winning, matchers kept unless overridden', () => {
    const { layout } = loaded(`
      @pipeline
      - semaphore: {name: prod, max: 2}
      - semaphore: {name: dns}
      - job:
          name: base
          abstract: true
          run: playbooks/base.yaml
          timeout: 1800
          attempts: 5
          semaphores: prod
          files: ['^inventory/.*', '^playbooks/base\\.yaml$']
          irrelevant-files: ^docs/
          vars: {a: 1, nested: {x: 1, y: 1}, list: [1, 2]}
      - job:
          name: child
          parent: base
          semaphore: dns
          vars: {b: 2, nested: {y: 2}, list: [3]}
      - job:
          name: grandchild
          parent: child
          files: ^other/
      - project:
          deploy:
            jobs: [child, grandchild]
    `);
    const [child, grand] = pipelineJobs(layout, 'deploy');
    expect(child!.vars).toEqual({ a: 1, b: 2, nested: { x: 1, y: 2 }, list: [3] });
    expect(child!.files).toEqual(['^inventory/.*', '^playbooks/base\\.yaml$']);
    expect(child!.irrelevantFiles).toEqual(['^docs/']);
    expect(child!.timeoutMs).toBe(1_800_000);
    expect(child!.attempts).toBe(5);
    expect(child!.semaphores).toEqual(['prod', 'dns']);
    expect(child!.playbook).toBe('playbooks/base.yaml');
    expect(grand!.files).toEqual(['^other/']);
    expect(grand!.irrelevantFiles).toEqual(['^docs/']);
    expect(layout.jobs.get('base')!.abstract).toBe(true);
    expect(layout.jobs.get('child')!.abstract).toBe(false);
    expect(layout.jobs.get('grandchild')!.parent).toBe('child');
    expect(layout.semaphores.get('prod')).toMatchObject({ max: 2, implicit: false });
    expect(layout.semaphores.get('dns')).toMatchObject({ max: 1, implicit: false });
  });

  it('applies a project listing as a variant: vars merge, other attributes replace', () => {
    const { layout } = loaded(`
      @pipeline
      - job:
          name: a
          run: a.yaml
      - job:
          name: b
          run: b.yaml
          vars: {keep: 1, over: 1}
          dependencies: [a]
          timeout: 60
      - project:
          deploy:
            jobs:
              - a
              - b:
                  vars: {over: 2}
                  dependencies: [{name: a, soft: true}]
                  timeout: 120
                  attempts: 1
                  files: [^b/]
    `);
    const b = pipelineJobs(layout, 'deploy')[1]!;
    expect(b.vars).toEqual({ keep: 1, over: 2 });
    expect(b.dependencies).toEqual([{ name: 'a', soft: true }]);
    expect(b.timeoutMs).toBe(120_000);
    expect(b.attempts).toBe(1);
    expect(b.files).toEqual(['^b/']);
    // the layout-level job is untouched by the project's variant
    expect(layout.jobs.get('b')!.timeoutMs).toBe(60_000);
    expect(layout.jobs.get('b')!.dependencies).toEqual([{ name: 'a', soft: false }]);
  });

  it('lets a variant of a final job change when it runs, not what it does', () => {
    const { layout } = loaded(`
      @pipeline
      - job: {name: a, run: a.yaml}
      - job: {name: locked, run: l.yaml, final: true}
      - project:
          deploy:
            jobs:
              - a
              - locked: {files: [^x/], dependencies: [a]}
    `);
    expect(pipelineJobs(layout, 'deploy')[1]).toMatchObject({
      files: ['^x/'],
      dependencies: [{ name: 'a', soft: false }],
    });
  });

  it('applies a second definition of a job as a variant, with a warning', () => {
    const { layout, warnings } = loaded(`
      @pipeline
      - job: {name: a, run: a.yaml, vars: {x: 1}}
      - job: {name: a, vars: {y: 2}}
      - project: {deploy: {jobs: [a]}}
    `);
    expect(layout.jobs.get('a')!.vars).toEqual({ x: 1, y: 2 });
    expect(warnings.map((w) => [w.code, w.line])).toEqual([
      ['DRAWBRIDGE_WARN_CONFIG_JOB_VARIANT', 9],
    ]);
  });
});

describe('loadLayoutFromSources: playbooks', () => {
  const infraProd = `
    @pipeline
    - job:
        name: infra-prod-playbook
        abstract: true
        run: playbooks/zuul/run-production-playbook.yaml
        nodeset: {nodes: []}
    - job:
        name: infra-prod-service-zuul
        parent: infra-prod-playbook
        vars: {playbook_name: service-zuul.yaml}
    - job:
        name: infra-prod-wrapper
        parent: infra-prod-playbook
    - job:
        name: infra-prod-own
        parent: infra-prod-service-zuul
        run: playbooks/own.yaml
    - project:
        deploy:
          jobs: [infra-prod-service-zuul, infra-prod-wrapper, infra-prod-own]
  `;

  it('uses vars.playbook_name under playbookDir over an inherited run; a run of its own wins', () => {
    const { layout } = loaded(infraProd);
    expect(pipelineJobs(layout, 'deploy').map((j) => j.playbook)).toEqual([
      'playbooks/service-zuul.yaml',
      'playbooks/zuul/run-production-playbook.yaml',
      'playbooks/own.yaml',
    ]);
  });

  it('honours the playbookDir option', () => {
    const { layout } = loaded(infraProd, { playbookDir: 'ansible/plays/' });
    expect(pipelineJobs(layout, 'deploy')[0]!.playbook).toBe('ansible/plays/service-zuul.yaml');
  });

  it('accepts run as {name} or a one-element list', () => {
    const { layout } = loaded(`
      @pipeline
      - job: {name: a, run: {name: a.yaml}}
      - job: {name: b, run: [b.yaml]}
      - project: {deploy: {jobs: [a, b]}}
    `);
    expect(pipelineJobs(layout, 'deploy').map((j) => j.playbook)).toEqual(['a.yaml', 'b.yaml']);
  });
});

describe('loadLayoutFromSources: projects and templates', () => {
  it('puts template jobs first, merges a job listed twice, and layers project vars under job vars', () => {
    const { layout } = loaded(`
      @pipeline
      - job: {name: a, run: a.yaml, vars: {from_job: 1, shared: job}}
      - job: {name: b, run: b.yaml}
      - project-template:
          name: common
          deploy:
            jobs:
              - a: {vars: {from_template: 1}}
      - project:
          templates: [common]
          vars: {from_project: 1, shared: project}
          deploy:
            jobs:
              - b
              - a: {timeout: 10}
    `);
    const jobs = pipelineJobs(layout, 'deploy');
    expect(jobs.map((j) => j.name)).toEqual(['a', 'b']);
    expect(jobs[0]!.vars).toEqual({
      from_project: 1,
      shared: 'job',
      from_job: 1,
      from_template: 1,
    });
    expect(jobs[0]!.timeoutMs).toBe(10_000);
    expect(jobs[0]!.listedAt.line).toBe(14);
  });

  it('ignores, with warnings, other projects and sections for undefined pipelines', () => {
    const { layout, warnings } = loaded(
      `
      @pipeline
      - job: {name: a, run: a.yaml}
      - project:
          name: opendev.org/opendev/system-config
          deploy: {jobs: [a]}
          check: {jobs: [a]}
      - project:
          name: opendev/other
          deploy: {jobs: [a]}
    `,
      { projectName: 'opendev/system-config' },
    );
    expect(pipelineJobs(layout, 'deploy').map((j) => j.name)).toEqual(['a']);
    expect(warnings.map((w) => [w.code, w.line, w.key])).toEqual([
      ['DRAWBRIDGE_WARN_CONFIG_UNKNOWN_PIPELINE', 12, 'check'],
      ['DRAWBRIDGE_WARN_CONFIG_OTHER_PROJECT', 13, undefined],
    ]);
  });

  it('matches a project name given as a regex against the whole deployed name', () => {
    const { layout, warnings } = loaded(
      `
      @pipeline
      - job: {name: a, run: a.yaml}
      - job: {name: b, run: b.yaml}
      - project: {name: ^opendev/system-.*$, deploy: {jobs: [a]}}
      - project: {name: ^opendev/system, deploy: {jobs: [b]}}
    `,
      { projectName: 'opendev/system-config' },
    );
    expect(pipelineJobs(layout, 'deploy').map((j) => j.name)).toEqual(['a']);
    expect(warnings.map((w) => [w.code, w.line])).toEqual([
      ['DRAWBRIDGE_WARN_CONFIG_OTHER_PROJECT', 11],
    ]);
  });

  it('warns when no project name is given and stanzas name several projects', () => {
    const { warnings } = loaded(`
      @pipeline
      - job: {name: a, run: a.yaml}
      - project: {name: one, deploy: {jobs: [a]}}
      - project: {name: two, deploy: {jobs: [a]}}
    `);
    expect(warnings.map((w) => w.code)).toEqual(['DRAWBRIDGE_WARN_CONFIG_MANY_PROJECTS']);
  });
});

describe('loadLayoutFromSources: YAML', () => {
  it('expands anchors, aliases and << merge keys', () => {
    const { layout } = loaded(`
      @pipeline
      - job:
          name: a
          run: a.yaml
          vars: &common {region: north, tier: {db: 1}}
          files: &paths [^inventory/, ^group_vars/]
      - job:
          name: b
          run: b.yaml
          vars:
            <<: *common
            region: south
          files: *paths
      - project: {deploy: {jobs: [a, b]}}
    `);
    const [a, b] = pipelineJobs(layout, 'deploy');
    expect(a!.vars).toEqual({ region: 'north', tier: { db: 1 } });
    expect(b!.vars).toEqual({ region: 'south', tier: { db: 1 } });
    expect(b!.files).toEqual(['^inventory/', '^group_vars/']);
  });

  it('accepts an empty file', () => {
    expect(loadLayoutFromSources([{ file: 'empty.yaml', text: '# nothing yet\n' }]).errors).toEqual(
      [],
    );
  });
});

describe('loadLayoutFromSources: Zuul compatibility warnings', () => {
  it('warns, with file, line and key, about Zuul-only attributes and stanzas', () => {
    const { warnings } = loaded(`
      @pipeline
      - nodeset: {name: empty, nodes: []}
      - job:
          name: a
          run: a.yaml
          nodeset: empty
          pre-run: playbooks/pre.yaml
          voting: false
      - project:
          queue: integrated
          deploy: {jobs: [a]}
    `);
    expect(warnings.map((w) => [w.code, w.file, w.line, w.stanza, w.key])).toEqual([
      ['DRAWBRIDGE_WARN_CONFIG_UNUSED_STANZA', 'zuul.yaml', 8, 'nodeset', undefined],
      ['DRAWBRIDGE_WARN_CONFIG_UNUSED_KEY', 'zuul.yaml', 12, 'job a', 'nodeset'],
      ['DRAWBRIDGE_WARN_CONFIG_UNUSED_KEY', 'zuul.yaml', 13, 'job a', 'pre-run'],
      ['DRAWBRIDGE_WARN_CONFIG_UNUSED_KEY', 'zuul.yaml', 14, 'job a', 'voting'],
      ['DRAWBRIDGE_WARN_CONFIG_UNUSED_KEY', 'zuul.yaml', 16, 'project', 'queue'],
    ]);
  });

  it('warns about an undefined semaphore and implies one with max 1', () => {
    const { layout, warnings } = loaded(`
      @pipeline
      - job: {name: a, run: a.yaml, semaphores: [infra-prod]}
      - project: {deploy: {jobs: [a]}}
    `);
    expect(layout.semaphores.get('infra-prod')).toMatchObject({
      max: 1,
      implicit: true,
      source: { line: 8 },
    });
    expect(warnings.map((w) => w.code)).toEqual(['DRAWBRIDGE_WARN_CONFIG_IMPLICIT_SEMAPHORE']);
  });
});

describe('loadLayoutFromSources: pipelines', () => {
  it('reads managers, precedence and every trigger kind', () => {
    const { layout, warnings } = loaded(`
      - pipeline:
          name: deploy
          manager: supercedent
          precedence: high
          description: on merge
          trigger:
            gerrit:
              - event: change-merged
                branch: ^master$
              - event: [comment-added]
            git:
              - event: ref-updated
                ref: [^refs/heads/main$, ^refs/tags/]
            timer:
              - time: '0 * * * *'
              - time: '0 2 * * * 0 30'
            manual: true
          success: {gerrit: {}}
      - pipeline: {name: quiet, manager: independent}
    `);
    const deploy = layout.pipelines.get('deploy')!;
    expect(deploy).toMatchObject({
      manager: 'supercedent',
      precedence: 'high',
      description: 'on merge',
    });
    expect(deploy.triggers.map((t) => t.kind)).toEqual([
      'ref-updated',
      'ref-updated',
      'timer',
      'timer',
      'manual',
    ]);
    expect(deploy.triggers[0]).toMatchObject({
      connection: 'gerrit',
      event: 'change-merged',
      branches: ['^master$'],
      refs: [],
    });
    expect(deploy.triggers[1]).toMatchObject({
      connection: 'git',
      refs: ['^refs/heads/main$', '^refs/tags/'],
    });
    expect(deploy.triggers[3]).toMatchObject({ time: '0 2 * * * 0 30', source: { line: 16 } });
    expect(layout.pipelines.get('quiet')).toMatchObject({ precedence: 'normal', triggers: [] });
    expect(layout.pipelineJobs.get('quiet')).toEqual([]);
    expect(warnings.map((w) => w.code)).toEqual([
      'DRAWBRIDGE_WARN_CONFIG_TRIGGER_TRANSLATED',
      'DRAWBRIDGE_WARN_CONFIG_TRIGGER_IGNORED',
      'DRAWBRIDGE_WARN_CONFIG_UNUSED_KEY',
    ]);
  });
});

describe('loadLayoutFromSources: pipeline semaphores', () => {
  it('reads semaphore and semaphores, in any of the job forms, without duplicates', () => {
    const { layout, warnings } = loaded(`
      - semaphore: {name: prod, max: 1}
      - semaphore: {name: dns, max: 2}
      - pipeline: {name: deploy, manager: serial, semaphore: prod}
      - pipeline:
          name: periodic
          manager: independent
          semaphores: [prod, {name: dns}, prod]
      - pipeline: {name: quiet, manager: serial}
    `);
    expect(layout.pipelines.get('deploy')!.semaphores).toEqual(['prod']);
    expect(layout.pipelines.get('periodic')!.semaphores).toEqual(['prod', 'dns']);
    expect(layout.pipelines.get('quiet')!.semaphores).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('implies an undefined one with max 1 and warns at the pipeline naming it', () => {
    const { layout, warnings } = loaded(`
      - pipeline:
          name: deploy
          manager: serial
          semaphores:
            - prodd
    `);
    expect(layout.semaphores.get('prodd')).toMatchObject({ max: 1, implicit: true });
    expect(warnings).toMatchObject([
      {
        code: 'DRAWBRIDGE_WARN_CONFIG_IMPLICIT_SEMAPHORE',
        line: 5,
        stanza: 'pipeline deploy',
        key: 'semaphores',
      },
    ]);
  });

  it('refuses a semaphore reference that is not a name', () => {
    const r = load(`
      - pipeline: {name: deploy, manager: serial, semaphore: {max: 2}}
    `);
    expect(r.layout).toBeUndefined();
    expect(r.errors.map((e) => [e.line, e.key, e.message])).toEqual([
      [1, 'semaphore.max', expect.stringMatching(/max/)],
      [1, 'semaphore.name', 'a semaphore reference needs a name'],
    ]);
  });
});

describe('the loaded layout', () => {
  const text = `
    @pipeline
    - job: {name: a, run: a.yaml, vars: {deep: {x: 1}}}
    - project: {deploy: {jobs: [a]}}
  `;

  it('is frozen all the way down', () => {
    const { layout } = loaded(text);
    expect(Object.isFrozen(layout)).toBe(true);
    expect(() => (layout.jobs as Map<string, unknown>).set('b', {})).toThrow(TypeError);
    expect(() => (layout.pipelineJobs as Map<string, unknown>).delete('deploy')).toThrow(TypeError);
    const job = pipelineJobs(layout, 'deploy')[0]!;
    expect(Object.isFrozen(job.vars['deep'])).toBe(true);
    expect(Object.isFrozen(job.files)).toBe(true);
  });

  it('pipelineJobs names the known pipelines when asked for an unknown one', () => {
    const { layout } = loaded(text);
    expect(() => pipelineJobs(layout, 'nope')).toThrow(UnknownPipelineError);
    expect(() => pipelineJobs(layout, 'nope')).toThrow(
      'no pipeline "nope" in the layout (defined: deploy)',
    );
  });

  it('reports every error at once and gives no layout', () => {
    const r = load(`
      @pipeline
      - job: {name: a, parent: nope, run: a.yaml}
      - job: {name: b, run: b.yaml, timeout: soon}
      - project: {deploy: {jobs: [a, b, c]}}
    `);
    expect(r.layout).toBeUndefined();
    expect(r.errors.map((e) => [e.code, e.line])).toEqual([
      ['DRAWBRIDGE_ERR_CONFIG_UNKNOWN_PARENT', 8],
      ['DRAWBRIDGE_ERR_CONFIG_TYPE', 9],
      ['DRAWBRIDGE_ERR_CONFIG_UNKNOWN_JOB', 10],
    ]);
  });
});

describe('loadLayoutFromSources: scale and odd input', () => {
  it('resolves a 3000-deep parent chain and a 3000-long dependency chain without recursion limits', () => {
    const n = 3000;
    const jobs = Array.from({ length: n }, (_, i) =>
      i === 0
        ? '- job: {name: j0, run: j.yaml, vars: {root: true}}'
        : `- job: {name: j${i}, parent: j${i - 1}, dependencies: [j${i - 1}], vars: {v${i}: ${i}}}`,
    );
    const list = Array.from({ length: n }, (_, i) => `j${i}`).join(', ');
    const r = loadLayoutFromSources([
      {
        file: 'big.yaml',
        text: `- pipeline: {name: deploy, manager: serial}\n${jobs.join('\n')}\n- project: {deploy: {jobs: [${list}]}}\n`,
      },
    ]);
    expect(r.errors).toEqual([]);
    const last = pipelineJobs(r.layout!, 'deploy')[n - 1]!;
    expect(last.playbook).toBe('j.yaml');
    expect(Object.keys(last.vars)).toHaveLength(n);
    expect(last.vars['root']).toBe(true);
  });

  it('loads Zuul secrets with custom YAML tags as an ignored stanza', () => {
    const { warnings } = loaded(`
      - secret:
          name: creds
          data:
            password: !encrypted/pkcs1-oaep
              - abc
    `);
    expect(warnings.map((w) => w.code)).toEqual(['DRAWBRIDGE_WARN_CONFIG_UNUSED_STANZA']);
  });

  it('keeps a variable named __proto__ as an ordinary variable', () => {
    const { layout } = loaded(`
      @pipeline
      - job: {name: a, run: a.yaml, vars: {__proto__: {polluted: true}}}
      - project: {deploy: {jobs: [a]}}
    `);
    const vars = pipelineJobs(layout, 'deploy')[0]!.vars;
    expect(Object.keys(vars)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('rejects a self-referencing alias instead of looping', () => {
    const r = load(`
      - job: &loop
          name: a
          vars: {self: *loop}
    `);
    expect(r.errors.map((e) => [e.code, e.line])).toEqual([['DRAWBRIDGE_ERR_CONFIG_YAML', 3]]);
  });
});

describe('loadLayoutFromSources: project-template', () => {
  it('ignores vars on a template with a warning instead of reading a pipeline named "vars"', () => {
    const { warnings } = loaded(`
      @pipeline
      - job: {name: a, run: a.yaml}
      - project-template: {name: t, vars: {x: 1}, deploy: {jobs: [a]}}
      - project: {templates: [t]}
    `);
    expect(warnings.map((w) => [w.code, w.key])).toEqual([
      ['DRAWBRIDGE_WARN_CONFIG_UNUSED_KEY', 'vars'],
    ]);
  });
});

describe('LayoutParseCache', () => {
  it('reuses parsed files across loads with the same result, and never caches a broken file', () => {
    const cache = new LayoutParseCache();
    const good = {
      file: 'a.yaml',
      text: dedent(PIPELINE),
    };
    const jobs = {
      file: 'b.yaml',
      text: '- job: {name: a, run: a.yaml}\n- project: {deploy: {jobs: [a]}}\n',
    };
    const bad = { file: 'c.yaml', text: '- job:\n    name: x\n   run: y\n' };
    const first = loadLayoutFromSources([good, jobs], { cache });
    const second = loadLayoutFromSources([good, jobs], { cache });
    expect(cache.hits).toBe(2);
    expect(second).toEqual(first);
    expect(pipelineJobs(second.layout!, 'deploy')[0]!.playbook).toBe('a.yaml');
    for (let i = 0; i < 2; i++) {
      expect(loadLayoutFromSources([bad], { cache }).errors.map((e) => e.code)).toEqual([
        'DRAWBRIDGE_ERR_CONFIG_YAML',
      ]);
    }
    expect(cache.size).toBe(2);
  });

  it('forgets the least recently used file beyond its size', () => {
    const cache = new LayoutParseCache(2);
    const src = (n: number) => ({ file: `${n}.yaml`, text: `- semaphore: {name: s${n}}\n` });
    loadLayoutFromSources([src(1), src(2)], { cache });
    loadLayoutFromSources([src(1)], { cache }); // 1 is now the most recent
    loadLayoutFromSources([src(3)], { cache }); // evicts 2
    const hits = cache.hits;
    loadLayoutFromSources([src(1), src(3)], { cache });
    expect(cache.hits - hits).toBe(2);
    loadLayoutFromSources([src(2)], { cache });
    expect(cache.hits - hits).toBe(2);
  });
});

describe('LayoutInvalidError', () => {
  it('carries the diagnostics and lists them in its message', () => {
    const { errors } = load(`
      - job: {name: a, parent: nope}
    `);
    const err = new LayoutInvalidError(errors);
    expect(err.code).toBe('DRAWBRIDGE_ERR_CONFIG_LAYOUT_INVALID');
    expect(err.errors).toBe(errors);
    expect(err.message).toBe(
      'layout has 1 error(s):\nzuul.yaml:1: error: [job a] parent: unknown parent job "nope" (DRAWBRIDGE_ERR_CONFIG_UNKNOWN_PARENT)',
    );
  });
});
