/**
 * The `drawbridge` command. This file is the composition root: the only
 * place that reads process.argv, sets the exit code, and installs handlers.
 */
import { Command, CommanderError, Option } from 'commander';
import { DrawbridgeError, toError } from '../errors.js';
import { EXIT, type Io } from './io.js';
import { planCommand } from './plan.js';
import { validateCommand } from './validate.js';
import { VERSION } from './version.js';

const io: Io = { stdout: process.stdout, stderr: process.stderr };

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

Exit codes: 0 ok, 1 invalid input (layout errors, a plan that cannot run), 2 usage or I/O error.
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
