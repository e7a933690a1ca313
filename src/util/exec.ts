// execa takes ~120 ms to load, more than the rest of a command like `ckpt ps` or `ckpt sets`:
// it is loaded on the first call, by the commands that start programs, and only by them.

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
