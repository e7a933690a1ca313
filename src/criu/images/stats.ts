// CRIU's timing statistics (criu/stats.c): stats-dump after a dump, stats-restore after a restore,
// each an IMG_SERVICE image with one stats_entry. CRIU writes them into its work directory, which
// is the images directory unless -W/--work-dir says otherwise. All times are microseconds.
// The files are a few dozen bytes, so they are read synchronously.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMG, MAGIC } from './constants.js';
import { corrupt, CORRUPT_HINT, decodeSingle, parseImage } from './container.js';
import { CkptError } from '../../errors.js';
import { StatsEntry } from './schemas.js';

/** Times in µs, as CRIU records them; counts in pages. */
export interface DumpStats {
  /** freezing the tree (cgroup freezer or ptrace seize), µs */
  freezingTime: number;
  /** how long the tree stayed frozen, µs */
  frozenTime: number;
  /** collecting memory into page pipes, µs */
  memdumpTime: number;
  /** writing the pages out, µs */
  memwriteTime: number;
  /** resolving inotify watch paths (irmap), µs */
  irmapResolveTime?: number;
  pagesScanned: number;
  /** unchanged since the parent (pre-)dump, so not written again */
  pagesSkippedParent: number;
  pagesWritten: number;
  pagesLazy: number;
  pagePipes?: number;
  pagePipeBufs?: number;
  shpagesScanned?: number;
  shpagesSkippedParent?: number;
  shpagesWritten?: number;
}

export interface RestoreStats {
  pagesCompared: number;
  pagesSkippedCow: number;
  /** forking the tree, µs */
  forkingTime: number;
  /** the whole restore, µs */
  restoreTime: number;
  pagesRestored?: number;
}

const n = (v: bigint): number => Number(v);
const opt = (v: bigint | undefined): number | undefined => (v === undefined ? undefined : Number(v));

function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function readStats(dir: string, name: string) {
  const file = join(dir, name);
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CkptError('STORE_CORRUPT', `cannot read CRIU image ${file}: ${(e as Error).message}`, { cause: e, hint: CORRUPT_HINT });
  }
  const img = parseImage(buf, file, MAGIC.STATS);
  return { file, entry: decodeSingle(img, StatsEntry, 'stats_entry') };
}

/** stats-dump in `dir`; undefined when there is none. */
export function readDumpStats(dir: string): DumpStats | undefined {
  const s = readStats(dir, IMG.statsDump);
  if (!s) return undefined;
  const d = s.entry.dump;
  if (!d) throw corrupt(s.file, 'its stats_entry has no dump member');
  return defined({
    freezingTime: d.freezing_time,
    frozenTime: d.frozen_time,
    memdumpTime: d.memdump_time,
    memwriteTime: d.memwrite_time,
    irmapResolveTime: d.irmap_resolve,
    pagesScanned: n(d.pages_scanned),
    pagesSkippedParent: n(d.pages_skipped_parent),
    pagesWritten: n(d.pages_written),
    pagesLazy: n(d.pages_lazy),
    pagePipes: opt(d.page_pipes),
    pagePipeBufs: opt(d.page_pipe_bufs),
    shpagesScanned: opt(d.shpages_scanned),
    shpagesSkippedParent: opt(d.shpages_skipped_parent),
    shpagesWritten: opt(d.shpages_written),
  });
}

/** stats-restore in `dir`; undefined when there is none. */
export function readRestoreStats(dir: string): RestoreStats | undefined {
  const s = readStats(dir, IMG.statsRestore);
  if (!s) return undefined;
  const r = s.entry.restore;
  if (!r) throw corrupt(s.file, 'its stats_entry has no restore member');
  return defined({
    pagesCompared: n(r.pages_compared),
    pagesSkippedCow: n(r.pages_skipped_cow),
    forkingTime: r.forking_time,
    restoreTime: r.restore_time,
    pagesRestored: opt(r.pages_restored),
  });
}
