// An exclusive lock file holding "pid starttime". Stale rule: a lock whose holder is no longer
// alive (or whose pid was reused by another process) is taken over.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { CkptError, type ErrorCode } from '../errors.js';
import { isAlive, readStat } from './proc.js';
import { sleep } from './time.js';

export interface Lock {
  release(): void;
}

function holder(path: string): { pid: number; start: number } | undefined {
  try {
    const [pid, start] = readFileSync(path, 'utf8').trim().split(' ').map(Number);
    return pid ? { pid, start: start ?? 0 } : undefined;
  } catch {
    return undefined;
  }
}

export async function acquireLock(
  path: string,
  { what, waitMs = 10_000, code = 'STORE_LOCKED' }: { what: string; waitMs?: number; code?: ErrorCode },
): Promise<Lock> {
  const me = `${process.pid} ${readStat(process.pid)?.startTicks ?? 0}\n`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, me);
      closeSync(fd);
      return { release: () => rmSync(path, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const h = holder(path);
    if (!h || !isAlive(h.pid, h.start || undefined)) {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new CkptError(code, `${what} is locked by another ckpt (pid ${h.pid})`, {
        hint: `Wait for it to finish, or stop it (kill ${h.pid}). The lock file is ${path}.`,
      });
    }
    await sleep(50);
  }
}
