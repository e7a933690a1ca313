// The index of a data tree in a set (data/snapshot.ts has the design): what the tree held at
// the cut, entry by entry, so that a restore can tell the tree is still that tree, and `verify`
// can re-read every byte of it.
//
// A restore checks every entry's type, owner, mode, size, mtime and link target against the
// index, and re-hashes only the files whose inode changed since they were hashed (verified.ts):
// a restore of a GiB volume then costs a walk, not a read of the GiB.
import { createHash } from 'node:crypto';
import { lstatSync, opendirSync, readFileSync, readlinkSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { hashFile } from './io.js';
import type { VerifiedFiles } from './verified.js';

export const DATA_DIR = '.data';
export const dataIndexName = (volume: string): string => `data-${volume}.json`;

/** [path, type, mode, uid, gid, size, mtime (ns), sha256 | link target | rdev | ''] */
export type DataEntry = [string, 'f' | 'd' | 'l' | 'c' | 'b' | 'p' | 's', number, number, number, number, string, string];

export interface DataIndex {
  format: 'ckpt-data';
  version: 1;
  /** how the tree got into the set */
  method: string;
  files: number;
  bytes: number;
  entries: DataEntry[];
}

function typeOf(st: BigIntStats): DataEntry[1] {
  if (st.isFile()) return 'f';
  if (st.isDirectory()) return 'd';
  if (st.isSymbolicLink()) return 'l';
  if (st.isCharacterDevice()) return 'c';
  if (st.isBlockDevice()) return 'b';
  if (st.isFIFO()) return 'p';
  return 's';
}

/** Every entry under `root` ('' is the root itself), parents before children, in name order. */
function* walk(root: string, rel = ''): Generator<{ rel: string; path: string; st: BigIntStats }> {
  const path = rel ? join(root, rel) : root;
  const st = lstatSync(path, { bigint: true });
  yield { rel, path, st };
  if (!st.isDirectory()) return;
  const names: string[] = [];
  const d = opendirSync(path);
  try {
    for (let e = d.readSync(); e; e = d.readSync()) names.push(e.name);
  } finally {
    d.closeSync();
  }
  for (const n of names.sort()) yield* walk(root, rel ? `${rel}/${n}` : n);
}

function entryOf(rel: string, path: string, st: BigIntStats, detail: string): DataEntry {
  const size = st.isFile() ? Number(st.size) : 0;
  return [rel, typeOf(st), Number(st.mode & 0o7777n), Number(st.uid), Number(st.gid), size, st.isDirectory() ? '' : String(st.mtimeNs), detail];
}

function detailOf(path: string, st: BigIntStats): string {
  if (st.isSymbolicLink()) return readlinkSync(path);
  if (st.isCharacterDevice() || st.isBlockDevice()) return String(st.rdev);
  return '';
}

/** Walks and hashes the tree (after the thaw: it is the set's own copy by then). */
export async function indexTree(root: string, method: string, known: VerifiedFiles): Promise<DataIndex> {
  const entries: DataEntry[] = [];
  let bytes = 0;
  let files = 0;
  for (const { rel, path, st } of walk(root)) {
    let detail = detailOf(path, st);
    if (st.isFile()) {
      detail = (await hashFile(path)).sha256;
      known.hashed(path, detail);
      bytes += Number(st.size);
      files++;
    }
    entries.push(entryOf(rel, path, st, detail));
  }
  return { format: 'ckpt-data', version: 1, method, files, bytes, entries };
}

/** Reads a data index file (one of a set's files: verified with the set). */
export function readDataIndex(file: string): DataIndex {
  const v = JSON.parse(readFileSync(file, 'utf8')) as DataIndex;
  if (v?.format !== 'ckpt-data' || v.version !== 1 || !Array.isArray(v.entries)) throw new Error(`${file} is not a ckpt data index`);
  return v;
}

/**
 * What differs between the tree at `root` and its index (empty: none). `deep` re-hashes every
 * file; otherwise only those whose inode changed since they were hashed.
 */
export async function checkTree(root: string, index: DataIndex, known: VerifiedFiles, deep = false): Promise<string[]> {
  const problems: string[] = [];
  const expected = new Map(index.entries.map((e) => [e[0], e]));
  const seen = new Set<string>();
  let walked: ReturnType<typeof walk>;
  try {
    walked = walk(root);
    for (const { rel, path, st } of walked) {
      seen.add(rel);
      const want = expected.get(rel);
      const name = rel || '.';
      if (!want) {
        problems.push(`${name}: not in the set's index (added after the checkpoint)`);
        continue;
      }
      const [, type, mode, uid, gid, size, mtime, detail] = want;
      const have = entryOf(rel, path, st, type === 'f' ? detail : detailOf(path, st));
      if (have[1] !== type || have[2] !== mode || have[3] !== uid || have[4] !== gid || have[5] !== size || have[6] !== mtime || have[7] !== detail) {
        problems.push(`${name}: changed since the checkpoint`);
        continue;
      }
      if (type === 'f' && (deep || !known.unchanged(path, detail))) {
        const h = await hashFile(path);
        if (h.sha256 !== detail) problems.push(`${name}: content differs from the checkpoint's (SHA-256)`);
        else known.hashed(path, detail);
      }
    }
  } catch (e) {
    problems.push(`${root}: ${(e as Error).message}`);
  }
  for (const rel of expected.keys()) if (!seen.has(rel)) problems.push(`${rel || '.'}: missing`);
  return problems;
}

/** A short digest of an index, for messages and the set's record. */
export function indexDigest(index: DataIndex): string {
  return createHash('sha256').update(JSON.stringify(index.entries)).digest('hex').slice(0, 12);
}

/**
 * Whether a live tree is the one the index describes, by metadata only (a restore asks this of a
 * volume it would replace: if nothing was written since, nothing is lost).
 */
export function sameAsIndex(root: string, index: DataIndex): boolean {
  const expected = new Map(index.entries.map((e) => [e[0], e]));
  let n = 0;
  try {
    for (const { rel, path, st } of walk(root)) {
      const want = expected.get(rel);
      if (!want) return false;
      const have = entryOf(rel, path, st, want[1] === 'f' ? want[7] : detailOf(path, st));
      // a directory's own mtime is left out of the index; a root's owner and mode must match
      if (have.some((v, i) => v !== want[i])) return false;
      n++;
    }
  } catch {
    return false;
  }
  return n === expected.size;
}
