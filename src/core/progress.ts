// Progress of a checkpoint or a restore, per service, in bytes — measured, not guessed:
//
//   checkpoint  done  = bytes of image files CRIU has written so far into the service's directory
//                       (their sizes, polled while CRIU dumps);
//               total = the tree's anonymous and shmem resident memory, read before the dump: what
//                       CRIU writes into pages images. It is an estimate (CRIU also writes small
//                       images, and skips zero pages), so `done` may pass it; the final event
//                       carries the bytes actually written as both done and total.
//   restore     done  = bytes read so far (rchar of /proc/PID/io) by the processes in the service's
//                       cgroup: CRIU and the tasks it restores, which read the pages images
//                       themselves; capped just below the total until the service runs (with
//                       pages: map the pages images are mapped, not read: the figure stays low
//                       until the final event; a container is restored by runc into a cgroup
//                       Docker makes meanwhile, so only its start and its end are reported);
//               total = the bytes of the service's images in the set.
//
// Sinks get these as 'progress' events and work out rate and ETA from doneBytes and elapsedMs.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ev, type EventSink } from './events.js';

const POLL_MS = 100;

export interface ProgressTarget {
  op: 'checkpoint' | 'restore';
  project: string;
  set: string;
  service: string;
}

export interface ProgressMeter {
  /** Emit the last event (final: true) with the bytes that were in the end, and stop polling. */
  finish(finalBytes: number, totalBytes?: number): void;
  /** Stop polling; no final event unless finish() follows (a failed operation has none). */
  stop(): void;
}

/** Polls `read` and emits a progress event whenever the figure moved. */
export function meterProgress(sink: EventSink, target: ProgressTarget, totalBytes: number, read: () => number, intervalMs = POLL_MS): ProgressMeter {
  const started = performance.now();
  let last = -1;
  const emit = (doneBytes: number, total: number, final: boolean): void =>
    sink(ev({ type: 'progress', ...target, doneBytes, totalBytes: total, elapsedMs: performance.now() - started, ...(final ? { final } : {}) }));
  const poll = (): void => {
    let done: number;
    try {
      done = read();
    } catch {
      return; // a file or process gone between listing and reading: next poll
    }
    if (done === last) return;
    last = done;
    emit(done, totalBytes, false);
  };
  poll();
  const timer = setInterval(poll, intervalMs);
  let finished = false;
  return {
    finish(finalBytes, total = finalBytes) {
      clearInterval(timer);
      if (finished) return;
      finished = true;
      emit(finalBytes, total, true);
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/** Sum of the sizes of the files directly in `dir` (0 while it does not exist). */
export function dirFileBytes(dir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const f of names) {
    try {
      const st = statSync(join(dir, f));
      if (st.isFile()) n += st.size;
    } catch {
      /* removed meanwhile */
    }
  }
  return n;
}

function cgroupPids(cgroup: string): number[] {
  try {
    return readFileSync(join(cgroup, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Anonymous + shmem resident bytes of every process in the cgroup: what a dump writes as pages. */
export function cgroupAnonBytes(cgroup: string): number {
  let n = 0;
  for (const pid of cgroupPids(cgroup)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      for (const key of ['RssAnon', 'RssShmem']) {
        const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
        if (m) n += Number(m[1]) * 1024;
      }
    } catch {
      /* exited meanwhile */
    }
  }
  return n;
}

/**
 * Bytes read by the processes now in the cgroup. Processes that have exited drop out of the sum,
 * so the caller keeps the highest figure seen.
 */
export function cgroupReadBytes(cgroup: string): number {
  let n = 0;
  for (const pid of cgroupPids(cgroup)) {
    try {
      const m = /^rchar:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
      if (m) n += Number(m[1]);
    } catch {
      /* exited meanwhile */
    }
  }
  return n;
}
