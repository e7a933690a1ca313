// Hashing a GiB of pages after CRIU has written them takes as long again as the dump. CRIU writes
// each pages image front to back and never returns to what it wrote (a buffered write or splice
// raises the file size only once the bytes are in the page cache), so the big images are hashed
// while they grow, on the core CRIU leaves free, and flushed to disk in steps behind the hash.
// The hash is only a head start: commit takes it when the file still is the inode and size seen
// here, and the restore re-verifies every file, so a wrong guess can cost a failed restore but
// never a set that passes for what it is not.
import { createHash, type Hash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** The images worth following: only pages images grow large. */
const FOLLOWED = /^pages-\d+\.img$/;
const CHUNK = 4 << 20;
const POLL_MS = 10;
/** flush what has been hashed every this many bytes, so commit's fsync finds little left to write */
const FLUSH_EVERY = 64 << 20;

export interface FollowedHash {
  sha256: string;
  size: number;
  ino: number;
  dev: number;
  /** the file's mtime when it was read to its end: a later write in place changes it */
  mtimeNs: bigint;
}

interface Followed {
  fh: FileHandle;
  hash: Hash;
  size: number;
  ino: number;
  dev: number;
  flushedAt: number;
  flushing?: Promise<void>;
}

export class ImageFollower {
  private readonly files = new Map<string, Followed>();
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> = Promise.resolve();
  private failed: unknown;
  /**
   * Two read buffers: the next chunk is read (on libuv's pool) while this one is hashed (here),
   * or the hash falls behind CRIU's writing and commit waits for it. Passes run one at a time
   * (every 10 ms), so two buffers serve them all.
   */
  private readonly bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];

  constructor(private readonly dir: string) {
    this.timer = setInterval(() => this.tick(), POLL_MS);
  }

  private tick(): void {
    // One pass at a time: a slow read must not start a second reader of the same file.
    this.pumping = this.pumping.then(() => this.pass()).catch((e: unknown) => {
      this.failed ??= e;
    });
  }

  private async pass(): Promise<void> {
    if (this.failed !== undefined) return;
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => FOLLOWED.test(n));
    } catch {
      return; // not created yet
    }
    for (const name of names) {
      let f = this.files.get(name);
      if (!f) {
        const fh = await open(join(this.dir, name), 'r');
        const st = await fh.stat();
        f = { fh, hash: createHash('sha256'), size: 0, ino: st.ino, dev: st.dev, flushedAt: 0 };
        this.files.set(name, f);
      }
      await this.readOn(f);
    }
  }

  private async readOn(f: Followed): Promise<void> {
    let i = 0;
    let pending = f.fh.read(this.bufs[i]!, 0, CHUNK, f.size);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) return;
      const chunk = this.bufs[i]!.subarray(0, bytesRead);
      i ^= 1;
      pending = f.fh.read(this.bufs[i]!, 0, CHUNK, f.size + bytesRead);
      f.hash.update(chunk);
      f.size += bytesRead;
      if (f.size - f.flushedAt >= FLUSH_EVERY && !f.flushing) {
        f.flushedAt = f.size;
        f.flushing = f.fh.datasync().finally(() => {
          f.flushing = undefined;
        });
      }
    }
  }

  /**
   * Call once the writer (CRIU) has exited: reads each followed file to its end and returns
   * what was hashed, by file name. Files that failed to follow are simply left out.
   */
  async finish(): Promise<Map<string, FollowedHash>> {
    this.stop();
    await this.pumping;
    const out = new Map<string, FollowedHash>();
    if (this.failed === undefined) {
      try {
        await this.pass();
        for (const [name, f] of this.files) {
          await f.flushing;
          const st = await f.fh.stat({ bigint: true });
          if (st.size !== BigInt(f.size)) continue; // written to after the writer had exited
          out.set(name, { sha256: f.hash.digest('hex'), size: f.size, ino: f.ino, dev: f.dev, mtimeNs: st.mtimeNs });
        }
      } catch {
        out.clear();
      }
    }
    await this.close();
    return out;
  }

  /** Stop following and let go of the files (after a failed dump). */
  async abandon(): Promise<void> {
    this.stop();
    await this.pumping;
    await this.close();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async close(): Promise<void> {
    for (const f of this.files.values()) {
      await f.flushing?.catch(() => undefined);
      await f.fh.close().catch(() => undefined);
    }
    this.files.clear();
  }
}
