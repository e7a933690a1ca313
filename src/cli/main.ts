// Argument parsing → core calls → a sink. The only place that calls process.exit.
import { Command, CommanderError, Option } from 'commander';
import * as core from '../core/index.js';
import { CkptError, EXIT, asCkptError } from '../errors.js';
import { plainSink } from '../ui/plain/events.js';
import { jsonSink } from '../ui/json/events.js';
import { printError } from './errors-out.js';
import { fileOption, mergedFiles, profileOption, resolveTarget, withManifestArgument, type TargetOpts } from './target.js';
import { printPs, printStacks, printDoctor } from './print.js';
import { runUpForeground } from './up-foreground.js';
import { addSetCommands } from './set-commands.js';

interface GlobalOpts extends TargetOpts {
  store?: string;
}

function wantColor(): boolean {
  return Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
}

/** The Ink UI needs a terminal on both ends; CI logs and pipes get plain lines. */
function wantUi(): boolean {
  return Boolean(process.stdout.isTTY && process.stdin.isTTY) && process.env.CI !== 'true' && process.env.TERM !== 'dumb';
}

function makeCtx(json: boolean, prefixWidth?: number, logPrefix = true, progress = false): core.CoreContext {
  return {
    stateRoot: core.stateRoot(),
    events: json ? jsonSink(undefined, { progress }) : plainSink({ color: wantColor(), logPrefix, ...(prefixWidth ? { prefixWidth } : {}) }),
  };
}

export function buildProgram(): Command {
  const program = new Command('ckpt')
    .description('Checkpoint/restore for developer stacks, on a patched CRIU')
    .version(process.env.npm_package_version ?? '0.1.0', '-v, --version')
    .enablePositionalOptions()
    .addOption(fileOption('-f, --file <manifest>', 'manifest file (default: $COMPOSE_FILE, else ckpt.yaml, compose.yaml or docker-compose.yml and its override file)'))
    .addOption(profileOption())
    .option('-p, --project-name <name>', 'project name (default: the manifest\'s name or its directory)')
    .option('--store <dir>', 'checkpoint store directory (default: $CKPT_STORE or /var/lib/ckpt/store)')
    .showHelpAfterError('(run ckpt --help for usage)')
    .exitOverride();

  // -f before the command and after it both count: `ckpt -f a.yaml up -f b.yaml` merges a, then b
  const globals = (cmd: Command): GlobalOpts => {
    const file = mergedFiles(program.opts<GlobalOpts>(), cmd.opts<GlobalOpts>());
    const { file: _ignored, ...rest } = { ...program.opts<GlobalOpts>(), ...cmd.opts<GlobalOpts>() };
    return { ...rest, ...(file ? { file } : {}) };
  };
  const fileOpt = (): Option => fileOption('-f, --file <manifest>', 'manifest file');
  const projOpt = (): Option => new Option('-p, --project-name <name>', 'project name');

  program
    .command('up')
    .description('Create and start the services of a stack (foreground: follows logs, Ctrl-C stops it)')
    .argument('[manifest]', 'manifest file (same as -f)')
    .addOption(fileOpt())
    .addOption(projOpt())
    .addOption(profileOption())
    .option('-d, --detach', 'start in the background and return')
    .option('--wait', 'with -d: return once every service with a healthcheck is healthy')
    .option('--build', 'build every image with `build:` before starting (default: only missing ones)')
    .option('--json', 'print events as JSON lines')
    .option('--no-ui', 'plain output even on a terminal (the default when not a terminal, or under CI)')
    .option('--plain', 'same as --no-ui')
    .action(async (manifest: string | undefined, opts: { detach?: boolean; wait?: boolean; build?: boolean; json?: boolean; ui?: boolean; plain?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const { project, warnings } = await resolveTarget(withManifestArgument(g, manifest), { needManifest: true });
      const width = Math.max(...project!.services.map((s) => s.name.length));
      const ctx = makeCtx(Boolean(opts.json), width);
      if (!opts.detach && !opts.json && opts.ui !== false && !opts.plain && wantUi()) {
        const { runUi } = await import('../ui/ink/run.js');
        process.exitCode = await runUi({ stateRoot: ctx.stateRoot, storeRoot: core.storeRoot(g.store), project: project!.name, up: project!, build: Boolean(opts.build), color: wantColor() });
        return;
      }
      for (const w of warnings) ctx.events(core.ev({ type: 'message', level: 'warn', text: w }));
      if (opts.detach) {
        await core.up(ctx, project!, { wait: Boolean(opts.wait), build: Boolean(opts.build) });
        return;
      }
      process.exitCode = await runUpForeground(ctx, project!, { build: Boolean(opts.build) });
    });

  program
    .command('build')
    .description('Build the images of the services with `build:` (all, or the ones named), and tag them')
    .argument('[services...]', 'only these services')
    .addOption(fileOpt())
    .addOption(projOpt())
    .option('--json', 'print events as JSON lines, then the result')
    .action(async (services: string[], opts: { json?: boolean }, cmd: Command) => {
      const { project, warnings } = await resolveTarget(globals(cmd), { needManifest: true });
      const ctx = makeCtx(Boolean(opts.json));
      for (const w of warnings) ctx.events(core.ev({ type: 'message', level: 'warn', text: w }));
      const built = await core.build(ctx, project!, { services, always: true });
      if (opts.json) process.stdout.write(JSON.stringify(built) + '\n');
      else if (built.length === 0) process.stdout.write(`no service of ${project!.name} has \`build:\`\n`);
    });

  program
    .command('run')
    .description('Run one program under ckpt, as a stack of its own (checkpoint it; restore it with --here)')
    .requiredOption('--name <name>', 'name of the program\'s stack and service')
    .option('-d, --detach', 'run in the background and return')
    .option('-e, --env <KEY=VALUE...>', 'environment of the program (nothing else is passed on but PATH)')
    .option('--json', 'print events as JSON lines')
    .argument('<command...>', 'the program and its arguments (after --)')
    .passThroughOptions()
    .action(async (argv: string[], opts: { name: string; detach?: boolean; env?: string[]; json?: boolean }) => {
      const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      for (const kv of opts.env ?? []) {
        const i = kv.indexOf('=');
        if (i <= 0) throw new CkptError('USAGE', `--env ${kv}: expected KEY=VALUE`);
        env[kv.slice(0, i)] = kv.slice(i + 1);
      }
      const project = core.programProject(opts.name, argv, process.cwd(), env);
      const ctx = makeCtx(Boolean(opts.json), opts.name.length);
      if (opts.detach) {
        await core.up(ctx, project);
        return;
      }
      process.exitCode = await runUpForeground(ctx, project);
    });

  program
    .command('ui')
    .description('Attach the terminal UI to a running stack (quitting it can leave the stack running)')
    .addOption(fileOpt())
    .addOption(projOpt())
    .action(async (_o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const { name } = await resolveTarget(g, { needManifest: false });
      if (!wantUi()) {
        throw new CkptError('USAGE', 'ckpt ui needs a terminal (stdin and stdout a TTY, not under CI)', {
          hint: `Use ckpt ps -p ${name} and ckpt logs -f -p ${name} instead.`,
        });
      }
      const { runUi } = await import('../ui/ink/run.js');
      process.exitCode = await runUi({ stateRoot: core.stateRoot(), storeRoot: core.storeRoot(g.store), project: name, color: wantColor() });
    });

  program
    .command('down')
    .description('Stop the services of a stack and remove its state')
    .addOption(fileOpt())
    .addOption(projOpt())
    .option('-t, --timeout <seconds>', 'grace period before SIGKILL (default: each service\'s stop_grace_period)')
    .option('-v, --volumes', 'also remove its named volumes (containers\' and process services\'; anonymous ones of containers always go)')
    .option('--json', 'print events as JSON lines')
    .action(async (opts: { timeout?: string; volumes?: boolean; json?: boolean }, cmd: Command) => {
      const { name } = await resolveTarget(globals(cmd), { needManifest: false });
      const ctx = makeCtx(Boolean(opts.json));
      const timeoutMs = opts.timeout === undefined ? undefined : parseSeconds(opts.timeout, '--timeout');
      await core.down(ctx, name, { ...(timeoutMs === undefined ? {} : { timeoutMs }), ...(opts.volumes ? { volumes: true } : {}) });
    });

  program
    .command('ps')
    .description('List the services of a stack, with state and health')
    .addOption(fileOpt())
    .addOption(projOpt())
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { name } = await resolveTarget(globals(cmd), { needManifest: false });
      const rows = await core.ps(makeCtx(false), name);
      printPs(rows, Boolean(opts.json));
    });

  program
    .command('ls')
    .description('List running stacks')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      printStacks(core.listStacks(makeCtx(false)), Boolean(opts.json));
    });

  program
    .command('logs')
    .description('Show the output of services')
    .argument('[services...]', 'only these services')
    .addOption(fileOption('--file <manifest>', 'manifest file'))
    .addOption(projOpt())
    .option('-f, --follow', 'follow log output')
    .option('-n, --tail <lines>', 'number of lines from the end of each log')
    .option('--json', 'print log lines as JSON')
    .option('--no-log-prefix', 'do not print the service name before each line')
    .action(async (services: string[], opts: { follow?: boolean; tail?: string; json?: boolean; logPrefix: boolean }, cmd: Command) => {
      // -f means --follow here (as in compose); the manifest is --file, or the global -f.
      const { name, project } = await resolveTarget(globals(cmd), { needManifest: false });
      const width = Math.max(1, ...(project?.services.map((s) => s.name.length) ?? services.map((s) => s.length)));
      const ctx = makeCtx(Boolean(opts.json), width, opts.logPrefix);
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      const tail = opts.tail === undefined || opts.tail === 'all' ? undefined : parseCount(opts.tail, '--tail');
      await core.logs(ctx, name, {
        services,
        follow: Boolean(opts.follow),
        signal: ac.signal,
        ...(tail === undefined ? {} : { tail }),
      });
    });

  program
    .command('config')
    .description('Validate the manifest and print it normalized')
    .argument('[manifest]', 'manifest file (same as -f)')
    .addOption(fileOpt())
    .addOption(projOpt())
    .addOption(profileOption())
    .option('--json', 'print JSON')
    .option('-q, --quiet', 'only validate, print nothing')
    .action(async (manifest: string | undefined, opts: { json?: boolean; quiet?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const { project, warnings } = await resolveTarget(withManifestArgument(g, manifest), { needManifest: true });
      for (const w of warnings) process.stderr.write(`WARN ${w}\n`);
      if (opts.quiet) return;
      process.stdout.write(opts.json ? (await core.projectToJSON(project!)) + '\n' : await core.renderProject(project!));
    });

  program
    .command('doctor')
    .description('Check that this machine can run and checkpoint stacks')
    .option('--store <dir>', 'checkpoint store directory to check')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const report = await core.doctor({ stateRoot: core.stateRoot(), storeRoot: core.storeRoot(g.store) });
      printDoctor(report, Boolean(opts.json), wantColor());
      if (!report.ok) process.exitCode = EXIT.environment;
    });

  addSetCommands(program, globals, (json, progress) => makeCtx(json, undefined, true, progress));

  // -f and -p before the command are the program's options, so commander would take them for
  // any command; one that acts on no stack refuses them instead of ignoring them.
  program.hook('preAction', (_program, action) => {
    const g = program.opts<GlobalOpts>();
    if ((!g.file?.length && !g.projectName && !g.profile?.length) || STACK_COMMANDS.has(action.name())) return;
    const given = [...(g.file ?? []).map((f) => `-f ${f}`), g.projectName ? `-p ${g.projectName}` : '', ...(g.profile ?? []).map((p) => `--profile ${p}`)].filter(Boolean).join(' ');
    throw new CkptError('USAGE', `ckpt ${action.name()} does not act on a stack: ${given} is not taken here`, {
      hint: `Leave it out. The commands that name a stack with -f/-p: ${[...STACK_COMMANDS].join(', ')}.`,
    });
  });
  return program;
}

/** The commands that name a stack, and so take -f / -p (also before the command). */
const STACK_COMMANDS = new Set(['up', 'build', 'ui', 'down', 'ps', 'logs', 'config', 'checkpoint', 'restore', 'clone', 'sets']);

function parseSeconds(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new CkptError('USAGE', `${flag} must be a number of seconds, got "${v}"`);
  return n * 1000;
}

function parseCount(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CkptError('USAGE', `${flag} must be a whole number or "all", got "${v}"`);
  return n;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are "errors" to commander; they exit 0
      if (e.exitCode === 0) process.exit(0);
      process.exit(EXIT.usage);
    }
    const err = asCkptError(e);
    printError(err, json);
    process.exit(err.exitCode);
  }
  process.exit(process.exitCode ?? 0);
}
