// The checkpoint store: named, complete checkpoint sets of a stack, with identical files stored once.
//
// Layout (everything under one root, on one filesystem):
//
//   <root>/                                   0700
//     lock                                    the writer lock ("pid starttime"), while a writer, removeSet or gc runs
//     objects/<sha256[0:2]>/<sha256>          0400  one inode per distinct content: the dedup index
//     snapshots/<id>/                         0700  one complete set, never changed once here
//       set.json                              0400  the manifest: sha256 + size of every file, self-checksummed
//       <service>/<image file>                0400  hard link to the object with that content
//     sets/<name> -> ../snapshots/<id>        the name; a set exists iff this symlink exists
//     tmp/<id>/                               0700  sets being written, and leftovers of failures (gc removes)
//
// Why hard links. A set's service directory is a plain directory of image files with their real
// names, so it is directly `criu restore -D`; every file in it is the same inode as its object, so
// identical files of different sets (or services) take the space once. The two halves are
// independent: a set's data lives in its own names, and objects/ is only an index used to find
// duplicates. So `rm -r` of a snapshot never disturbs another set, nor a restored process that has
// an image mapped (the inode lives while mapped), and gc — which only unlinks objects/ names whose
// link count is 1 — cannot take data from a set even if it were wrong. A copy of the store that
// loses the hard links (cp -r, rsync without -H) still has complete sets; it only loses dedup.
// The cost: hard links share the inode, so a file changed in place changes every set holding it.
// Nothing in ckpt writes a stored file: files are made read-only (0400) before they are hashed, and
// the restore side must never point CRIU at the store with options that write images (e.g.
// `--auto-dedup` punches holes in pages images) and must keep CRIU's work dir (logs,
// stats-restore) outside the store (`-W`). verifySet catches any such change.
//
// Why a symlink per name. rename(2) cannot replace a non-empty directory, so a name cannot point
// straight at a directory if a set is to be replaced without a moment where the name is missing
// or half-written. The new set is written and fsync'd under tmp/, renamed into snapshots/, and then
// a new symlink is renamed over sets/<name> — atomic, so readers see the old set or the new one.
// Only then is the old snapshot removed; a crash before that leaves an unreferenced snapshot that
// gc removes. Readers resolve the name once and then read only from snapshots/<id>, so a restore
// uses one consistent set even if the name is replaced meanwhile (SetInfo.dir is that directory).
//
// Commit order (restic's rule: data first, the record last): hash every file (streaming) and fsync
// it; link it into objects/ or, if the content is already there (checked by re-hashing the object),
// replace it by a link to the object; fsync the directories; write set.json; fsync; rename into
// snapshots/; switch the name. A failure anywhere before the switch removes the temporary directory
// and the objects this commit added, and leaves any old set under the name untouched.
//
// One writer at a time: beginSet takes the store lock (src/util/lock.ts, STORE_LOCKED, with its
// stale-lock rule) and commit/abort release it; removeSet and gc take it too. Readers take no lock
// and read only committed sets. Since every tmp/ entry belongs to the lock holder, gc (holding the
// lock) treats whatever is in tmp/ as left over.
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  fchmodSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { removeTreeSync, syncFilesystem } from '../data/snapshot.js';
import { DATA_DIR, checkTree, dataIndexName, indexTree, readDataIndex } from './data-index.js';
import { CkptError } from '../errors.js';
import { acquireLock, type Lock } from '../util/lock.js';
import {
  DIR_MODE,
  FILE_MODE,
  eachLimit,
  fsyncFile,
  fsyncPath,
  hashFile,
  lstatOrUndefined,
  mkdirPrivate,
  mkdirTree,
  privateBytes,
  readdirOrEmpty,
  storeIoError,
} from './io.js';
import { ImageFollower, type FollowedHash } from './follow.js';
import { VerifiedFiles } from './verified.js';
import { parseManifest, serializeManifest, type FileEntry, type SetManifest, type DataRecord } from './manifest.js';
import { DATA_NAME, MANIFEST_FILE, checkServiceName, checkSetName, isSetName, similarNames } from './names.js';

export interface SetMeta {
  project: string;
  /** the services whose images the set holds; each gets writer.serviceDir(service) */
  services: string[];
  /** the set the stack had been restored from */
  parent?: string;
  /** hash of the ckpt manifest the stack ran with */
  manifestHash?: string;
  /** free-form, kept in the set manifest */
  extra?: Record<string, unknown>;
}

export interface SetInfo {
  name: string;
  /** snapshot id: the set's directory is snapshots/<id> */
  id: string;
  /** the set's directory, resolved once: <dir>/<service> is a `criu restore -D` directory */
  dir: string;
  project: string;
  services: string[];
  /** ISO time the checkpoint started */
  createdAt: string;
  parent?: string;
  manifestHash?: string;
  extra?: Record<string, unknown>;
  stats?: unknown;
  /** number of files over all services */
  files: number;
  /** bytes of the distinct contents the set holds (what it takes alone) */
  sizeBytes: number;
  /** bytes no other set shares (what removing the set frees) */
  exclusiveBytes: number;
}

export interface SetWriter {
  readonly name: string;
  /** the temporary directory of the set (inside the store, invisible to readers) */
  readonly dir: string;
  /** <dir>/<service>, created 0700 on first use: dump the service's images here */
  serviceDir(service: string): string;
  /**
   * Start hashing the service's large images while they are written (call before the dump);
   * `done()` once the writer has exited hands the hashes to commit, which then only flushes those
   * files. Optional: commit hashes whatever was not followed.
   */
  follow(service: string): { done(): Promise<void> };
  /**
   * Where to capture the tree of one of the service's volumes (it must not exist yet: the caller
   * makes it, by `method`); commit indexes it and keeps it in the set (data/snapshot.ts).
   */
  dataDir(service: string, volume: string, method: string): string;
  /** store every file, write the manifest, make the set visible; releases the lock */
  commit(extra?: { stats?: unknown }): Promise<SetInfo>;
  /** remove the temporary directory and release the lock; a no-op after commit */
  abort(): Promise<void>;
}

export interface VerifyReport {
  name: string;
  id: string;
  dir: string;
  services: string[];
  /** files whose size and SHA-256 were checked */
  files: number;
  bytes: number;
  /** of those, files not read again: hashed in full before, and their inode unchanged since (trustUnchanged) */
  unchanged: number;
}

export interface GcReport {
  /** objects no set uses any more */
  removedObjects: number;
  freedBytes: number;
  /** tmp/ entries: sets whose writer failed or died, removals cut short */
  removedTmp: number;
  /** snapshot directories no name points at (a crash between switching a name and removing the old set) */
  removedSnapshots: number;
}

/** Points in commit where a test can inject a failure (throw from StoreOptions.onCommitStep). */
export type CommitStep =
  /** before storing one file (path: the file) */
  | 'file'
  /** before writing set.json (path: the manifest) */
  | 'manifest'
  /** after the set is in snapshots/, before its name is switched (path: the snapshot) */
  | 'publish'
  /** after the name is switched, before the replaced set is removed (path: the old snapshot) */
  | 'replace';

export interface StoreOptions {
  /** how long beginSet, removeSet and gc wait for another ckpt holding the lock (default 10 s) */
  lockWaitMs?: number;
  /** files hashed at once by commit and verifySet (default 4) */
  concurrency?: number;
  /** for tests: called at each commit step; throwing there simulates a failure at that point */
  onCommitStep?: (step: CommitStep, path: string) => void;
}

interface Loaded {
  id: string;
  dir: string;
  manifest: SetManifest;
}

interface WriterState {
  /** data trees captured into the set: service → volume → method */
  data: Map<string, Map<string, string>>;
  /** hashes taken while the files were written, by path */
  followed: Map<string, FollowedHash>;
  followers: Set<ImageFollower>;
  name: string;
  meta: SetMeta;
  replace: boolean;
  id: string;
  dir: string;
  createdAt: string;
}

/** What one commit has done so far, to undo it on failure and to avoid repeating work. */
interface CommitState {
  created: string[];
  prefixes: Set<string>;
  placing: Map<string, Promise<void>>;
  verified: Set<string>;
  /** objects hashed in full before and unchanged since need not be read again to be shared */
  known: VerifiedFiles;
}

const NOT_CREATED = 'The set was not created; any set of that name is unchanged.';
const LINK_TARGET = /^\.\.\/snapshots\/([A-Za-z0-9-]+)$/;

function newId(at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

function writePrivateFile(path: string, text: string): void {
  const fd = openSync(path, 'wx', FILE_MODE);
  try {
    const buf = Buffer.from(text);
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    fchmodSync(fd, FILE_MODE);
  } finally {
    closeSync(fd);
  }
}

/** Removes a set's directory; its data trees may be read-only btrfs snapshots, removed first. */
function removeSetDir(dir: string): void {
  for (const service of readdirOrEmpty(join(dir, DATA_DIR))) {
    for (const volume of readdirOrEmpty(join(dir, DATA_DIR, service))) removeTreeSync(join(dir, DATA_DIR, service, volume));
  }
  rmSync(dir, { recursive: true, force: true });
}

function checkMeta(meta: SetMeta): void {
  const bad = (what: string): CkptError => new CkptError('USAGE', `invalid checkpoint set metadata: ${what}`);
  if (typeof meta.project !== 'string' || meta.project === '') throw bad('no project name');
  if (!Array.isArray(meta.services) || meta.services.length === 0) throw bad('no services');
  for (const s of meta.services) checkServiceName(s);
  if (new Set(meta.services).size !== meta.services.length) throw bad(`a service is listed twice (${meta.services.join(', ')})`);
  if (meta.parent !== undefined) checkSetName(meta.parent);
}

export class Store {
  readonly root: string;
  private readonly lockWaitMs: number;
  private readonly concurrency: number;
  private readonly onCommitStep: StoreOptions['onCommitStep'];

  constructor(root: string, opts: StoreOptions = {}) {
    this.root = resolve(root);
    this.lockWaitMs = opts.lockWaitMs ?? 10_000;
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.onCommitStep = opts.onCommitStep;
  }

  private get objectsDir(): string {
    return join(this.root, 'objects');
  }
  private get snapshotsDir(): string {
    return join(this.root, 'snapshots');
  }
  private get setsDir(): string {
    return join(this.root, 'sets');
  }
  private get tmpDir(): string {
    return join(this.root, 'tmp');
  }

  objectPath(sha256: string): string {
    return join(this.objectsDir, sha256.slice(0, 2), sha256);
  }

  /** Create the tree (0700 whatever the umask) and check that files and hard links can be made in it. */
  init(): void {
    try {
      if (mkdirTree(this.root)) chmodSync(this.root, DIR_MODE);
      for (const d of [this.objectsDir, this.snapshotsDir, this.setsDir, this.tmpDir]) mkdirPrivate(d);
      const probe = join(this.tmpDir, `.probe-${process.pid}-${randomBytes(4).toString('hex')}`);
      let links = 0;
      try {
        writePrivateFile(probe, '');
        linkSync(probe, `${probe}.link`);
        links = lstatSync(probe).nlink;
      } finally {
        rmSync(probe, { force: true });
        rmSync(`${probe}.link`, { force: true });
      }
      if (links !== 2) {
        throw new CkptError('STORE_UNWRITABLE', `the filesystem of ${this.root} does not count hard links`, {
          hint: 'The store keeps identical files once by hard-linking them; put it on a local filesystem such as ext4, xfs or btrfs (--store DIR or CKPT_STORE).',
        });
      }
    } catch (e) {
      throw storeIoError(e, this.root);
    }
  }

  /** The writer lock; an I/O failure taking it (read-only store, …) is a store error. */
  private async lock(): Promise<Lock> {
    try {
      return await acquireLock(join(this.root, 'lock'), {
        what: `the checkpoint store ${this.root}`,
        waitMs: this.lockWaitMs,
        code: 'STORE_LOCKED',
      });
    } catch (e) {
      throw storeIoError(e, this.root);
    }
  }

  /**
   * Start writing a set: takes the store lock until commit or abort. Fails if a set of that name
   * exists, unless `replace` (then commit switches the name to the new set atomically).
   */
  async beginSet(name: string, meta: SetMeta, opts: { replace?: boolean } = {}): Promise<SetWriter> {
    checkSetName(name);
    checkMeta(meta);
    this.init();
    const lock = await this.lock();
    let w: WriterState;
    try {
      if (!opts.replace && this.target(name) !== undefined) throw this.exists(name);
      const at = new Date();
      const id = newId(at);
      w = { data: new Map(), followed: new Map(), followers: new Set(), name, meta: { ...meta, services: [...meta.services] }, replace: Boolean(opts.replace), id, dir: join(this.tmpDir, id), createdAt: at.toISOString() };
      mkdirPrivate(w.dir);
    } catch (e) {
      lock.release();
      throw storeIoError(e, this.root);
    }
    let open = true;
    const closed = (): never => {
      throw new Error(`the writer of set "${name}" was already committed or aborted`);
    };
    return {
      name,
      dir: w.dir,
      serviceDir: (service: string): string => {
        if (!open) closed();
        if (!w.meta.services.includes(service)) {
          throw new CkptError('SERVICE_UNKNOWN', `service "${service}" is not part of set "${name}"`, {
            hint: `The set holds: ${w.meta.services.join(', ')}.`,
          });
        }
        const dir = join(w.dir, service);
        try {
          mkdirPrivate(dir);
        } catch (e) {
          throw storeIoError(e, this.root, dir);
        }
        return dir;
      },
      follow: (service: string): { done(): Promise<void> } => {
        const dir = join(w.dir, service);
        const follower = new ImageFollower(dir);
        w.followers.add(follower);
        return {
          done: async (): Promise<void> => {
            w.followers.delete(follower);
            for (const [name, h] of await follower.finish()) w.followed.set(join(dir, name), h);
          },
        };
      },
      dataDir: (service: string, volume: string, method: string): string => {
        if (!open) closed();
        if (!w.meta.services.includes(service)) throw new Error(`service "${service}" is not part of set "${name}"`);
        if (!DATA_NAME.test(volume)) throw new Error(`invalid data name ${JSON.stringify(volume)} for set "${name}"`);
        const dir = join(w.dir, DATA_DIR, service);
        try {
          mkdirPrivate(join(w.dir, DATA_DIR));
          mkdirPrivate(dir);
        } catch (e) {
          throw storeIoError(e, this.root, dir);
        }
        if (!w.data.has(service)) w.data.set(service, new Map());
        w.data.get(service)!.set(volume, method);
        return join(dir, volume);
      },
      commit: async (extra: { stats?: unknown } = {}): Promise<SetInfo> => {
        if (!open) closed();
        open = false;
        await Promise.all([...w.followers].map((f) => f.abandon()));
        try {
          return await this.commit(w, extra);
        } finally {
          lock.release();
        }
      },
      abort: async (): Promise<void> => {
        if (!open) return;
        open = false;
        await Promise.all([...w.followers].map((f) => f.abandon()));
        try {
          removeSetDir(w.dir);
        } finally {
          lock.release();
        }
      },
    };
  }

  private async commit(w: WriterState, extra: { stats?: unknown }): Promise<SetInfo> {
    const st: CommitState = { created: [], prefixes: new Set(), placing: new Map(), verified: new Set(), known: new VerifiedFiles(this.root) };
    let current = w.dir;
    const step = (s: CommitStep, path: string): void => {
      current = path;
      this.onCommitStep?.(s, path);
    };
    const snapshot = join(this.snapshotsDir, w.id);
    const link = join(this.tmpDir, `link-${w.id}`);
    const nameLink = join(this.setsDir, w.name);
    let oldId: string | undefined;
    const entries = new Map<string, FileEntry>();
    try {
      const data = await this.indexData(w, st.known);
      const files = this.collect(w);
      await eachLimit(files, this.concurrency, async (f) => {
        try {
          step('file', f.path);
          entries.set(`${f.service}/${f.name}`, await this.storeFile(w, f.path, st));
        } catch (e) {
          throw storeIoError(e, this.root, f.path, NOT_CREATED);
        }
      });
      for (const d of st.prefixes) fsyncPath(d);
      for (const s of w.meta.services) fsyncPath(join(w.dir, s));

      const services: SetManifest['services'] = {};
      for (const s of w.meta.services) {
        const fileEntries: Record<string, FileEntry> = {};
        for (const f of files.filter((x) => x.service === s)) fileEntries[f.name] = entries.get(`${s}/${f.name}`)!;
        services[s] = { files: fileEntries, ...(data.has(s) ? { data: Object.fromEntries(data.get(s)!) } : {}) };
      }
      const manifest: SetManifest = {
        format: 'ckpt-set',
        version: 1,
        name: w.name,
        id: w.id,
        project: w.meta.project,
        createdAt: w.createdAt,
        ...(w.meta.parent !== undefined && { parent: w.meta.parent }),
        services,
        meta: { manifestHash: w.meta.manifestHash, extra: w.meta.extra, stats: extra.stats },
      };
      const manifestPath = join(w.dir, MANIFEST_FILE);
      step('manifest', manifestPath);
      writePrivateFile(manifestPath, serializeManifest(manifest));
      fsyncPath(w.dir);

      oldId = this.target(w.name);
      if (oldId !== undefined && !w.replace) throw this.exists(w.name);
      current = snapshot;
      renameSync(w.dir, snapshot);
      fsyncPath(this.tmpDir);
      fsyncPath(this.snapshotsDir);
      step('publish', snapshot);
      current = nameLink;
      symlinkSync(`../snapshots/${w.id}`, link);
      fsyncPath(this.tmpDir);
      renameSync(link, nameLink);
    } catch (e) {
      // Not published: remove what this commit made. Any old set under the name was not touched.
      // (Best effort: whatever cannot be removed now is in tmp/ or unnamed in snapshots/, for gc.)
      for (const p of [w.dir, snapshot, link]) {
        try {
          removeSetDir(p);
        } catch {
          /* gc */
        }
      }
      this.pruneObjects(st.created);
      throw storeIoError(e, this.root, current, NOT_CREATED);
    }
    // The set is visible and complete. What follows is durability of the name and cleanup: a
    // failure (or a crash) here leaves the replaced snapshot unreferenced, and gc removes it.
    // Every file was just hashed (or followed while written) and linked: the first restore
    // need not read them again.
    for (const [rel, e] of entries) st.known.hashed(join(snapshot, rel), e.sha256);
    st.known.save();
    try {
      fsyncPath(this.setsDir);
    } catch (e) {
      throw storeIoError(e, this.root, this.setsDir, `The set "${w.name}" was created, but may not survive a crash; check it with verify.`);
    }
    if (oldId !== undefined && oldId !== w.id) {
      try {
        step('replace', join(this.snapshotsDir, oldId));
        this.dropSnapshot(oldId);
      } catch {
        /* left for gc */
      }
    }
    return this.getSet(w.name);
  }

  /**
   * Indexes each captured data tree into its service's directory (data-<volume>.json, then
   * stored like an image) and flushes the trees' filesystem; returns what the manifest records.
   */
  private async indexData(w: WriterState, known: VerifiedFiles): Promise<Map<string, Map<string, DataRecord>>> {
    const out = new Map<string, Map<string, DataRecord>>();
    for (const [service, volumes] of w.data) {
      for (const [volume, method] of volumes) {
        const tree = join(w.dir, DATA_DIR, service, volume);
        const index = await indexTree(tree, method, known);
        const name = dataIndexName(volume);
        writePrivateFile(join(w.dir, service, name), JSON.stringify(index));
        if (!out.has(service)) out.set(service, new Map());
        out.get(service)!.set(volume, { index: name, method, files: index.files, bytes: index.bytes });
      }
    }
    if (out.size) await syncFilesystem(join(w.dir, DATA_DIR));
    return out;
  }

  /** The files to store; the temporary directory must hold exactly one flat directory per service. */
  private collect(w: WriterState): { service: string; name: string; path: string }[] {
    const out: { service: string; name: string; path: string }[] = [];
    for (const e of readdirSync(w.dir, { withFileTypes: true })) {
      if (e.name === DATA_DIR) continue;
      const p = join(w.dir, e.name);
      if (!e.isDirectory()) throw new Error(`${p}: a set directory holds only one directory per service`);
      if (!w.meta.services.includes(e.name)) {
        throw new Error(`${p}: service "${e.name}" is not part of set "${w.name}" (${w.meta.services.join(', ')})`);
      }
    }
    for (const service of w.meta.services) {
      const dir = join(w.dir, service);
      if (!existsSync(dir)) throw new Error(`service "${service}" of set "${w.name}" has no files (expected in ${dir})`);
      const files = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (files.length === 0) throw new Error(`service "${service}" of set "${w.name}" has no files (${dir} is empty)`);
      for (const f of files) {
        const path = join(dir, f.name);
        if (!f.isFile()) {
          throw new Error(`${path}: not a regular file (a set holds flat directories of image files; no symlinks or subdirectories)`);
        }
        out.push({ service, name: f.name, path });
      }
    }
    return out;
  }

  /** Make the file read-only, hash and fsync it, and make it one inode with its object. */
  private async storeFile(w: WriterState, path: string, st: CommitState): Promise<FileEntry> {
    chmodSync(path, FILE_MODE);
    const { sha256, size, synced } = await this.hashOrTakeFollowed(w, path);
    // One placement per content at a time: two files of a set can be identical.
    for (let p = st.placing.get(sha256); p; p = st.placing.get(sha256)) await p;
    const placing = this.place(w, path, sha256, size, st, synced);
    st.placing.set(
      sha256,
      placing.then(
        () => undefined,
        () => undefined,
      ),
    );
    try {
      await placing;
    } finally {
      st.placing.delete(sha256);
    }
    return { sha256, size };
  }

  /**
   * The hash taken while the file was written if it still is that file, else a fresh one (fsync'd
   * beside the hashing). A followed file is not fsync'd here: if the store already holds its
   * content it is dropped for a link to the object, and flushing it first would be wasted.
   */
  private async hashOrTakeFollowed(w: WriterState, path: string): Promise<{ sha256: string; size: number; synced: boolean }> {
    const f = w.followed.get(path);
    if (f) {
      const st = lstatSync(path, { bigint: true });
      if (st.ino === BigInt(f.ino) && st.dev === BigInt(f.dev) && st.size === BigInt(f.size) && st.mtimeNs === f.mtimeNs) {
        return { sha256: f.sha256, size: f.size, synced: false };
      }
    }
    return { ...(await hashFile(path, { fsync: true })), synced: true };
  }

  private async place(w: WriterState, path: string, sha256: string, size: number, st: CommitState, synced: boolean): Promise<void> {
    const obj = this.objectPath(sha256);
    const prefix = dirname(obj);
    if (!st.prefixes.has(prefix)) {
      mkdirPrivate(prefix);
      st.prefixes.add(prefix);
    }
    let mine = lstatSync(path);
    for (;;) {
      const o = lstatOrUndefined(obj);
      if (o && o.ino === mine.ino && o.dev === mine.dev) return; // already that object (linked in by the caller)
      if (o) {
        if (
          st.verified.has(sha256) ||
          (o.isFile() && o.size === size && (st.known.unchanged(obj, sha256) || (await hashFile(obj)).sha256 === sha256))
        ) {
          st.verified.add(sha256);
          unlinkSync(path);
          linkSync(obj, path);
          return;
        }
        // The stored object does not hold its content any more. Move it aside (the sets that hold
        // it keep their links, and verifySet names them; gc removes it once they are gone) and
        // store this file in its place.
        renameSync(obj, `${obj}.damaged-${Date.now()}`);
        continue;
      }
      if (mine.nlink > 1) {
        // The inode has a name outside this set (the caller hard-linked it from elsewhere): an
        // object must not be writable through a path the store does not control, so store a copy.
        const copy = join(w.dir, `.copy-${randomBytes(4).toString('hex')}`);
        copyFileSync(path, copy);
        chmodSync(copy, FILE_MODE);
        const again = await hashFile(copy, { fsync: true });
        if (again.sha256 !== sha256) {
          rmSync(copy, { force: true });
          throw new Error(`${path} changed while it was being stored`);
        }
        renameSync(copy, path);
        mine = lstatSync(path);
        synced = true;
      }
      if (!synced) {
        await fsyncFile(path);
        synced = true;
      }
      try {
        linkSync(path, obj);
        st.created.push(obj);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  }

  /** Remove the given objects when no set links them any more; returns the bytes freed. */
  private pruneObjects(objects: Iterable<string>): number {
    let freed = 0;
    for (const o of objects) {
      try {
        const s = lstatOrUndefined(o);
        if (s?.isFile() && s.nlink === 1) {
          unlinkSync(o);
          freed += s.size;
        }
      } catch {
        /* gc will */
      }
    }
    return freed;
  }

  /** Remove an unnamed snapshot: rename it into tmp/ (so it is gone at once), delete it, prune its objects. */
  private dropSnapshot(id: string): number {
    const aside = join(this.tmpDir, `rm-${id}`);
    try {
      renameSync(join(this.snapshotsDir, id), aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw e;
    }
    let hashes: string[] = [];
    try {
      const m = parseManifest(readFileSync(join(aside, MANIFEST_FILE), 'utf8'), MANIFEST_FILE);
      hashes = Object.values(m.services).flatMap((s) => Object.values(s.files).map((f) => f.sha256));
    } catch {
      /* a damaged set: gc finds its objects */
    }
    const freed = privateBytes(aside);
    removeSetDir(aside);
    return freed + this.pruneObjects(new Set(hashes.map((h) => this.objectPath(h))));
  }

  /** The snapshot id a name points at, undefined if there is no such name. */
  private target(name: string): string | undefined {
    const path = join(this.setsDir, name);
    let t: string;
    try {
      t = readlinkSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'EINVAL') {
        throw new CkptError('STORE_CORRUPT', `${path} is not a symlink to a snapshot`, {
          hint: `Something other than ckpt wrote into ${this.setsDir}; move ${path} away.`,
        });
      }
      throw e;
    }
    const m = LINK_TARGET.exec(t);
    if (!m) {
      throw new CkptError('STORE_CORRUPT', `${path} points at ${t}, not at a snapshot of the store`, {
        hint: `Something other than ckpt changed ${path}; remove it with \`ckpt rm ${name}\`.`,
      });
    }
    return m[1];
  }

  private exists(name: string): CkptError {
    return new CkptError('USAGE', `a checkpoint set named "${name}" already exists`, {
      hint: 'Choose another name, or replace the set (--replace).',
    });
  }

  /** The names in sets/ (symlinks with valid names), sorted. */
  private names(): string[] {
    return readdirOrEmpty(this.setsDir).filter((n) => isSetName(n) && lstatOrUndefined(join(this.setsDir, n))?.isSymbolicLink());
  }

  private notFound(name: string): CkptError {
    let names: string[] = [];
    try {
      names = this.names();
    } catch {
      /* the message is what matters */
    }
    const near = similarNames(name, names);
    const hint = near.length
      ? `Did you mean ${near.map((n) => `"${n}"`).join(' or ')}? \`ckpt sets\` lists the sets.`
      : names.length
        ? `\`ckpt sets\` lists the ${names.length} set${names.length === 1 ? '' : 's'} in ${this.root}.`
        : `The store ${this.root} has no sets yet (another store? --store DIR or CKPT_STORE).`;
    return new CkptError('SET_NOT_FOUND', `no checkpoint set named "${name}" in ${this.root}`, { hint });
  }

  /** Resolve a name once and read its manifest; retries if the name was switched meanwhile. */
  private load(name: string): Loaded {
    checkSetName(name);
    for (let attempt = 0; ; attempt++) {
      const id = this.target(name);
      if (id === undefined) throw this.notFound(name);
      const dir = join(this.snapshotsDir, id);
      const manifestPath = join(dir, MANIFEST_FILE);
      let text: string;
      try {
        text = readFileSync(manifestPath, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        if (attempt < 3 && this.target(name) !== id) continue;
        throw new CkptError('STORE_CORRUPT', `set "${name}": ${existsSync(dir) ? `${manifestPath} is missing` : `its directory ${dir} is missing`}`, {
          hint: `Remove the set (\`ckpt rm ${name}\`) and checkpoint again.`,
        });
      }
      return { id, dir, manifest: parseManifest(text, manifestPath) };
    }
  }

  private info(name: string, l: Loaded): SetInfo {
    const m = l.manifest;
    const contents = new Map<string, { size: number; count: number; path: string }>();
    let files = 0;
    for (const [service, s] of Object.entries(m.services)) {
      for (const [file, e] of Object.entries(s.files)) {
        files++;
        const c = contents.get(e.sha256);
        if (c) c.count++;
        else contents.set(e.sha256, { size: e.size, count: 1, path: join(l.dir, service, file) });
      }
    }
    let sizeBytes = 0;
    let exclusiveBytes = 0;
    for (const [sha256, c] of contents) {
      sizeBytes += c.size;
      const f = lstatOrUndefined(c.path);
      if (!f) continue;
      const o = lstatOrUndefined(this.objectPath(sha256));
      const others = f.nlink - c.count - (o && o.ino === f.ino && o.dev === f.dev ? 1 : 0);
      if (others <= 0) exclusiveBytes += c.size;
    }
    // data trees: their files are the set's own (shared only by reflinks or snapshots, which
    // the filesystem accounts for, not the store)
    for (const s of Object.values(m.services)) {
      for (const d of Object.values(s.data ?? {})) {
        files += d.files;
        sizeBytes += d.bytes;
        exclusiveBytes += d.bytes;
      }
    }
    return {
      name,
      id: l.id,
      dir: l.dir,
      project: m.project,
      services: Object.keys(m.services),
      createdAt: m.createdAt,
      ...(m.parent !== undefined && { parent: m.parent }),
      ...(m.meta.manifestHash !== undefined && { manifestHash: m.meta.manifestHash }),
      ...(m.meta.extra !== undefined && { extra: m.meta.extra }),
      ...(m.meta.stats !== undefined && { stats: m.meta.stats }),
      files,
      sizeBytes,
      exclusiveBytes,
    };
  }

  /**
   * Every committed set, oldest first. A set whose manifest is damaged is left out and passed to
   * `onBroken` (so `ckpt sets` can warn, and still list the others).
   */
  listSets(opts: { onBroken?: (name: string, error: CkptError) => void } = {}): SetInfo[] {
    try {
      const out: SetInfo[] = [];
      for (const name of this.names()) {
        try {
          out.push(this.info(name, this.load(name)));
        } catch (e) {
          if (e instanceof CkptError && e.code === 'SET_NOT_FOUND') continue; // removed meanwhile
          if (e instanceof CkptError && e.code === 'STORE_CORRUPT') opts.onBroken?.(name, e);
          else throw e;
        }
      }
      return out.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.name < b.name ? -1 : 1));
    } catch (e) {
      throw storeIoError(e, this.root);
    }
  }

  /** One set; SET_NOT_FOUND (with the names it may have meant) if there is none. */
  getSet(name: string): SetInfo {
    try {
      return this.info(name, this.load(name));
    } catch (e) {
      throw storeIoError(e, this.root);
    }
  }

  /** The set's directory. Resolve once per restore: the name may be switched to a new set later. */
  setDir(name: string): string {
    try {
      return this.load(name).dir;
    } catch (e) {
      throw storeIoError(e, this.root);
    }
  }

  /** The directory of one service's images, for `criu restore -D` (with `-W` outside the store). */
  serviceDir(name: string, service: string): string {
    let l: Loaded;
    try {
      l = this.load(name);
    } catch (e) {
      throw storeIoError(e, this.root);
    }
    this.checkServices(name, l, [service]);
    return join(l.dir, service);
  }

  private checkServices(name: string, l: Loaded, services: string[]): void {
    const have = Object.keys(l.manifest.services);
    for (const s of services) {
      if (!have.includes(s)) {
        throw new CkptError('SERVICE_UNKNOWN', `checkpoint set "${name}" has no service "${s}"`, {
          hint: `It holds: ${have.join(', ')}.`,
        });
      }
    }
  }

  /**
   * Re-hash every file of the set (or of the given services) and compare with the manifest.
   * Throws STORE_CORRUPT naming the first damaged file (all of them in `details`); a damaged
   * manifest is reported the same way.
   */
  async verifySet(name: string, opts: { services?: string[]; trustUnchanged?: boolean } = {}): Promise<VerifyReport> {
    const known = new VerifiedFiles(this.root);
    try {
      return await this.verifyOnce(name, opts, known);
    } finally {
      known.save();
    }
  }

  private async verifyOnce(name: string, opts: { services?: string[]; trustUnchanged?: boolean }, known: VerifiedFiles): Promise<VerifyReport> {
    for (let attempt = 0; ; attempt++) {
      let l: Loaded;
      try {
        l = this.load(name);
      } catch (e) {
        throw storeIoError(e, this.root);
      }
      const all = Object.keys(l.manifest.services);
      const services = opts.services ?? all;
      this.checkServices(name, l, services);
      const problems: string[] = [];
      let files = 0;
      let bytes = 0;
      let unchanged = 0;
      const checks: { rel: string; path: string; want: FileEntry }[] = [];
      try {
        if (l.manifest.id !== l.id) problems.push(`${MANIFEST_FILE}: describes snapshot ${l.manifest.id}, found in ${l.id}`);
        if (!opts.services) {
          for (const e of readdirOrEmpty(l.dir)) {
            if (e !== MANIFEST_FILE && e !== DATA_DIR && !all.includes(e)) problems.push(`${e}: not in the manifest (extra file)`);
          }
        }
        for (const service of services) {
          const dir = join(l.dir, service);
          if (!lstatOrUndefined(dir)?.isDirectory()) {
            problems.push(`${service}/: directory missing`);
            continue;
          }
          const want = l.manifest.services[service]!.files;
          for (const f of readdirOrEmpty(dir)) {
            if (!Object.hasOwn(want, f)) problems.push(`${service}/${f}: not in the manifest (extra file)`);
          }
          for (const [f, entry] of Object.entries(want)) checks.push({ rel: `${service}/${f}`, path: join(dir, f), want: entry });
        }
        await eachLimit(checks, this.concurrency, async (c) => {
          const st = lstatOrUndefined(c.path);
          if (!st) return void problems.push(`${c.rel}: missing`);
          if (!st.isFile()) return void problems.push(`${c.rel}: not a regular file`);
          if (st.size !== c.want.size) {
            return void problems.push(
              `${c.rel}: ${st.size} bytes, expected ${c.want.size}${st.size < c.want.size ? ' (truncated)' : ''}`,
            );
          }
          if (opts.trustUnchanged && known.unchanged(c.path, c.want.sha256)) {
            files++;
            unchanged++;
            bytes += st.size;
            return;
          }
          const got = await hashFile(c.path);
          if (got.sha256 !== c.want.sha256 || got.size !== c.want.size) {
            return void problems.push(`${c.rel}: content changed (sha256 ${got.sha256.slice(0, 12)}…, expected ${c.want.sha256.slice(0, 12)}…)`);
          }
          known.hashed(c.path, got.sha256);
          files++;
          bytes += got.size;
        });
        // data trees, checked against their indexes once those are known to be the set's own
        if (problems.length === 0) {
          for (const service of services) {
            for (const [volume, d] of Object.entries(l.manifest.services[service]!.data ?? {})) {
              const index = readDataIndex(join(l.dir, service, d.index));
              const found = await checkTree(join(l.dir, DATA_DIR, service, volume), index, known, !opts.trustUnchanged);
              problems.push(...found.map((p) => `${DATA_DIR}/${service}/${volume}/${p}`));
              files += index.files;
              bytes += index.bytes;
            }
          }
        }
      } catch (e) {
        throw storeIoError(e, this.root);
      }
      if (problems.length === 0) return { name, id: l.id, dir: l.dir, services, files, bytes, unchanged };
      // Replaced or removed while we read it? Then check what the name holds now.
      let now: string | undefined;
      try {
        now = this.target(name);
      } catch {
        now = l.id;
      }
      if (now !== l.id && attempt < 3) continue;
      problems.sort();
      const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
      throw new CkptError('STORE_CORRUPT', `checkpoint set "${name}" is damaged: ${problems[0]}${more}`, {
        details: problems,
        hint:
          `Do not restore it. Identical files are stored once and shared between sets, so verify the other sets too; ` +
          `then remove the damaged ones (\`ckpt rm ${name}\`) and checkpoint again. The set's files are in ${l.dir}.`,
      });
    }
  }

  /** Remove a set under the lock: its name goes first (atomically), then its files and unused objects. */
  async removeSet(name: string): Promise<{ freedBytes: number }> {
    checkSetName(name);
    if (!existsSync(this.setsDir)) throw this.notFound(name);
    const lock = await this.lock();
    try {
      const path = join(this.setsDir, name);
      let id: string | undefined;
      try {
        id = this.target(name);
      } catch (e) {
        // A damaged name (not a symlink, or pointing outside the store) can still be removed:
        // unlink it, and leave whatever it pointed at alone.
        const st = lstatOrUndefined(path);
        if (!(e instanceof CkptError && e.code === 'STORE_CORRUPT' && st && (st.isSymbolicLink() || st.isFile()))) throw e;
        unlinkSync(path);
        fsyncPath(this.setsDir);
        return { freedBytes: 0 };
      }
      if (id === undefined) throw this.notFound(name);
      unlinkSync(path);
      fsyncPath(this.setsDir);
      return { freedBytes: this.dropSnapshot(id) };
    } catch (e) {
      throw storeIoError(e, this.root);
    } finally {
      lock.release();
    }
  }

  /**
   * Under the lock: remove tmp/ leftovers, snapshots no name points at, and objects whose only link
   * is their objects/ name. Never touches a named set's files.
   */
  async gc(): Promise<GcReport> {
    this.init();
    const lock = await this.lock();
    const report: GcReport = { removedObjects: 0, freedBytes: 0, removedTmp: 0, removedSnapshots: 0 };
    try {
      // We hold the lock, so no writer is running: everything in tmp/ is left over.
      for (const e of readdirOrEmpty(this.tmpDir)) {
        const p = join(this.tmpDir, e);
        report.freedBytes += privateBytes(p);
        removeSetDir(p);
        report.removedTmp++;
      }
      // Snapshots no name points at. If a name cannot be read, keep every snapshot: better a
      // leftover than a set lost.
      const live = new Set<string>();
      let allNamesRead = true;
      for (const n of readdirOrEmpty(this.setsDir)) {
        try {
          const id = this.target(n);
          if (id !== undefined) live.add(id);
        } catch {
          allNamesRead = false;
        }
      }
      if (allNamesRead) {
        for (const id of readdirOrEmpty(this.snapshotsDir)) {
          if (live.has(id)) continue;
          report.freedBytes += this.dropSnapshot(id);
          report.removedSnapshots++;
        }
      }
      // Objects whose only link is their objects/ name: no set holds them.
      for (const prefix of readdirOrEmpty(this.objectsDir)) {
        const dir = join(this.objectsDir, prefix);
        if (!lstatOrUndefined(dir)?.isDirectory()) continue;
        let removed = false;
        for (const f of readdirOrEmpty(dir)) {
          const p = join(dir, f);
          const s = lstatOrUndefined(p);
          if (s?.isFile() && s.nlink === 1) {
            unlinkSync(p);
            report.removedObjects++;
            report.freedBytes += s.size;
            removed = true;
          }
        }
        if (removed) fsyncPath(dir);
      }
      fsyncPath(this.tmpDir);
      fsyncPath(this.snapshotsDir);
      return report;
    } catch (e) {
      throw storeIoError(e, this.root);
    } finally {
      lock.release();
    }
  }
}
