// Reading /proc. A pid alone is not an identity (pids are reused), so a process is named by its
// pid plus its start time in clock ticks since boot (field 22 of /proc/PID/stat).
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  startTicks: number;
  utimeTicks: number;
  stimeTicks: number;
  rssPages: number;
}

export function readStat(pid: number): ProcStat | undefined {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may contain spaces and parentheses: it ends at the last ')'.
  const close = raw.lastIndexOf(')');
  const comm = raw.slice(raw.indexOf('(') + 1, close);
  const f = raw.slice(close + 2).split(' ');
  // f[0] is field 3 (state); field N is f[N - 3].
  return {
    pid,
    comm,
    state: f[0] ?? '?',
    ppid: Number(f[1]),
    utimeTicks: Number(f[11]),
    stimeTicks: Number(f[12]),
    startTicks: Number(f[19]),
    rssPages: Number(f[21]),
  };
}

/** Alive means: exists, is not a zombie, and (when given) started when we recorded it. */
export function isAlive(pid: number, startTicks?: number): boolean {
  const st = readStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return startTicks === undefined || st.startTicks === startTicks;
}

export function childrenOf(pid: number): number[] {
  try {
    const tasks = readdirSync(`/proc/${pid}/task`);
    const out: number[] = [];
    for (const t of tasks) {
      const kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (kids) out.push(...kids.split(' ').map(Number));
    }
    return out;
  } catch {
    return [];
  }
}

/** The pid and every live descendant, parents first. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    if (!readStat(p)) continue;
    out.push(p);
    queue.push(...childrenOf(p));
  }
  return out;
}

export const CLOCK_TICKS = 100;

export function bootTimeMs(): number {
  const stat = readFileSync('/proc/stat', 'utf8');
  const m = /^btime (\d+)$/m.exec(stat);
  return m ? Number(m[1]) * 1000 : 0;
}

export function startTimeMs(st: ProcStat): number {
  return bootTimeMs() + (st.startTicks * 1000) / CLOCK_TICKS;
}

/** Resident memory of a whole tree in bytes. */
export function treeRssBytes(pid: number): number {
  const page = 4096;
  return processTree(pid).reduce((sum, p) => sum + (readStat(p)?.rssPages ?? 0) * page, 0);
}

export function treeCpuTicks(pid: number): number {
  return processTree(pid).reduce((sum, p) => {
    const st = readStat(p);
    return sum + (st ? st.utimeTicks + st.stimeTicks : 0);
  }, 0);
}
