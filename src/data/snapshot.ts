// A service's data at the cut: how a directory tree (a volume) gets into a set while the stack is
// frozen, and back out of it at a restore or a clone.
//
// Design (issue 16):
// - Three methods, the cheapest the two filesystems allow, probed once per pair of places:
//     btrfs-snapshot  the volume is a btrfs subvolume on the store's filesystem: a read-only
//                     snapshot into the set, a writable snapshot of that back out: O(1) in the
//                     data's size either way (btrfs flushes the volume's dirty pages first);
//     reflink         the store's filesystem shares extents (FICLONE: btrfs, XFS with reflink):
//                     `cp --reflink=always`, O(files), no data copied;
//     copy            anything else (ext4, across filesystems): `cp -a`, O(data), and the
//                     checkpoint says what it cost.
//   Volumes and the store therefore belong on one btrfs or XFS filesystem: ckpt's volumes live
//   in CKPT_VOLUMES (default /var/lib/ckpt/volumes, beside the default store), and `ckpt doctor`
//   says which method applies between the two.
// - What a set holds: the tree itself under <set>/.data/<service>/<volume>, and beside the
//   service's images an index (data-<volume>.json: every entry's path, type, owner, mode,
//   size, mtime and, for a file, its SHA-256), which is an ordinary stored file: hashed and
//   verified like the images. The tree is checked against it before a restore uses it
//   (store/data-index.ts).
// - `cp -a` keeps owners, modes, times, hard links within the tree, xattrs and device nodes
//   (an overlay's whiteouts), so one mechanism serves volumes and writable layers alike.
import { copyFileSync, constants, existsSync, lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { CkptError } from '../errors.js';
import { runTool } from '../util/exec.js';

export type DataMethod = 'btrfs-snapshot' | 'reflink' | 'copy';

/** statfs f_type of the filesystems ckpt tells apart */
const FS_TYPES: Record<number, string> = {
  0x9123683e: 'btrfs',
  0x58465342: 'xfs',
  0xef53: 'ext4',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlay',
};

export function fsTypeOf(path: string): string {
  try {
    const t = statfsSync(path).type;
    return FS_TYPES[t] ?? `0x${t.toString(16)}`;
  } catch {
    return 'missing';
  }
}

/** the root of a btrfs subvolume has inode 256 */
export function isSubvolume(path: string): boolean {
  try {
    return fsTypeOf(path) === 'btrfs' && lstatSync(path).ino === 256;
  } catch {
    return false;
  }
}

const reflinkProbes = new Map<string, boolean>();

/** Whether a file in `fromDir` can be cloned into `toDir` (one filesystem that shares extents). */
export function canReflink(fromDir: string, toDir: string): boolean {
  const key = `${lstatSync(fromDir).dev}:${lstatSync(toDir).dev}:${fsTypeOf(fromDir)}`;
  const known = reflinkProbes.get(key);
  if (known !== undefined) return known;
  let ok = false;
  const a = mkdtempSync(join(fromDir, '.ckpt-reflink-'));
  const b = mkdtempSync(join(toDir, '.ckpt-reflink-'));
  try {
    writeFileSync(join(a, 'probe'), 'ckpt');
    copyFileSync(join(a, 'probe'), join(b, 'probe'), constants.COPYFILE_FICLONE_FORCE);
    ok = true;
  } catch {
    ok = false;
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
  reflinkProbes.set(key, ok);
  return ok;
}

/** The method for capturing the tree at `source` into a directory `intoDir`, and why. */
export function captureMethod(source: string, intoDir: string): { method: DataMethod; why: string } {
  return methodBetween(dirname(source), intoDir, isSubvolume(source));
}

/**
 * The method between a directory of volumes and the store: what `doctor` reports, and what a
 * capture uses (`subvolume`: the volume is a btrfs subvolume; ckpt makes its own volumes so).
 */
export function methodBetween(volumes: string, intoDir: string, subvolume = fsTypeOf(volumes) === 'btrfs'): { method: DataMethod; why: string } {
  const from = fsTypeOf(volumes);
  const to = fsTypeOf(intoDir);
  // probed beside the volume, never in it (nor in a read-only snapshot): reflinks cross btrfs subvolumes
  const reflink = canReflink(volumes, intoDir);
  if (reflink && subvolume) return { method: 'btrfs-snapshot', why: "volumes are btrfs subvolumes on the store's filesystem" };
  if (reflink) return { method: 'reflink', why: `${from} shares extents within one filesystem (FICLONE)` };
  if (from === to && (from === 'btrfs' || from === 'xfs')) {
    return { method: 'copy', why: `the volume and the store are on two ${from} filesystems (a reflink needs one)${from === 'xfs' ? ', or XFS was made without reflink=1' : ''}` };
  }
  return { method: 'copy', why: from === to ? `${from} has no snapshots or reflinks` : `the volumes (${from}) and the store (${to}) are on different filesystems` };
}

async function tool(file: string, args: string[], what: string, code: 'CHECKPOINT_FAILED' | 'RESTORE_FAILED'): Promise<void> {
  const r = await runTool(file, args);
  if (r.code !== 0) {
    const full = /No space left/.test(r.output);
    throw new CkptError(full ? 'STORE_UNWRITABLE' : code, `${what}: ${r.output.trim() || `${file} failed (${r.code})`}`, {
      hint: full
        ? 'Free space on the filesystem (ckpt rm old sets, then ckpt gc), or keep volumes and the store on a btrfs or XFS filesystem, where a capture shares the data instead of copying it.'
        : `${file} must be installed${file === 'btrfs' ? ' (btrfs-progs)' : ''}; the command's output above says what failed.`,
    });
  }
}

/** Captures `source` into `dest` (which must not exist yet) by `method`; run while frozen. */
export async function captureTree(source: string, dest: string, method: DataMethod): Promise<void> {
  mkdirSync(dirname(dest), { recursive: true, mode: 0o700 });
  const what = `could not capture ${source}`;
  if (method === 'btrfs-snapshot') return tool('btrfs', ['-q', 'subvolume', 'snapshot', '-r', source, dest], what, 'CHECKPOINT_FAILED');
  return tool('cp', ['-a', '-T', `--reflink=${method === 'reflink' ? 'always' : 'never'}`, source, dest], what, 'CHECKPOINT_FAILED');
}

/**
 * A writable copy of the set's tree at `dest` (which must not exist): a snapshot of the snapshot,
 * a reflinked copy, or a copy, whichever the two places allow.
 */
export async function materializeTree(stored: string, dest: string): Promise<DataMethod> {
  mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
  const what = `could not copy the set's data ${stored} to ${dest}`;
  const reflink = canReflink(dirname(stored), dirname(dest));
  if (reflink && isSubvolume(stored)) {
    await tool('btrfs', ['-q', 'subvolume', 'snapshot', stored, dest], what, 'RESTORE_FAILED');
    return 'btrfs-snapshot';
  }
  await tool('cp', ['-a', '-T', `--reflink=${reflink ? 'always' : 'never'}`, stored, dest], what, 'RESTORE_FAILED');
  return reflink ? 'reflink' : 'copy';
}

/**
 * Removes a tree that may hold btrfs subvolumes (a read-only snapshot cannot be emptied by
 * unlinking). Synchronous: the store removes sets with it.
 */
export function removeTreeSync(path: string): void {
  if (isSubvolume(path)) {
    const r = spawnSync('btrfs', ['-q', 'subvolume', 'delete', path], { encoding: 'utf8' });
    if (r.status === 0) return;
    // not a subvolume of ours after all, or btrfs-progs missing: the plain way, which says why
  }
  rmSync(path, { recursive: true, force: true });
}

/**
 * Trees a restore replaces: each live one is moved aside (a rename, O(1) on every filesystem)
 * before the set's copy takes its place; `drop` deletes them once the whole stack is back,
 * `putBack` removes the copies and renames them back if the restore fails, so a failed restore
 * never costs a volume's data. Used by both runtimes.
 */
export class ReplacedTrees {
  private readonly moved: { live: string; aside?: string }[] = [];

  /** `live` is about to get the set's copy (it need not exist) */
  replace(live: string): void {
    const m: { live: string; aside?: string } = { live };
    if (existsSync(live)) {
      m.aside = `${live}.replaced-${process.pid}`;
      removeTreeSync(m.aside);
      renameSync(live, m.aside);
    }
    this.moved.push(m);
  }

  drop(): void {
    for (const m of this.moved.splice(0)) if (m.aside) removeTreeSync(m.aside);
  }

  putBack(): void {
    for (const m of this.moved.splice(0).reverse()) {
      removeTreeSync(m.live);
      if (m.aside) renameSync(m.aside, m.live);
    }
  }
}

/**
 * The refusal of a restore that would discard what volumes got after the cut (the rule is in
 * runtime/process/volume-restore.ts); `lost` describes each volume.
 */
export function dataWouldBeLost(setName: string, project: string, lost: string[]): CkptError {
  return new CkptError('VOLUME_CHANGED', `restoring set ${setName} would discard what ${lost.length === 1 ? 'a volume holds' : `${lost.length} volumes hold`} now: ${lost[0]}${lost.length > 1 ? ` (and ${lost.length - 1} more)` : ''}`, {
    details: lost,
    hint: `Keep it first (ckpt checkpoint <name> while the stack runs), remove it (ckpt down -v -p ${project}), or discard it: ckpt restore ${setName} --replace`,
  });
}

/** Flushes the filesystem holding `path` (one syncfs for a whole tree's files). */
export async function syncFilesystem(path: string): Promise<void> {
  await tool('sync', ['-f', path], `could not flush ${path} to disk`, 'CHECKPOINT_FAILED');
}
