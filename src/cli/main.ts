/**
 * The `drawbridge` command. This file is the composition root: the only
 * place that reads process.argv, sets the exit code, and installs handlers.
 */
import { Command, CommanderError, Option } from 'commander';
import { DrawbridgeError, toError } from '../errors.js';
import { enqueueCommand, type EnqueueOptions } from './admin-enqueue.js';
import {
  apiBuildsetCommand,
  apiComponentsCommand,
  apiEnqueueCommand,
  apiLogsCommand,
  apiPlanCommand,
  apiRollingRestartCommand,
  apiStatusCommand,
  DEFAULT_RESTART_WAIT_S,
} from './api-commands.js';
import { statusCommand } from './admin-status.js';
import { configCheckCommand } from './config-check.js';
import { daemonCommand, type DaemonRuntime, type ServiceKind } from './daemon-command.js';
import { componentControlCommand, componentsCommand } from './components.js';
import { EXIT, type Io } from './io.js';
import { rollingRestartCommand, type RollingRestartCliOptions } from './rolling-restart.js';
import { followSupervisor, superviseCommand } from './supervise.js';
import { planCommand } from './plan.js';
import { reconfigureCommand, type ReconfigureOptions } from './reconfigure.js';
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
    .option('--supervise', 'run the daemon as a child and start it again after a drain or crash')
    .action(async (opts: { config: string; grace: string; supervise?: boolean }) => {
      if (opts.supervise) {
        // The child is this very command without --supervise.
        const args = process.argv.slice(2).filter((a) => a !== '--supervise');
        const command = { file: process.execPath, args: [...process.execArgv, process.argv[1]!] };
        process.exitCode = await superviseCommand(args, { io, signals: process, command });
        return;
      }
      followSupervisor(process);
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
Daemons: SIGTERM/SIGINT drains (work finishes within --grace), a second one stops at once;
SIGHUP to a scheduler or run process reconfigures the layout (as drawbridge reconfigure).
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
    .command('reconfigure')
    .description(
      'validate the layout the config names and, if valid, make every scheduler switch to it',
    )
    .addOption(configOption())
    .option('--json', 'print the outcome (errors included) as JSON on stdout')
    .option('--wait', 'then wait until every registered scheduler runs the new layout')
    .option('--timeout <seconds>', 'with --wait: give up after this long', '60')
    .action(async (opts: ReconfigureOptions) => {
      process.exitCode = await reconfigureCommand(opts, process.env, io);
    });

  const components = program
    .command('components')
    .description('registered schedulers, executors and web, and the latest rolling restart');
  components
    .command('list', { isDefault: true })
    .description('list them (the default)')
    .addOption(configOption())
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; json?: boolean }) => {
      process.exitCode = await componentsCommand(opts, process.env, io);
    });
  for (const [action, what] of [
    ['pause', 'an executor stops claiming builds; running ones continue'],
    ['resume', 'a paused executor claims builds again'],
    ['drain', 'a scheduler or executor finishes its work and exits (its supervisor restarts it)'],
  ] as const) {
    components
      .command(action)
      .description(what)
      .argument('<id>', 'the component id (as listed)')
      .addOption(configOption())
      .option('--timeout <seconds>', 'give up waiting after this long', '300')
      .action(async (id: string, opts: { config: string; timeout: string }) => {
        process.exitCode = await componentControlCommand(action, id, opts, process.env, io);
      });
  }

  program
    .command('rolling-restart')
    .description('restart the schedulers (or executors) one at a time, never the last one running')
    .addOption(configOption())
    .addOption(
      new Option('--kind <kind>', 'what to restart')
        .choices(['scheduler', 'executor'])
        .default('scheduler'),
    )
    .option('--timeout <seconds>', 'per component: to drain, and then to be replaced', '300')
    .action(async (opts: RollingRestartCliOptions) => {
      const abort = new AbortController();
      const cancel = () => abort.abort(new Error('interrupted by a signal'));
      process.once('SIGINT', cancel).once('SIGTERM', cancel);
      try {
        process.exitCode = await rollingRestartCommand(opts, process.env, io, abort.signal);
      } finally {
        process.off('SIGINT', cancel).off('SIGTERM', cancel);
      }
    });

  program
    .command('status')
    .description("every pipeline's queue and buildsets, as the schedulers last wrote them")
    .addOption(configOption())
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; json?: boolean }) => {
      process.exitCode = await statusCommand(opts, process.env, io);
    });

  apiCommands(program);
  return program;
}

/** `drawbridge api ...`: the same views and actions through a web process's REST API. */
function apiCommands(program: Command): void {
  const api = program
    .command('api')
    .description(
      'use the REST API of a web process (token from DRAWBRIDGE_TOKEN, DRAWBRIDGE_TOKEN_FILE or --token-file)',
    );
  const client = (name: string, description: string) =>
    api
      .command(name)
      .description(description)
      .option('--url <url>', 'the web process (env DRAWBRIDGE_URL)')
      .option('--token-file <file>', 'a file holding the API token')
      .option('--json', 'print the JSON answer');
  client('status', "every pipeline's queue and buildsets").action(
    async (o: Parameters<typeof apiStatusCommand>[0]) => {
      process.exitCode = await apiStatusCommand(o, process.env, io);
    },
  );
  client('components', 'registered schedulers, executors and web processes')
    .option('--kind <kind>', 'only scheduler, executor or web')
    .action(async (o: Parameters<typeof apiComponentsCommand>[0]) => {
      process.exitCode = await apiComponentsCommand(o, process.env, io);
    });
  client('enqueue', 'run a pipeline for a commit (needs the operator role)')
    .requiredOption('--pipeline <name>', 'the pipeline to run')
    .requiredOption('--commit <sha>', 'the full 40-character commit to deploy')
    .option('--ref <ref>', 'the ref the commit is on (default: the configured branch)')
    .action(async (o: Parameters<typeof apiEnqueueCommand>[0]) => {
      process.exitCode = await apiEnqueueCommand(o, process.env, io);
    });
  for (const verb of ['dequeue', 'promote'] as const)
    client(verb, `${verb} a buildset (needs the operator role)`)
      .requiredOption('--pipeline <name>', 'its pipeline')
      .requiredOption('--buildset <id>', 'the buildset id (as drawbridge api status shows it)')
      .action(async (o: Parameters<typeof apiBuildsetCommand>[1]) => {
        process.exitCode = await apiBuildsetCommand(verb, o, process.env, io);
      });
  client('plan', 'which jobs a change would run, in the layout the schedulers run')
    .requiredOption('--pipeline <name>', 'the pipeline to plan')
    .option('--files <list>', 'comma-separated changed files (default: every job)')
    .action(async (o: Parameters<typeof apiPlanCommand>[0]) => {
      process.exitCode = await apiPlanCommand(o, process.env, io);
    });
  api
    .command('logs')
    .description("a build's log; with -f its lines as they are written, until the build ends")
    .argument('<build-id>', 'the build (request) id, as /api/builds lists it')
    .option('--url <url>', 'the web process (env DRAWBRIDGE_URL)')
    .option('--token-file <file>', 'a file holding the API token')
    .option('-f, --follow', 'follow it until the build ends, resuming after a dropped connection')
    .action(async (build: string, o: Omit<Parameters<typeof apiLogsCommand>[0], 'build'>) => {
      process.exitCode = await apiLogsCommand({ ...o, build }, process.env, io);
    });
  client(
    'rolling-restart',
    'restart the schedulers one at a time and follow it (needs the admin role)',
  )
    .option(
      '--timeout <seconds>',
      'stop waiting after this long (the restart goes on)',
      String(DEFAULT_RESTART_WAIT_S),
    )
    .action(async (o: Parameters<typeof apiRollingRestartCommand>[0]) => {
      process.exitCode = await apiRollingRestartCommand(o, process.env, io);
    });
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
