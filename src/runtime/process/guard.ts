// While ckpt holds a stack frozen, a ckpt-shim guard watches it: if ckpt dies (even by SIGKILL)
// the guard sees its stdin close without "done", waits for the CRIUs ckpt started and thaws
// every cgroup. A stack is never left frozen.
import { spawn, type ChildProcess } from 'node:child_process';
import { shimPath } from '../../paths.js';

export class ThawGuard {
  private child: ChildProcess;

  constructor() {
    this.child = spawn(shimPath(), ['guard'], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    this.child.unref();
    // The pipe must not keep ckpt alive, and an early guard exit must not crash it.
    (this.child.stdin as unknown as { unref?: () => void }).unref?.();
    this.child.stdin!.on('error', () => {});
  }

  watchCgroup(dir: string): void {
    this.child.stdin!.write(`cgroup ${dir}\n`);
  }

  watchPid(pid: number): void {
    this.child.stdin!.write(`pid ${pid}\n`);
  }

  /** ckpt finished (and thawed what it froze itself): the guard leaves without touching anything. */
  release(): void {
    this.child.stdin!.end('done\n');
  }
}
