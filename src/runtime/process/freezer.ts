// The cgroup-v1 freezer: each process service lives in its own freezer cgroup so that ckpt can
// stop every service of a stack at one moment (the consistent cut) before any dump starts.
// CRIU then seizes each frozen tree with --freeze-cgroup.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CkptError } from '../../errors.js';
import { sleep } from '../../util/time.js';

export const FREEZER_ROOT = process.env.CKPT_FREEZER_ROOT || '/sys/fs/cgroup/freezer';

export function freezerAvailable(): boolean {
  return existsSync(join(FREEZER_ROOT, 'cgroup.procs'));
}

/** One directory per service; the state root's hash keeps separate ckpt installs (and tests) apart. */
export function serviceCgroup(stateRoot: string, project: string, service: string): string {
  const tag = createHash('sha256').update(stateRoot).digest('hex').slice(0, 8);
  return join(FREEZER_ROOT, 'ckpt', `${tag}-${project}`, service);
}

export function createCgroup(dir: string): void {
  if (!freezerAvailable()) {
    throw new CkptError('KERNEL_UNSUPPORTED', `the cgroup-v1 freezer is not mounted at ${FREEZER_ROOT}`, {
      hint: 'Mount it: mkdir -p /sys/fs/cgroup/freezer && mount -t cgroup -o freezer freezer /sys/fs/cgroup/freezer',
    });
  }
  mkdirSync(dir, { recursive: true });
}

export function freezerState(dir: string): string {
  try {
    return readFileSync(join(dir, 'freezer.state'), 'utf8').trim();
  } catch {
    return 'GONE';
  }
}

/** Freezes and waits until the kernel reports FROZEN (cgroup v1 may sit in FREEZING a while). */
export async function freeze(dir: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let tries = 0;
  for (;;) {
    writeFileSync(join(dir, 'freezer.state'), 'FROZEN');
    const st = freezerState(dir);
    if (st === 'FROZEN') return;
    if (Date.now() > deadline) {
      writeFileSync(join(dir, 'freezer.state'), 'THAWED');
      throw new CkptError('CHECKPOINT_FAILED', `could not freeze ${dir} (state ${st})`, {
        hint: 'A task of the service is stuck in the kernel (uninterruptible sleep); try again.',
      });
    }
    await sleep(Math.min(50, 1 + tries++));
  }
}

export function thaw(dir: string): void {
  try {
    writeFileSync(join(dir, 'freezer.state'), 'THAWED');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Removes the service's cgroup and its project directory when that became empty. */
export function removeCgroup(dir: string): void {
  for (const d of [dir, join(dir, '..')]) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
  }
}

/** SIGKILL every process in the cgroup (a restore that must not go on: CRIU and its tree). */
export function killCgroup(dir: string): void {
  thaw(dir);
  let pids: string[];
  try {
    pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/**
 * A task frozen in the middle of vfork() cannot be seized by CRIU: its parent sleeps in the
 * kernel until the child execs, and the child is stopped ('Unseizable non-zombie … state D').
 * Seen with dash, which vforks for every command. Such a parent waits in kernel_clone.
 */
export function vforkInProgress(dir: string): boolean {
  let pids: string[];
  try {
    pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
  } catch {
    return false;
  }
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        if (readFileSync(`/proc/${pid}/task/${tid}/wchan`, 'utf8').trim() === 'kernel_clone') return true;
      } catch {
        /* gone */
      }
    }
  }
  return false;
}
