// The only code that starts CRIU. The log path is known before CRIU runs, so any failure can
// point at it; the environment is minimal; the full command line is kept for the log.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { CkptError, type ErrorCode } from '../errors.js';
import { DUMP_LOG, RESTORE_LOG, dumpArgs, restoreArgs, shellQuote, type DumpOptions, type RestoreOptions } from './args.js';
import { criuPath } from './probe.js';
import { TOOL_ENV, spawnCapturing } from '../util/exec.js';


function osSignal(name: NodeJS.Signals): number {
  return osConstants.signals[name] ?? 0;
}

/**
 * Error lines CRIU writes on every failed restore, after the one that says what went wrong:
 * the cgroup daemon losing its peer and the final verdict.
 */
const AFTERMATH = [/cgroupd: recv req error/, /Restoring FAILED/, /Dumping FAILED/, /\d+ exited, status=\d+/];

/** The last Error lines of a CRIU log, the one that says what went wrong last. */
export function logErrors(logFile: string, max = 5): string[] {
  try {
    const lines = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => /\bError\b/.test(l))
      .map((l) => l.replace(/^\(\d+\.\d+\)\s*/, '').trim());
    const cause = lines.filter((l) => !AFTERMATH.some((re) => re.test(l)));
    const aftermath = lines.filter((l) => AFTERMATH.some((re) => re.test(l)));
    // The first cause is what failed first; what follows from it comes after.
    return [...cause.slice(0, max), ...aftermath.slice(-1)].slice(0, max).reverse();
  } catch {
    return [];
  }
}

/** What the user can do about the CRIU error lines ckpt recognises (logErrors' lines, last first). */
export function hintFor(lines: string[], logFile: string): string {
  if (lines.some((l) => /refusing to restore it \(--allow-changed-files overrides\)/.test(l))) {
    return 'A file the checkpoint uses was replaced or modified since (see above). Restore anyway with --allow-changed-files, or put the file back as it was.';
  }
  if (lines.some((l) => /anon_inode:\[io_uring\]/.test(l))) {
    return 'The program uses io_uring, which CRIU cannot checkpoint. Turn it off in the program (MariaDB: --innodb-use-native-aio=0; liburing users: their epoll or thread-pool fallback), then restart the service.';
  }
  return `Read the CRIU log for the whole story: ${logFile}`;
}

function failure(code: ErrorCode, what: string, logFile: string, cmd: string[], extra: string): CkptError {
  const errors = logErrors(logFile);
  return new CkptError(code, `${what}: ${errors.at(-1) ?? extra}`, {
    details: [...errors.slice(0, -1).reverse(), `command: ${shellQuote([criuPath(), ...cmd])}`],
    logFile,
    hint: hintFor(errors, logFile),
  });
}

export interface DumpResult {
  logFile: string;
  command: string[];
  ms: number;
}

/**
 * Runs `criu dump`; returns the pid of the running CRIU through onStart (for the thaw guard).
 * Spawned directly, not through execa: the dump runs while the stack is frozen, and loading
 * execa there would add its load time to the frozen time.
 */
export async function criuDump(o: DumpOptions, what: string, onStart?: (pid: number) => void): Promise<DumpResult> {
  const args = dumpArgs(o);
  const logFile = join(o.workDir ?? o.imagesDir, DUMP_LOG);
  const started = performance.now();
  // CRIU writes to its log file; what it prints is kept (bounded) for when the log is missing.
  const exit = await spawnCapturing(criuPath(), args, TOOL_ENV, onStart);
  if (exit.code !== 0) {
    const extra = exit.error ? `cannot run ${criuPath()}: ${exit.error.message}` : exit.output.trim() || `criu exited with status ${exit.code}`;
    throw failure('CHECKPOINT_FAILED', `checkpoint of ${what} failed`, logFile, args, extra);
  }
  return { logFile, command: [criuPath(), ...args], ms: performance.now() - started };
}

export interface RestoreLaunch {
  /** ckpt-shim binary */
  shim: string;
  /** the service's state directory: the shim writes shim.pid, adopted / adopt-failed, exit */
  serviceDir: string;
  cgroup?: string;
  /** the service's log: the shim pumps a new pipe into it, handed to CRIU as fd 3 for logKey */
  logFile: string;
  logKey?: string;
  /** the stack's network namespace (a /proc/PID/ns/net path), handed to CRIU as fd 4 for netnsKey */
  netns?: { path: string; key: string };
  /** extra environment for CRIU and its action scripts */
  env?: Record<string, string>;
  /**
   * Where the restored root's fds 0-2 come from with --inherit-stdio: 'pipe' = the new output
   * pipe (stdout, stderr; stdin /dev/null), 'here' = this process's own stdio (the terminal of
   * `ckpt restore --here`; the shim then stays in the foreground and ends as the program ends).
   */
  stdio?: 'pipe' | 'here';
}

/**
 * Starts `criu restore --restore-detached` under a ckpt-shim in adopt mode, which becomes the
 * restored tree's parent (subreaper) and stays with it, as the shim of a fresh start does.
 */
export async function criuRestoreDetached(
  o: RestoreOptions,
  launch: RestoreLaunch,
  what: string,
): Promise<{ logFile: string; ms: number; exited?: Promise<number> }> {
  const here = launch.stdio === 'here';
  const inheritFds = [...(o.inheritFds ?? [])];
  // With the terminal as its stdio the program has no output pipe to be given back.
  if (launch.logKey && !here) inheritFds.push({ fd: 3, key: launch.logKey });
  if (launch.netns) inheritFds.push({ fd: 4, key: launch.netns.key });
  const args = restoreArgs({ ...o, inheritFds, inheritStdio: o.inheritStdio || Boolean(launch.stdio) });
  const logFile = join(o.workDir, RESTORE_LOG);
  const shimArgs = ['adopt', '--state', launch.serviceDir];
  if (!here) shimArgs.push('--log', launch.logFile);
  if (launch.stdio) shimArgs.push('--stdio', launch.stdio);
  if (launch.cgroup) shimArgs.push('--cgroup', launch.cgroup);
  if (launch.netns) shimArgs.push('--netns', launch.netns.path);
  shimArgs.push('--', criuPath(), ...args);
  const started = performance.now();
  const child = here
    ? spawn(launch.shim, shimArgs, { stdio: 'inherit', env: { ...TOOL_ENV, ...launch.env } })
    : spawn(launch.shim, shimArgs, { detached: true, stdio: 'ignore', env: { ...TOOL_ENV, ...launch.env } });
  const exited = here
    ? new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? osSignal(signal) : 0))))
    : undefined;
  if (!here) child.unref();
  const outcome = await new Promise<'adopted' | 'failed'>((resolve) => {
    const poll = setInterval(() => {
      if (existsSync(join(launch.serviceDir, 'adopted'))) done('adopted');
      else if (existsSync(join(launch.serviceDir, 'adopt-failed'))) done('failed');
    }, 5);
    const exitWatch = (): void => {
      // the shim left without saying: it failed before running CRIU
      setTimeout(() => done(existsSync(join(launch.serviceDir, 'adopted')) ? 'adopted' : 'failed'), 20);
    };
    child.once('exit', exitWatch);
    function done(v: 'adopted' | 'failed'): void {
      clearInterval(poll);
      child.off('exit', exitWatch);
      resolve(v);
    }
  });
  if (outcome === 'failed') {
    throw failure('RESTORE_FAILED', `restore of ${what} failed`, logFile, args, 'criu restore failed');
  }
  return { logFile, ms: performance.now() - started, ...(exited ? { exited } : {}) };
}
