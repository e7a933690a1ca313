// Timing figures from CRIU's own stats images (stats-dump, stats-restore), in milliseconds.
// A missing or unreadable stats file gives no figures, never a failed checkpoint.
import { readDumpStats, readRestoreStats } from '../criu/images/stats.js';

export interface DumpStatsSummary {
  /** CRIU's time to freeze (seize) the tree */
  criuFreezingMs?: number;
  /** how long the tree stayed frozen inside CRIU */
  criuFrozenMs?: number;
  criuMemdumpMs?: number;
  criuMemwriteMs?: number;
  pagesWritten?: number;
}

export interface RestoreStatsSummary {
  criuForkingMs?: number;
  criuRestoreMs?: number;
  pagesRestored?: number;
}

const ms = (us: number | bigint | undefined): number | undefined => (us === undefined ? undefined : Number(us) / 1000);

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function readDumpStatsSafe(dir: string): DumpStatsSummary {
  try {
    const s = readDumpStats(dir);
    if (!s) return {};
    return defined({
      criuFreezingMs: ms(s.freezingTime),
      criuFrozenMs: ms(s.frozenTime),
      criuMemdumpMs: ms(s.memdumpTime),
      criuMemwriteMs: ms(s.memwriteTime),
      pagesWritten: s.pagesWritten === undefined ? undefined : Number(s.pagesWritten),
    });
  } catch {
    return {};
  }
}

export function readRestoreStatsSafe(dir: string): RestoreStatsSummary {
  try {
    const s = readRestoreStats(dir);
    if (!s) return {};
    return defined({
      criuForkingMs: ms(s.forkingTime),
      criuRestoreMs: ms(s.restoreTime),
      pagesRestored: s.pagesRestored === undefined ? undefined : Number(s.pagesRestored),
    });
  } catch {
    return {};
  }
}
