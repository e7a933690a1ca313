// `ckpt logs [-f]`: the per-service log files, prefixed like compose. Following polls the files
// (fs.watch misses appends made from other mount namespaces) and ends when every service has
// stopped and its file is drained, or when aborted.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { CkptError } from '../errors.js';
import { runtimeFor } from '../runtime/index.js';
import { dockerLogText } from '../runtime/docker/logs.js';
import { StackStateStore } from '../state/stack-state.js';
import { sleep } from '../util/time.js';
import { ev } from './events.js';
import type { CoreContext } from './stack.js';

export interface LogsOptions {
  services?: string[];
  follow?: boolean;
  /** only the last N lines of each service */
  tail?: number;
  signal?: AbortSignal;
  pollMs?: number;
}

class LogCursor {
  private offset = 0;
  private partial = '';
  constructor(readonly service: string, readonly file: string, readonly decode: (line: string) => string = (l) => l) {}

  size(): number {
    try {
      return statSync(this.file).size;
    } catch {
      return 0;
    }
  }

  /** Skips to where only the last `n` lines remain unread. */
  seekTail(n: number): void {
    const size = this.size();
    if (n <= 0) {
      this.offset = size;
      return;
    }
    const chunk = Math.min(size, 256 * 1024);
    const buf = this.readAt(size - chunk, chunk);
    const text = buf.toString('utf8');
    let idx = text.endsWith('\n') ? text.length - 1 : text.length;
    for (let i = 0; i < n && idx > 0; i++) idx = text.lastIndexOf('\n', idx - 1);
    this.offset = size - chunk + (idx > 0 ? Buffer.byteLength(text.slice(0, idx + 1)) : 0);
  }

  private readAt(pos: number, len: number): Buffer {
    const buf = Buffer.alloc(len);
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return Buffer.alloc(0);
    }
    try {
      const n = readSync(fd, buf, 0, len, pos);
      return buf.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  }

  /** New complete lines since the last call; `flush` also returns an unterminated last line. */
  read(flush = false): string[] {
    const size = this.size();
    if (size < this.offset) this.offset = 0; // truncated: start over
    if (size > this.offset) {
      const buf = this.readAt(this.offset, size - this.offset);
      this.offset += buf.length;
      this.partial += buf.toString('utf8');
    }
    const lines = this.partial.split('\n');
    this.partial = lines.pop() ?? '';
    if (flush && this.partial) {
      lines.push(this.partial);
      this.partial = '';
    }
    return lines;
  }
}

export async function logs(ctx: CoreContext, projectName: string, opts: LogsOptions = {}): Promise<void> {
  const state = new StackStateStore(ctx.stateRoot).read(projectName);
  if (!state) {
    throw new CkptError('STACK_NOT_RUNNING', `no stack named ${projectName} is running`, {
      hint: 'List running stacks with: ckpt ls',
    });
  }
  const known = Object.keys(state.services);
  for (const s of opts.services ?? []) {
    if (!known.includes(s)) {
      throw new CkptError('SERVICE_UNKNOWN', `no service ${s} in stack ${projectName}`, {
        hint: `Services: ${known.sort().join(', ')}`,
      });
    }
  }
  const order = state.spec.services.map((s) => s.name).filter((n) => known.includes(n));
  const names = opts.services?.length ? order.filter((n) => opts.services!.includes(n)) : order;
  const cursors = names.map((n) => {
    const rec = state.services[n]!;
    return new LogCursor(n, rec.logFile, rec.runtime === 'docker' ? dockerLogText : undefined);
  });
  if (opts.tail !== undefined) cursors.forEach((c) => c.seekTail(opts.tail!));

  const emit = (flush: boolean): void => {
    for (const c of cursors) {
      for (const line of c.read(flush)) {
        ctx.events(ev({ type: 'log', project: projectName, service: c.service, line: c.decode(line) }));
      }
    }
  };
  emit(!opts.follow);
  if (!opts.follow) return;
  for (;;) {
    if (opts.signal?.aborted) break;
    await sleep(opts.pollMs ?? 200);
    emit(false);
    const anyRunning = names.some((n) => {
      const rec = state.services[n]!;
      return runtimeFor(rec.runtime).status(rec).state === 'running';
    });
    if (!anyRunning) break;
  }
  emit(true);
}
