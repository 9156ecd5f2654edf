import { describe, expect, it } from '@jest/globals';
import {
  BastionCheckoutError,
  SshConnectionLostError,
  SshNotConnectedError,
  type PlaybookOutcome,
} from '../bastion/index.js';
import { buildOutcomeSchema } from '../model/index.js';
import { buildLogPath } from './build-log.js';
import { BuildAbortedError, ExecutorLogNameError, ExecutorPlaybookMissingError } from './errors.js';
import { errorOutcome, playbookOutcome } from './outcome.js';
import { resolveExecutorOptions, type ExecutorOptions } from './options.js';
import { bastionBuildId } from './run-build.js';

const run = (over: Partial<PlaybookOutcome>): PlaybookOutcome => ({
  result: 'SUCCESS',
  exitCode: 0,
  pgid: 100,
  startedAt: 1_000,
  endedAt: 2_000,
  ...over,
});
const ctx = { startedAt: null, endedAt: 5, logPath: '/logs/bs/job-1.log' };

describe('build outcomes', () => {
  it('map playbook results, never retryable once the playbook ran', () => {
    const cases = [
      [run({}), 'SUCCESS', 'exit status 0'],
      [run({ result: 'FAILURE', exitCode: 2 }), 'FAILURE', 'exit status 2'],
      [run({ result: 'TIMED_OUT', exitCode: null }), 'TIMED_OUT', 'timed out after 3000 ms'],
    ] as const;
    for (const [r, result, reason] of cases) {
      const o = playbookOutcome(r, undefined, '/l', 3_000);
      expect(o).toEqual({
        result,
        reason,
        retryable: false,
        exitCode: r.exitCode,
        startedAt: 1_000,
        endedAt: 2_000,
        logPath: '/l',
      });
      expect(buildOutcomeSchema.parse(o)).toEqual(o);
    }
  });

  it('tell a cancel (not retried) from an executor stop (retried)', () => {
    const stopped = run({ result: 'CANCELED', exitCode: null });
    const cancel = new BuildAbortedError('cancel', 'cancel requested');
    const stop = new BuildAbortedError('stop', 'executor stopping');
    expect(playbookOutcome(stopped, cancel, null, null)).toMatchObject({
      result: 'CANCELED',
      retryable: false,
    });
    expect(playbookOutcome(stopped, stop, null, null)).toMatchObject({
      result: 'ABORTED',
      retryable: true,
      reason: 'build aborted (stop): executor stopping',
    });
    // An abort wins over whatever error the interrupted step threw.
    const thrown = new BastionCheckoutError('bs', 'a'.repeat(40), 'aborted: x');
    expect(errorOutcome(thrown, cancel, ctx).result).toBe('CANCELED');
    expect(errorOutcome(thrown, stop, ctx)).toMatchObject({ result: 'ABORTED', retryable: true });
  });

  it('make errors ERROR, retryable only when nothing can have run', () => {
    const sha = 'b'.repeat(40);
    const table: Array<[Error, boolean]> = [
      [new SshNotConnectedError('bastion', 300), true],
      [new SshConnectionLostError('bastion', false), true],
      [new SshConnectionLostError('bastion', true), false],
      [new BastionCheckoutError('bs', sha, 'commit not found'), false],
      [new ExecutorPlaybookMissingError('bs', sha, 'playbooks/x.yml'), false],
      [new ExecutorLogNameError('job', '../x'), false],
      [new Error('surprise'), true],
    ];
    for (const [err, retryable] of table) {
      const o = errorOutcome(err, undefined, ctx);
      expect(o).toEqual({
        ...ctx,
        result: 'ERROR',
        retryable,
        reason: err.message,
        exitCode: null,
      });
    }
    expect(errorOutcome(new Error('late'), undefined, { ...ctx, startedAt: 3 }).retryable).toBe(
      false,
    );
  });
});

describe('build log paths', () => {
  it('are <root>/<buildset>/<job>-<attempt>.log', () => {
    expect(buildLogPath('/var/log/db', 'bs-1', 'infra-prod.base', 2)).toBe(
      '/var/log/db/bs-1/infra-prod.base-2.log',
    );
  });
  it('refuse names that could leave the log root', () => {
    for (const [bs, job, attempt] of [
      ['..', 'j', 1],
      ['bs', '../../etc/passwd', 1],
      ['bs/x', 'j', 1],
      ['bs', 'a..b', 1],
      ['', 'j', 1],
      ['bs', '.hidden', 1],
      ['bs', 'j', 0],
      ['bs', 'j', 1.5],
    ] as const) {
      expect(() => buildLogPath('/logs', bs, job, attempt)).toThrow(ExecutorLogNameError);
    }
  });
});

describe('executor options', () => {
  const base: ExecutorOptions = {
    slots: 2,
    version: '1',
    bastion: { host: 'h', username: 'u', privateKey: 'k', hostKey: 'SHA256:x' },
    workspaceRoot: '/srv/drawbridge',
    source: { kind: 'fetch', url: 'https://git.example/infra.git' },
    logRoot: '/var/log/drawbridge',
  };
  it('fill defaults and freeze', () => {
    const o = resolveExecutorOptions(base);
    expect(o).toMatchObject({
      logStream: { host: '127.0.0.1', port: 0 },
      killGraceMs: 5_000,
      keepWorkspaces: 20,
      rescanIntervalMs: 5_000,
      jobNice: 10,
      jobCpuPolicy: 'batch',
    });
    expect(Object.isFrozen(o)).toBe(true);
  });
  it('name the key that is wrong', () => {
    const bad: Array<[Partial<ExecutorOptions>, string]> = [
      [{ slots: 0 }, 'slots'],
      [{ logRoot: 'relative/logs' }, 'logRoot'],
      [{ jobCpuPolicy: 'idle' as never }, 'jobCpuPolicy'],
      [{ workspaceRoot: 'srv' }, 'workspaceRoot'],
      [{ logStream: { port: 70_000 } }, 'logStream.port'],
    ];
    for (const [over, key] of bad) {
      let caught: unknown;
      try {
        resolveExecutorOptions({ ...base, ...over });
      } catch (e) {
        caught = e;
      }
      expect(caught).toMatchObject({ code: 'DRAWBRIDGE_ERR_EXECUTOR_CONFIG', key });
    }
  });
});

describe('bastion build ids', () => {
  it('stay valid and distinct for ids the bastion would refuse', () => {
    const a = bastionBuildId('req.1');
    const b = bastionBuildId('req_1');
    expect(a).toMatch(/^b-req_1-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
  });
});
