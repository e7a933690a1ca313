// File-system helpers for the store: private directories whatever the umask, fsync of files and
// directories, streaming SHA-256, and the mapping of errno errors to CkptErrors that say what to do.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, statSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CkptError } from '../errors.js';
import { DEFAULT_STORE_DIR } from '../paths.js';

export const DIR_MODE = 0o700;
/** stored files are read-only: they are written once and never changed in place */
export const FILE_MODE = 0o400;

const CHUNK = 1 << 20;

/**
 * mkdir -p with mode 0700, returning whether `path` was created. Done by hand because Node's
 * recursive mkdir reports ENOENT instead of EROFS on a read-only filesystem (and loops on /proc).
 */
export function mkdirTree(path: string): boolean {
  try {
    mkdirSync(path, { mode: DIR_MODE });
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (!statSync(path).isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: 'ENOTDIR', path });
      return false;
    }
    const parent = dirname(path);
    if (code !== 'ENOENT' || parent === path) throw e;
    mkdirTree(parent);
    mkdirSync(path, { mode: DIR_MODE });
    return true;
  }
}

/** mkdir -p; the leaf gets exactly 0700 whatever the umask. */
export function mkdirPrivate(path: string): void {
  mkdirTree(path);
  chmodSync(path, DIR_MODE);
}

export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export function readdirOrEmpty(path: string): string[] {
  try {
    return readdirSync(path).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** fsync a file without blocking the event loop (other files are being hashed meanwhile). */
export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** SHA-256 and size of a file, read in 1 MiB chunks (image files can be gigabytes); optionally fsync it. */
export async function hashFile(path: string, opts: { fsync?: boolean } = {}): Promise<{ sha256: string; size: number }> {
  const fh = await open(path, 'r');
  try {
    // The flush to disk runs beside the hashing (both are I/O on libuv's pool), not after it.
    const syncing = opts.fsync ? fh.sync() : undefined;
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(CHUNK);
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
    await syncing;
    return { sha256: hash.digest('hex'), size };
  } finally {
    await fh.close();
  }
}

/** Bytes of the regular files under `dir` that have no other link (what deleting `dir` frees by itself). */
export function privateBytes(dir: string): number {
  let sum = 0;
  const st = lstatOrUndefined(dir);
  if (!st) return 0;
  if (st.isFile()) return st.nlink === 1 ? st.size : 0;
  if (!st.isDirectory()) return 0;
  for (const e of readdirOrEmpty(dir)) sum += privateBytes(join(dir, e));
  return sum;
}

/** Run `fn` over `items`, at most `limit` at a time; the first failure is thrown once all have stopped. */
export async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { e: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failure ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.e;
}

/**
 * An errno error from working in the store, as the CkptError the user can act on; anything else
 * is returned unchanged. `path` is the file being written when the error has none.
 */
export function storeIoError(e: unknown, root: string, path?: string, outcome = ''): unknown {
  if (e instanceof CkptError) return e;
  const err = e as NodeJS.ErrnoException;
  const where = path ?? err?.path ?? root;
  const tail = outcome ? ` ${outcome}` : '';
  const other = 'or use another store (--store DIR or CKPT_STORE)';
  switch (err?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new CkptError('STORE_UNWRITABLE', `no space left on device writing ${where}`, {
        cause: e,
        hint: `Free space on the filesystem of ${root} (remove old sets with \`ckpt rm NAME\`, then \`ckpt gc\`), ${other}.${tail}`,
      });
    case 'EROFS':
      return new CkptError('STORE_UNWRITABLE', `the store is on a read-only filesystem (writing ${where})`, {
        cause: e,
        hint: `Remount it read-write, ${other}.${tail}`,
      });
    case 'EACCES':
    case 'EPERM':
      return new CkptError('STORE_UNWRITABLE', `permission denied on ${where}`, {
        cause: e,
        hint: `Run ckpt as root (the default store ${DEFAULT_STORE_DIR} is root's), ${other}.${tail}`,
      });
    case 'ENOTDIR':
      return new CkptError('STORE_UNWRITABLE', `${where}: a path component is not a directory`, {
        cause: e,
        hint: `The store must be a directory; ${other}.${tail}`,
      });
    case 'EIO':
      return new CkptError('STORE_UNWRITABLE', `I/O error on ${where}`, {
        cause: e,
        hint: `The disk holding ${root} reports errors: check \`dmesg\`.${tail}`,
      });
    case 'EXDEV':
    case 'EMLINK':
    case 'ENOTSUP':
    case 'EOPNOTSUPP':
      return new CkptError('STORE_UNWRITABLE', `cannot hard-link ${where} (${err.code})`, {
        cause: e,
        hint: `The store needs one filesystem with hard links for all of ${root}; ${other}.${tail}`,
      });
    default:
      return e;
  }
}
