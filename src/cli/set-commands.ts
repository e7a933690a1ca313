// The checkpoint-set commands: checkpoint (save), restore, clone, sets, rm, gc, inspect.
import { Option, type Command } from 'commander';
import * as core from '../core/index.js';
import { renderTable } from '../ui/plain/table.js';
import { formatBytes, formatDuration } from '../util/time.js';
import { fileOption, resolveTarget, type TargetOpts } from './target.js';

interface Common extends TargetOpts {
  store?: string;
  json?: boolean;
  printStats?: boolean;
  /** with --json: every progress event */
  progress?: boolean;
}

type MakeCtx = (json: boolean, progress?: boolean) => core.CoreContext;
const PROGRESS_HELP = 'with --json: every progress event (bytes so far, per service), not only the last';
type Globals = (cmd: Command) => Common;

const out = (s: string): boolean => process.stdout.write(s);
const age = (iso: string): string => `${formatDuration(Date.now() - Date.parse(iso))} ago`;

function printCheckpointStats(r: core.CheckpointResult): void {
  out(
    renderTable(
      ['SERVICE', 'BYTES', 'DUMP', 'CRIU FROZEN', 'CRIU MEMDUMP', 'CRIU MEMWRITE', 'PAGES'],
      r.services.map((s) => [
        s.service,
        formatBytes(s.bytes),
        formatDuration(s.dumpWallMs),
        s.criuFrozenMs === undefined ? '-' : formatDuration(s.criuFrozenMs),
        s.criuMemdumpMs === undefined ? '-' : formatDuration(s.criuMemdumpMs),
        s.criuMemwriteMs === undefined ? '-' : formatDuration(s.criuMemwriteMs),
        String(s.pagesWritten ?? '-'),
      ]),
    ) + '\n',
  );
  out(`freeze ${formatDuration(r.freezeMs)}, stack frozen ${formatDuration(r.frozenMs)}, total ${formatDuration(r.totalMs)}\n`);
}

function printRestoreStats(r: core.RestoreResult): void {
  out(
    renderTable(
      ['SERVICE', 'RESTORE', 'CRIU FORKING', 'CRIU RESTORE', 'PAGES'],
      r.services.map((s) => [
        s.service,
        formatDuration(s.restoreWallMs),
        s.criuForkingMs === undefined ? '-' : formatDuration(s.criuForkingMs),
        s.criuRestoreMs === undefined ? '-' : formatDuration(s.criuRestoreMs),
        String(s.pagesRestored ?? '-'),
      ]),
    ) + '\n',
  );
  out(`verify ${formatDuration(r.verifyMs)}, restore ${formatDuration(r.restoreMs)}, total ${formatDuration(r.totalMs)}\n`);
}

function restoreJson(r: core.RestoreResult): unknown {
  return { set: r.set.name, project: r.project, verifyMs: r.verifyMs, restoreMs: r.restoreMs, totalMs: r.totalMs, services: r.services };
}

/** --stdio / --creds / --pid of restore and clone: override each service's x-ckpt.restore. */
function addRestoreModeOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--stdio <from>', 'fds 0-2 of the restored programs: from the image, or inherited from ckpt').choices(['image', 'inherit']))
    .addOption(new Option('--creds <from>', 'uid, gid, groups, capabilities: from the image, or the restorer\'s (never more)').choices(['image', 'inherit']))
    .addOption(new Option('--pid <pids>', 'the dumped pids, or a fresh pid namespace (saved pids inside, new ones outside)').choices(['image', 'fresh']))
    .addOption(new Option('--pages <how>', 'memory: copied into the restored programs, or mapped from the set (read on first touch; see README)').choices(['copy', 'map']))
    .option('--allow-changed-files', 'restore even if files the set references were replaced or modified since the checkpoint')
    .option('--full-verify', 're-hash every file of the set, also those hashed before and unchanged since');
}

function restoreModes(
  o: { stdio?: string; creds?: string; pid?: string; pages?: string; allowChangedFiles?: boolean; fullVerify?: boolean },
): Pick<core.RestoreOptions, 'stdio' | 'creds' | 'pid' | 'pages' | 'allowChangedFiles' | 'fullVerify'> {
  return {
    ...(o.fullVerify ? { fullVerify: true } : {}),
    ...(o.allowChangedFiles ? { allowChangedFiles: true } : {}),
    ...(o.stdio ? { stdio: o.stdio as 'image' | 'inherit' } : {}),
    ...(o.creds ? { creds: o.creds as 'image' | 'inherit' } : {}),
    ...(o.pid ? { pid: o.pid as 'image' | 'fresh' } : {}),
    ...(o.pages ? { pages: o.pages as 'copy' | 'map' } : {}),
  };
}

/**
 * `restore --here`: the program comes back in this terminal and ckpt waits for it like a shell
 * for a job, ending with its exit code. Ctrl-C and Ctrl-\\ reach the shim too (same process
 * group), which passes them on to the program; a hangup or a SIGTERM sent to ckpt alone is
 * passed to the shim. ckpt itself only waits, and removes the copy's state once it has ended.
 */
async function restoreHere(makeCtx: MakeCtx, set: string, opts: core.RestoreOptions): Promise<number> {
  let shimPid: number | undefined;
  const ignore = (): void => undefined;
  const forward = (sig: NodeJS.Signals): void => {
    if (shimPid) process.kill(shimPid, sig);
  };
  const signals: [NodeJS.Signals, (sig: NodeJS.Signals) => void][] = [
    ['SIGINT', ignore],
    ['SIGQUIT', ignore],
    ['SIGHUP', forward],
    ['SIGTERM', forward],
  ];
  for (const [sig, fn] of signals) process.on(sig, fn);
  try {
    const ctx = { ...makeCtx(false), events: core.nullSink };
    const r = await core.restore(ctx, set, { ...opts, here: true });
    shimPid = Object.values(r.state.services)[0]?.shimPid;
    const code = await r.exited!;
    await core.down(ctx, r.project, { timeoutMs: 1000 }).catch(() => undefined);
    return code;
  } finally {
    for (const [sig, fn] of signals) process.off(sig, fn);
  }
}

/**
 * The stack that -f / -p name, when either is given: -p by name, -f by its manifest (whose name
 * it takes unless -p gives another), by compose's rules. Neither: undefined, and the command's
 * default applies (a set's own project, or every set of the store).
 */
async function namedStack(o: TargetOpts): Promise<{ name?: string; manifest?: core.Project }> {
  if (!o.file?.length && !o.projectName) return {};
  if (!o.file?.length) return { name: o.projectName! };
  const { name, project } = await resolveTarget(o, { needManifest: true });
  return { name, ...(project ? { manifest: project } : {}) };
}

export function addSetCommands(program: Command, globals: Globals, makeCtx: MakeCtx): void {
  const storeOf = (o: Common): string => core.storeRoot(o.store);

  program
    .command('checkpoint')
    .alias('save')
    .description('Freeze the stack (or the given services) at one moment and dump it into a named set')
    .argument('<set>', 'name of the checkpoint set')
    .argument('[services...]', 'only these services')
    .addOption(fileOption('-f, --file <manifest>', 'manifest file'))
    .option('-p, --project-name <name>', 'project name')
    .option('--store <dir>', 'checkpoint store')
    .option('--stop', 'stop the stack after the checkpoint (default: leave it running)')
    .option('--replace', 'replace an existing set of that name')
    .option('--print-stats', 'print CRIU timing statistics')
    .option('--json', 'print the result as JSON')
    .option('--progress', PROGRESS_HELP)
    .action(async (set: string, services: string[], _o: unknown, cmd: Command) => {
      const o = globals(cmd);
      const { name } = await resolveTarget(o, { needManifest: false });
      const r = await core.checkpoint(makeCtx(Boolean(o.json), Boolean(o.progress)), name, set, {
        storeRoot: storeOf(o),
        services,
        stop: Boolean(cmd.opts().stop),
        replace: Boolean(cmd.opts().replace),
      });
      if (o.json) {
        out(JSON.stringify({ set: r.set.name, sizeBytes: r.set.sizeBytes, freezeMs: r.freezeMs, frozenMs: r.frozenMs, totalMs: r.totalMs, services: r.services }) + '\n');
        return;
      }
      out(`checkpoint ${r.set.name}: ${r.set.services.length} service(s), ${formatBytes(r.set.sizeBytes)}, stack frozen ${formatDuration(r.frozenMs)}\n`);
      if (o.printStats) printCheckpointStats(r);
    });

  addRestoreModeOptions(
    program
      .command('restore')
      .description('Bring a stack back from a checkpoint set')
      .argument('<set>', 'name of the checkpoint set')
      .addOption(fileOption('-f, --file <manifest>', 'the manifest of the stack the set was taken from: the set must hold its services (a service changed since is named in a warning)'))
      .option('-p, --project-name <name>', 'restore as this project (default: the manifest\'s name with -f, else the set\'s)')
      .option('--store <dir>', 'checkpoint store')
      .option('--replace', 'stop the running stack of that name first, and discard what its volumes got after the cut (refused otherwise)')
      .option('--here', 'bring a one-program set back in this terminal (fds 0-2 inherited) and wait for it')
      .option('--print-stats', 'print CRIU timing statistics')
      .option('--json', 'print the result as JSON')
      .option('--progress', PROGRESS_HELP),
  ).action(async (set: string, _o: unknown, cmd: Command) => {
      const o = globals(cmd);
      const named = await namedStack(o);
      const opts: core.RestoreOptions = {
        storeRoot: storeOf(o),
        ...(named.name ? { as: named.name } : {}),
        ...(named.manifest ? { manifest: named.manifest } : {}),
        replace: Boolean(cmd.opts().replace),
        ...restoreModes(cmd.opts()),
      };
      if (cmd.opts().here) {
        process.exitCode = await restoreHere(makeCtx, set, opts);
        return;
      }
      const r = await core.restore(makeCtx(Boolean(o.json), Boolean(o.progress)), set, opts);
      if (o.json) return void out(JSON.stringify(restoreJson(r)) + '\n');
      out(`restored ${r.project} from ${r.set.name} in ${formatDuration(r.totalMs)}\n`);
      if (o.printStats) printRestoreStats(r);
    });

  addRestoreModeOptions(
    program
      .command('clone')
      .description('Start another, independent copy of a stack from a checkpoint set')
      .argument('<set>', 'name of the checkpoint set')
      .option('--as <name>', 'project name of the copy (required; -p is the same)')
      .option('-p, --project-name <name>', 'project name of the copy (same as --as)')
      .addOption(fileOption('-f, --file <manifest>', 'the manifest of the stack the set was taken from: the set must hold its services'))
      .option('--store <dir>', 'checkpoint store')
      .option('--print-stats', 'print CRIU timing statistics')
      .option('--json', 'print the result as JSON')
      .option('--progress', PROGRESS_HELP),
  ).action(async (set: string, opts: { as?: string; projectName?: string }, cmd: Command) => {
      const o = globals(cmd);
      const as = opts.as ?? o.projectName;
      if (!as) {
        throw new core.CkptError('USAGE', 'clone needs the name of the copy', { hint: `Name it: ckpt clone ${set} --as <name> (or -p <name>)` });
      }
      if (opts.as && o.projectName && opts.as !== o.projectName) {
        throw new core.CkptError('USAGE', `clone: --as ${opts.as} and -p ${o.projectName} name two different copies`, { hint: 'Give one of them: they are the same option.' });
      }
      // -f names the stack the set came from; the copy is named by --as / -p, never by the file
      const manifest = o.file?.length ? (await resolveTarget({ file: o.file, ...(o.profile ? { profile: o.profile } : {}) }, { needManifest: true })).project : undefined;
      const r = await core.restore(makeCtx(Boolean(o.json), Boolean(o.progress)), set, {
        storeRoot: storeOf(o),
        as,
        ...(manifest ? { manifest } : {}),
        ...restoreModes(cmd.opts()),
      });
      if (o.json) return void out(JSON.stringify(restoreJson(r)) + '\n');
      out(`cloned ${r.set.name} as ${r.project} in ${formatDuration(r.totalMs)}\n`);
      if (o.printStats) printRestoreStats(r);
    });

  program
    .command('sets')
    .description('List checkpoint sets (of one stack with -f or -p; all of the store without)')
    .addOption(fileOption('-f, --file <manifest>', 'only the sets of this manifest\'s stack'))
    .option('-p, --project-name <name>', 'only the sets of this stack')
    .option('--store <dir>', 'checkpoint store')
    .option('--json', 'print JSON')
    .action(async (_o: unknown, cmd: Command) => {
      const o = globals(cmd);
      const { name } = await namedStack(o);
      const sets = core.listSets(storeOf(o)).filter((s) => name === undefined || s.project === name);
      if (o.json) {
        out(
          JSON.stringify(
            sets.map((s) => ({ name: s.name, project: s.project, services: s.services, createdAt: s.createdAt, sizeBytes: s.sizeBytes, exclusiveBytes: s.exclusiveBytes, parent: s.parent ?? null })),
            null,
            2,
          ) + '\n',
        );
        return;
      }
      out(
        renderTable(
          ['NAME', 'PROJECT', 'SERVICES', 'CREATED', 'SIZE', 'PARENT'],
          sets.map((s) => [s.name, s.project, s.services.join(','), age(s.createdAt), formatBytes(s.sizeBytes), s.parent ?? '-']),
        ) + '\n',
      );
    });

  program
    .command('rm')
    .description('Remove checkpoint sets')
    .argument('<sets...>', 'names of the sets')
    .option('--store <dir>', 'checkpoint store')
    .option('--json', 'print JSON')
    .action(async (names: string[], _o: unknown, cmd: Command) => {
      const o = globals(cmd);
      const results = [];
      for (const n of names) results.push({ name: n, ...(await core.removeSet(storeOf(o), n)) });
      if (o.json) return void out(JSON.stringify(results) + '\n');
      for (const r of results) out(`removed ${r.name} (${formatBytes(r.freedBytes)} freed)\n`);
    });

  program
    .command('verify')
    .description('Re-hash every file of checkpoint sets and compare with what was stored (exit 74 if damaged)')
    .argument('<sets...>', 'names of the sets')
    .option('--store <dir>', 'checkpoint store')
    .option('--json', 'print JSON')
    .action(async (names: string[], _o: unknown, cmd: Command) => {
      const o = globals(cmd);
      const results = [];
      for (const n of names) {
        const r = await core.verifySet(storeOf(o), n);
        results.push({ name: r.name, services: r.services, files: r.files, bytes: r.bytes });
      }
      if (o.json) return void out(JSON.stringify(results) + '\n');
      for (const r of results) out(`${r.name}: intact (${r.files} files, ${formatBytes(r.bytes)} re-hashed)\n`);
    });

  program
    .command('gc')
    .description('Remove stored data no set uses, and leftovers of interrupted checkpoints')
    .option('--store <dir>', 'checkpoint store')
    .option('--json', 'print JSON')
    .action(async (_o: unknown, cmd: Command) => {
      const o = globals(cmd);
      const r = await core.gc(storeOf(o));
      if (o.json) return void out(JSON.stringify(r) + '\n');
      out(`removed ${r.removedObjects} object(s), ${r.removedTmp} leftover(s), ${r.removedSnapshots} orphan snapshot(s); ${formatBytes(r.freedBytes)} freed\n`);
    });

  program
    .command('inspect')
    .description('Show what a checkpoint set holds: processes, memory, files, mappings, sockets')
    .argument('<set>', 'name of the checkpoint set')
    .argument('[services...]', 'only these services')
    .option('--store <dir>', 'checkpoint store')
    .option('--json', 'print JSON')
    .action(async (set: string, services: string[], _o: unknown, cmd: Command) => {
      const o = globals(cmd);
      const r = await core.inspectSet(storeOf(o), set, { services });
      if (o.json) {
        const { set: s, services: svc } = r;
        out(JSON.stringify({ set: { name: s.name, project: s.project, createdAt: s.createdAt, sizeBytes: s.sizeBytes, parent: s.parent ?? null }, services: svc }, null, 2) + '\n');
        return;
      }
      out(`${r.set.name}  (project ${r.set.project}, ${age(r.set.createdAt)}, ${formatBytes(r.set.sizeBytes)}${r.set.parent ? `, parent ${r.set.parent}` : ''})\n`);
      for (const s of r.services) {
        out(`\nservice ${s.service}\n`);
        out(core.renderInspectTree(s.report, { color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR }) + '\n');
      }
    });
}
