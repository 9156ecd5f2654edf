/**
 * What can be checked of the packaging without a container engine or a
 * systemd host: the compose file parses and names only files that exist,
 * the Dockerfiles copy only what exists and is not ignored, the image runs
 * as a non-root user, the compose cluster's daemon config loads, the shell
 * scripts parse, and every command line (compose and systemd) names a real
 * `drawbridge` subcommand and real options. `systemd-analyze verify` runs
 * on the units when the machine has it.
 */
import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { parseDaemonConfig } from '../../src/config/index.js';
import { drawbridgeOnce, root } from '../processes/support.js';

// Each `--help` starts the CLI from its sources.
jest.setTimeout(120_000);

const docker = join(root, 'docker');
const systemd = join(root, 'packaging/systemd');
const SUBCOMMANDS = ['scheduler', 'executor', 'web', 'run'] as const;
/** Each subcommand's options, from its own --help. */
const options = new Map<string, Set<string>>();

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

const compose = yaml.load(readFileSync(join(docker, 'compose.yaml'), 'utf8')) as Compose;

/** `drawbridge <sub> --opt value...`: checks the subcommand and each option against --help. */
function expectRealCommand(args: readonly string[], where: string): void {
  const [sub, ...rest] = args;
  expect({ where, sub }).toEqual({
    where,
    sub: expect.stringMatching(/^(scheduler|executor|web|run)$/),
  });
  const known = options.get(sub!)!;
  for (const a of rest.filter((x) => x.startsWith('-')))
    expect({ where, option: a, known: known.has(a) }).toEqual({ where, option: a, known: true });
}

/** Dockerfile instructions with line continuations joined. */
function instructions(file: string): string[] {
  return readFileSync(file, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Top-level names a Dockerfile.dockerignore lets through (`*` then `!name` lines). */
function allowed(ignoreFile: string): string[] {
  const lines = readFileSync(ignoreFile, 'utf8')
    .split('\n')
    .map((l) => l.trim());
  expect(lines).toContain('*');
  return lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
}

beforeAll(async () => {
  await Promise.all(
    SUBCOMMANDS.map(async (sub) => {
      const help = await drawbridgeOnce([sub, '--help']);
      expect(help.code).toBe(0);
      options.set(sub, new Set(help.stdout.match(/--[a-z][a-z-]*/g) ?? []));
    }),
  );
});

describe('docker/compose.yaml', () => {
  it('has the whole cluster, and each Drawbridge service runs a real subcommand', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'bastion',
      'executor',
      'scheduler-1',
      'scheduler-2',
      'setup',
      'web',
      'zookeeper',
    ]);
    const drawbridge = Object.entries(compose.services).filter(
      ([, s]) => s.image === 'drawbridge:local',
    );
    expect(drawbridge.map(([n]) => n).sort()).toEqual([
      'executor',
      'scheduler-1',
      'scheduler-2',
      'web',
    ]);
    for (const [name, s] of drawbridge) {
      expectRealCommand(s.command ?? [], `compose service ${name}`);
      expect({ name, restart: s.restart }).toEqual({ name, restart: 'unless-stopped' });
      expect(s.depends_on?.setup?.condition).toBe('service_completed_successfully');
    }
  });

  it('names only files that exist and volumes it declares', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.build) {
        const context = resolve(docker, s.build.context);
        expect({ name, context: existsSync(context) }).toEqual({ name, context: true });
        const dockerfile = join(context, s.build.dockerfile);
        expect({ name, dockerfile: existsSync(dockerfile) }).toEqual({ name, dockerfile: true });
      }
      for (const v of s.volumes ?? []) {
        const [source = ''] = v.split(':');
        if (source.startsWith('.')) {
          expect({ name, source, exists: existsSync(resolve(docker, source)) }).toEqual({
            name,
            source,
            exists: true,
          });
        } else {
          expect({ name, volume: source, declared: source in compose.volumes }).toEqual({
            name,
            volume: source,
            declared: true,
          });
        }
      }
    }
  });

  it('comes with a daemon config that loads as the containers get it', () => {
    const file = join(docker, 'drawbridge.yaml');
    const result = parseDaemonConfig(
      { file, text: readFileSync(file, 'utf8') },
      {
        env: { DRAWBRIDGE_BASTION_HOST_KEY: 'SHA256:gSfdZTGiKdMlxzFx7VEBIagOjams99fgrcNRtNp3gVs' },
      },
    );
    expect(result.errors).toEqual([]);
    // Paths the compose file mounts are the paths the config uses.
    const config = result.config!;
    expect(config.bastion.privateKey).toBe('/keys/executor_ed25519');
    expect(config.repository.url).toBe('/srv/repo.git');
    const volumes = compose.services['scheduler-1']?.volumes ?? [];
    expect(volumes).toEqual(
      expect.arrayContaining([
        'keys:/keys:ro',
        'repo:/srv:ro',
        './drawbridge.yaml:/etc/drawbridge/drawbridge.yaml:ro',
      ]),
    );
  });
});

describe('Dockerfiles', () => {
  const images = Object.values(compose.services)
    .filter((s) => s.build)
    .map((s) => join(resolve(docker, s.build!.context), s.build!.dockerfile));

  it('copy only files that exist and that their ignore file lets through', () => {
    expect(new Set(images).size).toBe(2);
    for (const dockerfile of new Set(images)) {
      const through = allowed(`${dockerfile}.dockerignore`);
      for (const line of instructions(dockerfile).filter((l) => /^COPY /i.test(l))) {
        if (line.includes('--from=')) continue;
        const parts = line.split(/\s+/).slice(1);
        for (const src of parts.slice(0, -1)) {
          expect({ dockerfile, src, exists: existsSync(join(root, src)) }).toEqual({
            dockerfile,
            src,
            exists: true,
          });
          const ok = through.some((a) => src === a || src.startsWith(`${a}/`));
          expect({ dockerfile, src, notIgnored: ok }).toEqual({
            dockerfile,
            src,
            notIgnored: true,
          });
        }
      }
    }
  });

  it('builds the Drawbridge image in stages and runs it as a non-root user', () => {
    const steps = instructions(join(docker, 'Dockerfile'));
    expect(steps.filter((l) => /^FROM /i.test(l)).length).toBeGreaterThanOrEqual(2);
    const lastFrom = steps.map((l) => /^FROM /i.test(l)).lastIndexOf(true);
    const user = steps.slice(lastFrom).filter((l) => /^USER /i.test(l));
    expect(user).toHaveLength(1);
    expect(user[0]).not.toMatch(/^USER\s+(root|0)(:|$)/i);
    expect(steps.find((l) => /^ENTRYPOINT /i.test(l))).toMatch(/tini/);
  });

  it('ships shell scripts that parse and are executable', () => {
    const scripts = [
      join(docker, 'entrypoint.sh'),
      join(docker, 'bastion/entrypoint.sh'),
      join(docker, 'bastion/setup.sh'),
    ];
    for (const s of scripts) {
      accessSync(s, constants.X_OK);
      const r = spawnSync('sh', ['-n', s], { encoding: 'utf8' });
      expect({ s, status: r.status, stderr: r.stderr }).toEqual({ s, status: 0, stderr: '' });
    }
  });
});

describe('systemd units', () => {
  const units = readdirSync(systemd).filter((f) => f.endsWith('.service'));
  const directives = (file: string): Map<string, string[]> => {
    const map = new Map<string, string[]>();
    for (const line of readFileSync(join(systemd, file), 'utf8').split('\n')) {
      const m = /^([A-Za-z]+)=(.*)$/.exec(line);
      if (m) map.set(m[1]!, [...(map.get(m[1]!) ?? []), m[2]!]);
    }
    return map;
  };

  it('one per process, each running a real subcommand as drawbridge, restarted always', () => {
    expect(units.sort()).toEqual([
      'drawbridge-executor.service',
      'drawbridge-scheduler.service',
      'drawbridge-web.service',
      'drawbridge.service',
    ]);
    for (const unit of units) {
      const d = directives(unit);
      const exec = d.get('ExecStart') ?? [];
      expect({ unit, exec: exec.length }).toEqual({ unit, exec: 1 });
      const [bin, ...args] = exec[0]!.split(/\s+/);
      expect(bin).toBe('/usr/bin/drawbridge');
      expectRealCommand(args, unit);
      expect({ unit, restart: d.get('Restart') }).toEqual({ unit, restart: ['always'] });
      expect({ unit, user: d.get('User') }).toEqual({ unit, user: ['drawbridge'] });
      // A stop must outlast the drain's grace, or systemd kills a drain midway.
      const grace = Number(args[args.indexOf('--grace') + 1]);
      expect(Number(d.get('TimeoutStopSec')?.[0])).toBeGreaterThan(grace);
      // Reload (SIGHUP) reconfigures: only where a scheduler runs.
      const schedules = args[0] === 'scheduler' || args[0] === 'run';
      expect({ unit, reload: d.has('ExecReload') }).toEqual({ unit, reload: schedules });
    }
  });

  it('pass systemd-analyze verify when the machine has it', () => {
    const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (analyze.error) {
      // No systemd here (a container): the checks above are all there is.
      expect((analyze.error as NodeJS.ErrnoException).code).toBe('ENOENT');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'drawbridge-units-'));
    try {
      // verify checks that ExecStart is executable: point it at the checkout's launcher.
      const launcher = join(root, 'bin/drawbridge.js');
      for (const unit of units)
        writeFileSync(
          join(dir, unit),
          readFileSync(join(systemd, unit), 'utf8').replaceAll('/usr/bin/drawbridge', launcher),
        );
      const r = spawnSync('systemd-analyze', ['verify', ...units.map((u) => join(dir, u))], {
        encoding: 'utf8',
      });
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
