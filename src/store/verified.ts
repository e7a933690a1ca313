// Which stored files were hashed in full and have not changed since, so a restore need not read
// them again. A map-mode restore takes milliseconds, and re-hashing a GiB of images first would
// take a second: the restore would be as slow as a copy.
//
// A file counts as unchanged while its inode has the same device, number, size, mtime and
// ctime as when it was hashed. Any write changes mtime and ctime; ctime cannot be set back
// from user space (utimensat sets mtime and atime only), and linking, unlinking, chmod or
// setting an xattr change it too, so those also cost one more full hash. This is git's index
// and restic's change detection; `ckpt verify` still re-hashes everything.
import { lstatSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FILE_MODE } from './io.js';

export const VERIFIED_FILE = 'verified.json';

type Entries = Record<string, string>;

/** about 10 MB of JSON */
const MAX_ENTRIES = 100_000;

function statKey(path: string): { key: string; stamp: (sha256: string) => string } | undefined {
  try {
    const st = lstatSync(path, { bigint: true });
    if (!st.isFile()) return undefined;
    return { key: `${st.dev}:${st.ino}`, stamp: (sha256) => `${sha256} ${st.size} ${st.mtimeNs} ${st.ctimeNs}` };
  } catch {
    return undefined;
  }
}

export class VerifiedFiles {
  private entries: Entries | undefined;
  private readonly added: Entries = {};

  constructor(private readonly storeRoot: string) {}

  private get file(): string {
    return join(this.storeRoot, VERIFIED_FILE);
  }

  private read(): Entries {
    try {
      const v = JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Entries) : {};
    } catch {
      return {}; // missing or damaged: everything is hashed again
    }
  }

  /** Whether `path` was hashed to `sha256` and its inode is unchanged since. */
  unchanged(path: string, sha256: string): boolean {
    this.entries ??= this.read();
    const k = statKey(path);
    return k !== undefined && this.entries[k.key] === k.stamp(sha256);
  }

  /** `path` was just hashed to `sha256` (call `save` to keep it). */
  hashed(path: string, sha256: string): void {
    const k = statKey(path);
    if (k) this.added[k.key] = k.stamp(sha256);
  }

  /**
   * Merges what this process hashed into the file (temp + rename: readers never see half a
   * file; two writers at once may drop each other's additions, which costs a re-hash only).
   * Entries of removed files are never matched again; past MAX_ENTRIES the file starts over
   * from this process's additions rather than grow without end.
   */
  save(): void {
    if (Object.keys(this.added).length === 0) return;
    const before = this.read();
    const merged: Entries = Object.keys(before).length > MAX_ENTRIES ? { ...this.added } : { ...before, ...this.added };
    const tmp = `${this.file}.${process.pid}.${randomBytes(3).toString('hex')}`;
    try {
      writeFileSync(tmp, JSON.stringify(merged), { mode: FILE_MODE });
      renameSync(tmp, this.file);
      this.entries = merged;
    } catch {
      /* a cache: a full store or a read-only one only costs re-hashing */
    }
  }
}
