// execa takes ~120 ms to load, more than the rest of a command like `ckpt ps` or `ckpt sets`:
// it is loaded on the first call, by the commands that start programs, and only by them.
import { spawn } from 'node:child_process';

export interface RunOptions {
  /** written to the program's stdin (otherwise stdin is /dev/null) */
  input?: string;
  timeoutMs?: number;
  /** the whole environment when given (nothing inherited) */
  env?: Record<string, string>;
}

export interface RunResult {
  /** undefined when the program could not start or was killed */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved */
  all: string;
  timedOut: boolean;
}

/** Runs a program to completion; never throws for a failing program (look at exitCode). */
export async function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const { execa } = await import('execa');
  const r = await execa(file, args, {
    reject: false,
    all: true,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
    ...(opts.timeoutMs !== undefined ? { timeout: opts.timeoutMs } : {}),
    ...(opts.env ? { env: opts.env, extendEnv: false } : {}),
  });
  return { exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), all: String(r.all ?? ''), timedOut: Boolean(r.timedOut) };
}

export interface SpawnedResult {
  /** null when the program could not start (see error) or was killed by a signal */
  code: number | null;
  /** stdout and stderr together, the first 64 KiB of them */
  output: string;
  error?: Error;
}

/**
 * Runs a program without execa, for steps inside a stack's frozen time (a dump), where loading
 * execa would add its load time: stdin /dev/null, output kept up to 64 KiB, and the pid handed
 * to `onStart` as soon as it exists (for the thaw guard).
 */
export function spawnCapturing(file: string, args: readonly string[], env: Record<string, string>, onStart?: (pid: number) => void): Promise<SpawnedResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) onStart?.(child.pid);
    let output = '';
    const keep = (d: Buffer): void => {
      if (output.length < 64 * 1024) output += d.toString();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (error) => resolve({ code: null, output, error }));
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** The environment ckpt runs its tools in (CRIU, runc, tar, mount): nothing of the caller's. */
export const TOOL_ENV: Record<string, string> = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' };

/** spawnCapturing, with a program that cannot start reported as its output (code null). */
export async function runTool(
  file: string,
  args: readonly string[],
  env: Record<string, string> = TOOL_ENV,
  onStart?: (pid: number) => void,
): Promise<{ code: number | null; output: string }> {
  const r = await spawnCapturing(file, args, env, onStart);
  return r.error ? { code: null, output: `cannot run ${file}: ${r.error.message}` } : r;
}
