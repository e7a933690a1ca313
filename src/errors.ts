// Every failure a user can cause or fix is a CkptError: a stable code, the exit code the CLI
// returns for it, and a hint that says what to do. Anything else reaching the CLI is a bug and
// is reported as INTERNAL (exit 70) with its stack.

export const EXIT = {
  ok: 0,
  /** bad flags or arguments (like sysexits EX_USAGE) */
  usage: 64,
  /** the manifest does not load or validate */
  manifest: 65,
  /** the machine lacks something: root, CRIU, kernel feature, dockerd */
  environment: 69,
  /** a stack operation (up/down/start) failed */
  runtime: 71,
  /** checkpoint failed */
  checkpoint: 72,
  /** restore failed */
  restore: 73,
  /** the checkpoint store is locked, corrupt or full */
  store: 74,
  /** a bug in ckpt */
  internal: 70,
  /** interrupted by the user (Ctrl-C) */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The table of codes: each code maps to one exit code, so the CLI never has to guess. */
export const CODES = {
  USAGE: EXIT.usage,
  MANIFEST_NOT_FOUND: EXIT.manifest,
  MANIFEST_INVALID: EXIT.manifest,
  NOT_ROOT: EXIT.environment,
  CRIU_MISSING: EXIT.environment,
  CRIU_UNPATCHED: EXIT.environment,
  KERNEL_UNSUPPORTED: EXIT.environment,
  DOCKER_UNREACHABLE: EXIT.environment,
  TOOL_MISSING: EXIT.environment,
  STACK_NOT_RUNNING: EXIT.runtime,
  STACK_ALREADY_RUNNING: EXIT.runtime,
  STACK_LOCKED: EXIT.runtime,
  SERVICE_UNKNOWN: EXIT.usage,
  SERVICE_START_FAILED: EXIT.runtime,
  BUILD_FAILED: EXIT.runtime,
  SERVICE_UNHEALTHY: EXIT.runtime,
  VOLUME_IN_USE: EXIT.runtime,
  VOLUME_CHANGED: EXIT.restore,
  CHECKPOINT_FAILED: EXIT.checkpoint,
  RESTORE_FAILED: EXIT.restore,
  STORE_LOCKED: EXIT.store,
  STORE_CORRUPT: EXIT.store,
  STORE_UNWRITABLE: EXIT.store,
  SET_NOT_FOUND: EXIT.store,
  INTERNAL: EXIT.internal,
} as const;

export type ErrorCode = keyof typeof CODES;

export interface CkptErrorOptions {
  hint?: string;
  cause?: unknown;
  /** extra lines (e.g. every problem of a manifest) shown under the message */
  details?: string[];
  /** a file the user should look at, e.g. a CRIU log */
  logFile?: string;
}

export class CkptError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly hint: string | undefined;
  readonly details: string[];
  readonly logFile: string | undefined;

  constructor(code: ErrorCode, message: string, opts: CkptErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CkptError';
    this.code = code;
    this.exitCode = CODES[code];
    this.hint = opts.hint;
    this.details = opts.details ?? [];
    this.logFile = opts.logFile;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      exitCode: this.exitCode,
      message: this.message,
      details: this.details,
      hint: this.hint,
      logFile: this.logFile,
    };
  }
}

export function isCkptError(e: unknown): e is CkptError {
  return e instanceof CkptError;
}

/** Wrap anything thrown that is not ours, so the CLI has one shape to print. */
export function asCkptError(e: unknown): CkptError {
  if (isCkptError(e)) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  return new CkptError('INTERNAL', `internal error: ${err.message}`, {
    cause: err,
    hint: 'This is a bug in ckpt. Please report it with the command you ran and this output (run with CKPT_DEBUG=1 for the stack).',
  });
}
