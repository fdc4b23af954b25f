// The command line: global options, one subcommand per verb, the exit-status epilogue, and the mapping of
// commander's usage errors onto exit status 2 and the one-line error format.

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { VERSION } from '../version.js';
import { connectStorageClient } from './bus-client.js';
import { CliError, formatErrorLine, PROGRAM_NAME, toCliError } from './cli-error.js';
import { runBound, runDeployments, runSync } from './commands/bound.js';
import { runCancel } from './commands/cancel.js';
import { runExists } from './commands/exists.js';
import { runGc } from './commands/gc.js';
import { runJobs } from './commands/jobs.js';
import { runList } from './commands/list.js';
import { PULL_POLICIES, type PullPolicy, runPull } from './commands/pull.js';
import { runPrune, runRemove } from './commands/remove.js';
import { runWatch } from './commands/watch.js';
import type { CommandContext, Output } from './context.js';
import { EXIT, EXIT_STATUS_HELP } from './exit-codes.js';
import { startPolkitAgent } from './polkit-agent.js';
import { parseRemoteHost, type RemoteHost } from './remote-host.js';

export interface CliIo {
  stdout: Output;
  stderr: Output;
}

const MAX_JOB_ID = 0xffff_ffff;

/** Parses a job id: a whole number that fits D-Bus type "u". */
export function parseJobId(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) > MAX_JOB_ID) {
    throw new InvalidArgumentError('expected a job id, a whole number (see "bootc-storagectl jobs")');
  }
  return Number(value);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const MAIN_EPILOGUE = `
Image references are fully qualified, host/path[:tag][@digest], for example
quay.io/fedora/fedora-bootc:42. Calls may ask for a password through polkit
unless --no-ask-password is given.

${EXIT_STATUS_HELP}

See bootc-storagectl(1) for details.`;

/** Builds the program; `setExit` receives the status of the subcommand that ran. */
export function createProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command()
    .name(PROGRAM_NAME)
    .description(
      "Manage bootc's container image store through bootc-storaged (org.bootc.Storage on the system bus)",
    )
    .version(`${PROGRAM_NAME} ${VERSION}`, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show help for the command')
    .option('--no-ask-password', 'never ask for a password; fail when polkit would need one')
    .option(
      '-H, --host <host>',
      'operate on [USER@]HOST[:PORT] over SSH, as systemctl -H does',
      parseRemoteHost,
    )
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) =>
        write(formatErrorLine(`${s.replace(/^error: /, '').trim()} (see '${PROGRAM_NAME} --help')`)),
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    .addHelpText('after', MAIN_EPILOGUE);

  /** Runs a subcommand with a bus connection and the global options. */
  const withContext =
    <A extends unknown[]>(
      opts: { agent: boolean },
      fn: (ctx: CommandContext, ...args: A) => Promise<number>,
    ) =>
    async (...args: A) => {
      const globals = program.opts<{ askPassword: boolean; host?: RemoteHost }>();
      const interactive = globals.askPassword !== false;
      // A local agent answers only for local processes; over -H the remote host's polkit has none to ask.
      const local = globals.host === undefined;
      const stopAgent = opts.agent && interactive && local ? await startPolkitAgent() : () => undefined;
      let client: Awaited<ReturnType<typeof connectStorageClient>> | undefined;
      try {
        client = await connectStorageClient({ interactive, host: globals.host });
        setExit(
          await fn({ client, noAskPassword: !interactive, stdout: io.stdout, stderr: io.stderr }, ...args),
        );
      } finally {
        client?.disconnect();
        stopAgent();
      }
    };

  program
    .command('pull')
    .description('fetch an image from its registry into the store, showing progress')
    .argument('<image>', 'fully-qualified image reference')
    .addOption(
      new Option('--policy <policy>', 'when to contact the registry')
        .choices(PULL_POLICIES as unknown as string[])
        .default('missing'),
    )
    .option('-q, --quiet', 'show no progress')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Policies: "missing" pulls only when the image is not in the store; "always" always
pulls; "newer" contacts the registry and changes the store only if the image did.
Progress goes to stderr: a live bar on a terminal, otherwise a few lines a second.
Ctrl-C cancels the pull and exits with status 130. Exit status 0 means the image is
in the store, whether it was fetched or already present.`,
    )
    .action(
      withContext(
        { agent: true },
        (ctx, image: string, o: { policy: PullPolicy; json?: boolean; quiet?: boolean }) =>
          runPull(ctx, image, o),
      ),
    );

  program
    .command('exists')
    .description('tell whether an image is in the store (exit status 0 present, 1 absent)')
    .argument('<image>', 'fully-qualified image reference')
    .option('-q, --quiet', 'print nothing; only set the exit status')
    .option('--json', 'print the answer as JSON')
    .action(
      withContext({ agent: false }, (ctx, image: string, o: { json?: boolean; quiet?: boolean }) =>
        runExists(ctx, image, o),
      ),
    );

  program
    .command('list')
    .alias('images')
    .description('list the images in the store')
    .option('--json', 'print the images as JSON')
    .action(withContext({ agent: false }, (ctx, o: { json?: boolean }) => runList(ctx, o)));

  program
    .command('remove')
    .alias('rm')
    .description('remove images (a tag removes that name; an ID or digest removes the whole image)')
    .argument('<image...>', 'image references or 64-hex image IDs')
    .option('--json', 'print the removed image IDs as JSON')
    .action(
      withContext({ agent: true }, (ctx, images: string[], o: { json?: boolean }) =>
        runRemove(ctx, images, o),
      ),
    );

  program
    .command('prune')
    .description('remove every image not referenced by one of the roots')
    .option('--root <image>', 'an image to keep (repeat for several; at least one)', collect, [])
    .option('--json', 'print the removed image IDs as JSON')
    .action(
      withContext({ agent: true }, async (ctx, o: { root: string[]; json?: boolean }) => {
        if (o.root.length === 0) {
          throw new CliError(
            `prune needs at least one --root IMAGE (pruning with no roots would remove every image) (see '${PROGRAM_NAME} prune --help')`,
            EXIT.USAGE,
          );
        }
        return runPrune(ctx, o.root, o);
      }),
    );

  program
    .command('jobs')
    .description("list the daemon's queued and running jobs")
    .option('-w, --watch', 'keep showing the jobs as they change, until Ctrl-C (which exits with status 0)')
    .option('--json', 'print the jobs as JSON (with --watch: one JSON array per line)')
    .action(withContext({ agent: false }, (ctx, o: { json?: boolean; watch?: boolean }) => runJobs(ctx, o)));

  program
    .command('watch')
    .description(
      'print a line whenever the store or the deployments change, whoever changed them, until Ctrl-C',
    )
    .option('--json', 'print one JSON object per line: {"time": …, "event": "StoreChanged" | …}')
    .action(withContext({ agent: false }, (ctx, o: { json?: boolean }) => runWatch(ctx, o)));

  program
    .command('cancel')
    .description('cancel a queued or running job')
    .argument('<id>', 'the job id, as "jobs" shows it', parseJobId)
    .option('--json', 'print the result as JSON')
    .action(withContext({ agent: true }, (ctx, id: number, o: { json?: boolean }) => runCancel(ctx, id, o)));

  program
    .command('gc')
    .description('remove every image that no ostree deployment refers to (bound images and host images)')
    .option('-n, --dry-run', 'only print what would be removed')
    .option('--json', 'print the removed (or, with --dry-run, removable) image IDs as JSON')
    .action(withContext({ agent: true }, (ctx, o: { dryRun?: boolean; json?: boolean }) => runGc(ctx, o)));

  program
    .command('deployments')
    .description(
      'list the ostree deployments with their role (booted, staged, rollback, other) and host image',
    )
    .option('--json', 'print the deployments as JSON')
    .action(withContext({ agent: false }, (ctx, o: { json?: boolean }) => runDeployments(ctx, o)));

  program
    .command('bound')
    .description('list the images each deployment binds, and whether each is in the store')
    .option('--json', 'print the deployments with their bound images as JSON')
    .action(withContext({ agent: false }, (ctx, o: { json?: boolean }) => runBound(ctx, o)));

  program
    .command('sync')
    .description('pull every missing image a deployment binds (all deployments by default), with progress')
    .argument(
      '[deployment]',
      'one deployment, "<checksum>.<serial>" as "deployments" shows it (or a pending update\'s "<checksum>")',
    )
    .option(
      '--pending',
      'the update that is coming (a staged deployment, and every update fetched but not deployed)',
    )
    .option('-q, --quiet', 'show no progress')
    .option('--json', 'print the pulled images as JSON')
    .action(
      withContext(
        { agent: true },
        (ctx, deployment: string | undefined, o: { json?: boolean; quiet?: boolean; pending?: boolean }) =>
          runSync(ctx, deployment, o),
      ),
    );

  return program;
}

/** Runs the CLI on argv (process.argv form) and returns the exit status; never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let status: number = EXIT.OK;
  const program = createProgram(io, (code) => {
    status = code;
  });
  try {
    await program.parseAsync([...argv]);
    return status;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.OK;
      if (err.code === 'commander.help') return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return EXIT.USAGE;
    }
    const failure = err instanceof CliError ? err : toCliError(err, 'unexpected failure');
    // With -H every failure names the host first: a loop over a fleet tells which one failed.
    const host = program.opts<{ host?: RemoteHost }>().host;
    io.stderr.write(formatErrorLine(host ? `${host.spec}: ${failure.message}` : failure.message));
    return failure.exitCode;
  }
}
