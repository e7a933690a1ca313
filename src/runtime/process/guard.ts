// While ckpt holds a stack frozen, a ckpt-shim guard watches it: if ckpt dies (even by SIGKILL)
// the guard sees its stdin close without "done", waits for the CRIUs ckpt started and thaws
// every cgroup. A stack is never left frozen, nor cut off from its network.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { shimPath } from '../../paths.js';
import { isAlive, readStat } from '../../util/proc.js';
import { waitFor } from '../../util/time.js';

export class ThawGuard {
  private child: ChildProcess;

  constructor() {
    this.child = spawn(shimPath(), ['guard'], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    this.child.unref();
    // The pipe must not keep ckpt alive, and an early guard exit must not crash it.
    (this.child.stdin as unknown as { unref?: () => void }).unref?.();
    this.child.stdin!.on('error', () => {});
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  watchCgroup(dir: string): void {
    this.child.stdin!.write(`cgroup ${dir}\n`);
  }

  watchPid(pid: number): void {
    this.child.stdin!.write(`pid ${pid}\n`);
  }

  /** a bridge-family nft table holding the stack's traffic (in the namespace `netns`, else the host's): deleted if ckpt dies */
  watchNftTable(table: string, netns?: string): void {
    this.child.stdin!.write(`nft ${table}${netns ? ` ${netns}` : ''}\n`);
  }

  /** ckpt finished (and thawed what it froze itself): the guard leaves without touching anything. */
  release(): void {
    this.child.stdin!.end('done\n');
  }
}

/**
 * A checkpoint killed mid-dump leaves its CRIUs running (and its guard waiting for them). A new
 * checkpoint of the same stack must not seize the trees they hold: it waits for that guard.
 */
export async function waitForGuard(pidFile: string, timeoutMs = 120_000): Promise<boolean> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return true;
  }
  const running = (): boolean => isAlive(pid) && readStat(pid)?.comm === 'ckpt-shim';
  if (!running()) return true;
  return (await waitFor(() => (running() ? undefined : true), { timeoutMs, intervalMs: 20 })) === true;
}
