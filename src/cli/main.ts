/**
 * The `drawbridge` command. This file is the composition root: the only
 * place that reads process.argv, sets the exit code, and installs handlers.
 */
import { Command, CommanderError, Option } from 'commander';
import { DrawbridgeError, toError } from '../errors.js';
import { enqueueCommand, type EnqueueOptions } from './admin-enqueue.js';
import { statusCommand } from './admin-status.js';
import { configCheckCommand } from './config-check.js';
import { daemonCommand, type DaemonRuntime, type ServiceKind } from './daemon-command.js';
import { EXIT, type Io } from './io.js';
import { planCommand } from './plan.js';
import { validateCommand } from './validate.js';
import { VERSION } from './version.js';

const io: Io = { stdout: process.stdout, stderr: process.stderr };
const runtime: DaemonRuntime = {
  env: process.env,
  io,
  signals: process,
  logOut: process.stdout,
  version: VERSION,
};

/** A process that outlives its clean shutdown has leaked a handle: say so, then go anyway. */
function exitSoonAfterStop(): void {
  setTimeout(() => {
    io.stderr.write('drawbridge: handles still open after shutdown; exiting anyway\n');
    process.exit();
  }, 2_000).unref();
}

const configOption = (): Option =>
  new Option('--config <file>', 'the daemon config (drawbridge.yaml)')
    .env('DRAWBRIDGE_CONFIG')
    .makeOptionMandatory();

function daemon(program: Command, name: string, kinds: ServiceKind[], description: string): void {
  program
    .command(name)
    .description(description)
    .addOption(configOption())
    .option(
      '--grace <seconds>',
      'on SIGTERM/SIGINT, how long running work may take before it is aborted',
      '300',
    )
    .action(async (opts: { config: string; grace: string }) => {
      process.exitCode = await daemonCommand(kinds, opts, runtime);
      exitSoonAfterStop();
    });
}

function buildProgram(): Command {
  const program = new Command()
    .name('drawbridge')
    .description(
      'Deploys an infrastructure repository (Ansible playbooks + Zuul-style job layout)\n' +
        'through pipelines of jobs that run on a bastion host.',
    )
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    // Before the subcommands: commander copies this setting only to commands made after it.
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  drawbridge validate config/example/zuul.d
  drawbridge plan --pipeline deploy --files playbooks/service-gitea.yaml config/example/zuul.d
  drawbridge plan --pipeline deploy --git-range HEAD~1..HEAD --repo . --format json zuul.d
  drawbridge config check --config drawbridge.yaml
  drawbridge executor --config drawbridge.yaml --grace 600

Exit codes: 0 ok, 1 invalid input (layout or daemon config errors, a plan that cannot run),
2 usage or I/O error (also: ZooKeeper unreachable, a port in use).
Daemons: SIGTERM/SIGINT drains (work finishes within --grace), a second one stops at once.
Error codes are listed in docs/errors.md.`,
    );

  program
    .command('validate')
    .description('check a layout (files or directories of *.yaml) and report every problem at once')
    .argument('<path...>', 'layout files or directories, loaded in order')
    .option('--json', 'print {"errors": [...], "warnings": [...]} on stdout')
    .option('--playbook-dir <dir>', 'where vars.playbook_name playbooks live', 'playbooks')
    .option(
      '--project <name>',
      'the deployed repository; project stanzas naming another are ignored',
    )
    .action(
      async (paths: string[], opts: { json?: boolean; playbookDir: string; project?: string }) => {
        process.exitCode = await validateCommand(paths, opts, io);
      },
    );

  program
    .command('plan')
    .description(
      'show which jobs a change would run in a pipeline, why, in what order, and the critical path',
    )
    .argument('<path...>', 'layout files or directories, loaded in order')
    .requiredOption('--pipeline <name>', 'the pipeline to plan')
    .option('--files <list>', 'comma-separated changed files (default: every job, as for a timer)')
    .option('--git-range <old..new>', 'take the changed files from git diff OLD NEW (needs --repo)')
    .option('--repo <dir>', 'the git repository for --git-range', '.')
    .option(
      '--durations <file>',
      'JSON {"job": seconds} of expected durations for the critical path',
    )
    .option('--default-duration <seconds>', 'duration of a job missing from --durations', '60')
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(['text', 'json', 'dot'])
        .default('text'),
    )
    .option('--playbook-dir <dir>', 'where vars.playbook_name playbooks live', 'playbooks')
    .option(
      '--project <name>',
      'the deployed repository; project stanzas naming another are ignored',
    )
    .action(async (paths: string[], opts: Parameters<typeof planCommand>[1]) => {
      process.exitCode = await planCommand(paths, opts, io);
    });

  daemon(
    program,
    'executor',
    ['executor'],
    'run an executor: claim builds from ZooKeeper and run them on the bastion',
  );
  daemon(program, 'web', ['web'], 'serve the REST API (reads ZooKeeper only)');
  daemon(
    program,
    'scheduler',
    ['scheduler'],
    'run a scheduler: turn triggers into buildsets and dispatch their jobs',
  );
  daemon(
    program,
    'run',
    ['executor', 'scheduler', 'web'],
    'run scheduler, executor and web in one process (a single host)',
  );

  program
    .command('config')
    .description('daemon config tools')
    .command('check')
    .description('validate the daemon config and print it as loaded, secrets masked')
    .addOption(configOption())
    .option('--json', 'print JSON instead of YAML')
    .action(async (opts: { config: string; json?: boolean }) => {
      process.exitCode = await configCheckCommand(opts, process.env, io);
    });

  program
    .command('enqueue')
    .description('run a pipeline for a commit (every job, as a timer would); --wait follows it')
    .addOption(configOption())
    .requiredOption('--pipeline <name>', 'the pipeline to run')
    .requiredOption('--commit <sha>', 'the full 40-character commit to deploy')
    .option('--ref <ref>', 'the ref the commit is on (default: refs/heads/<repository.branch>)')
    .option('--wait', 'follow the buildset and exit 0 only if it succeeds')
    .option('--timeout <seconds>', 'with --wait: give up after this long', '3600')
    .action(async (opts: EnqueueOptions) => {
      process.exitCode = await enqueueCommand(opts, process.env, io);
    });

  program
    .command('status')
    .description("every pipeline's queue and buildsets, as the schedulers last wrote them")
    .addOption(configOption())
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; json?: boolean }) => {
      process.exitCode = await statusCommand(opts, process.env, io);
    });

  return program;
}

async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are "errors" to commander; they already printed.
      process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const error = toError(e);
    // User mistakes carry a code and a message that says it all: no stack.
    if (error instanceof DrawbridgeError) {
      io.stderr.write(`drawbridge: ${error.message} (${error.code})\n`);
    } else {
      io.stderr.write(`drawbridge: internal error: ${error.stack ?? error.message}\n`);
    }
    process.exitCode = EXIT.usage;
  }
}

await main(process.argv);
