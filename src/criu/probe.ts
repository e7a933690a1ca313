// What CRIU this machine has: where, which version, whether it is our patched build, and what
// `criu check` says of the kernel. The only other module that runs criu is criu/run.ts.
import { accessSync, constants, readFileSync } from 'node:fs';
import { run, runTool } from '../util/exec.js';
import { CkptError } from '../errors.js';
import { STAMP_FILE, expectedStamp } from './stamp.js';

export const CRIU_MIN_VERSION = [4, 1, 1] as const;
export const DEFAULT_CRIU = '/usr/local/sbin/criu';

export function criuPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.CKPT_CRIU || DEFAULT_CRIU;
}

export interface CriuInfo {
  path: string;
  version: string;
  /** GitID line of `criu --version`: our builds put the stamp there */
  gitId?: string;
  /** contents of the stamp file next to the install */
  stamp?: string;
  expectedStamp: string;
  patched: boolean;
}

export function parseVersion(out: string): { version?: string; gitId?: string } {
  const version = /^Version:\s*(\S+)/m.exec(out)?.[1];
  const gitId = /^GitID:\s*(\S+)/m.exec(out)?.[1];
  return { ...(version ? { version } : {}), ...(gitId ? { gitId } : {}) };
}

export async function probeCriu(path = criuPath()): Promise<CriuInfo> {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new CkptError('CRIU_MISSING', `CRIU is not installed at ${path}`, {
      hint: 'Build and install ckpt\'s CRIU with: sudo bash criu-patches/build.sh',
    });
  }
  const r = await run(path, ['--version']);
  const { version, gitId } = parseVersion(r.stdout);
  if (r.exitCode !== 0 || !version) {
    throw new CkptError('CRIU_MISSING', `${path} --version failed: ${(r.stderr || r.stdout).trim()}`, {
      hint: 'Rebuild it with: sudo bash criu-patches/build.sh --force',
    });
  }
  let stamp: string | undefined;
  try {
    stamp = readFileSync(STAMP_FILE, 'utf8').trim();
  } catch {
    stamp = undefined;
  }
  const expected = expectedStamp();
  return {
    path,
    version,
    ...(gitId ? { gitId } : {}),
    ...(stamp ? { stamp } : {}),
    expectedStamp: expected,
    patched: gitId === expected || (path === DEFAULT_CRIU && stamp === expected),
  };
}

export interface CriuCheck {
  ok: boolean;
  output: string;
}

/**
 * `criu check`: what CRIU needs of every kernel. Not `--all`, which also fails for features ckpt
 * never uses (autofs, soft-dirty): core/kernel-features.ts asks for ckpt's own list one by one.
 */
export async function criuCheck(path = criuPath()): Promise<CriuCheck> {
  const r = await run(path, ['check']);
  const output = r.all.trim();
  return { ok: r.exitCode === 0, output };
}

/** `criu check --feature NAME`: one feature per call (CRIU keeps only the last --feature given). */
export async function criuHasFeature(path: string, feature: string): Promise<CriuCheck> {
  const r = await runTool(path, ['check', '--feature', feature]);
  return { ok: r.code === 0, output: r.output.trim().split('\n').filter((l) => !/is supported$/.test(l)).join(' | ') };
}
