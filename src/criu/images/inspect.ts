// `ckpt inspect`: one JSON-friendly report of what a CRIU images directory holds — processes,
// memory, open files, mappings, sockets and the files the checkpoint depends on (optionally
// compared with the filesystem now) — built from readImageDir's model. renderInspectTree (in
// render.ts) prints it as a tree.
import { locateByHandle } from './fhandle.js';
import type { KeptByHandle } from './read.js';
import { stat } from 'node:fs/promises';
import { PROT, VMA } from './constants.js';
import { readImageDir, type CheckpointImage, type FileImage, type FileKind, type MemfdInode, type ProcessImage, type VmaKind } from './read.js';
import type { DumpStats, RestoreStats } from './stats.js';

export interface InspectOptions {
  /** compare every referenced file with the filesystem now (stat) */
  checkFiles?: boolean;
}

export interface MemoryReport {
  /** all mappings */
  vmaBytes: number;
  /** private anonymous memory: heap, stacks, malloc arenas (not vdso/vvar/vsyscall) */
  privateAnonBytes: number;
  /** MAP_SHARED|MAP_ANONYMOUS (and SysV shm) */
  sharedAnonBytes: number;
  fileSharedBytes: number;
  filePrivateBytes: number;
  /** pages stored in this checkpoint's pages images */
  pagesDumped: number;
  pagesBytes: number;
  /**
   * of pagesDumped, those marked PE_LAZY: a lazy-pages restore may fetch them on demand. CRIU marks
   * most private anonymous pages so in every dump; they are still in the pages images.
   */
  pagesLazy: number;
  /** pages left in a parent (pre-dump) checkpoint */
  pagesInParent: number;
  /** size of the pages-*.img files on disk */
  pagesImageBytes: number;
}

export interface OpenFileReport {
  fd: number;
  fileId: number;
  kind: FileKind | 'missing';
  /** "/path", "TCP LISTEN 127.0.0.1:8080", "pipe:[1234]", … */
  desc: string;
  path?: string;
  /** for files: how it is open */
  access?: 'r' | 'w' | 'rw';
}

export interface MappingReport {
  path: string;
  start: string;
  end: string;
  size: number;
  offset: number;
  shared: boolean;
  /** "rw-", "r-x" */
  prot: string;
  kind: VmaKind;
}

export interface ProcessReport {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  comm: string;
  state: string;
  exitCode: number;
  threads: number;
  threadIds: number[];
  /** pids of the children, in tree order */
  children: number[];
  exe?: string;
  cwd?: string;
  root?: string;
  uid?: number;
  memory: MemoryReport;
  /** pages-<id>.img holding this process's memory */
  pagesImage?: string;
  openFiles: OpenFileReport[];
  mappings: MappingReport[];
}

export interface SocketReport {
  fileId: number;
  ino: number;
  /** INET, INET6, UNIX, NETLINK, PACKET */
  family: string;
  type: string;
  proto?: string;
  state: string;
  local?: string;
  remote?: string;
  localPort?: number;
  remotePort?: number;
  desc: string;
  users: { pid: number; fd: number }[];
}

export type FileUse =
  | { pid: number; as: 'fd'; fd: number }
  | { pid: number; as: 'exe' | 'cwd' | 'root' | 'mmap-shared' | 'mmap-private' };

export type FileType = 'file' | 'dir' | 'char' | 'block' | 'fifo' | 'socket' | 'symlink' | 'unknown';

export interface ReferencedFile {
  path: string;
  fileIds: number[];
  type: FileType;
  /** size recorded at dump (CRIU records it for regular files not open O_WRONLY|O_APPEND) */
  size?: number;
  /** st_mode recorded at dump */
  mode?: number;
  uses: FileUse[];
  /** the file was deleted (or unreachable) at dump: CRIU saved it aside ('ghost' keeps its contents) */
  remap?: string;
  /** an external file (--external): `path` is its key, not a path */
  external?: boolean;
  /** kept by file handle (patched CRIU): a restore finds the file again after a rename */
  kept?: KeptByHandle;
  /** with checkFiles: compared with the filesystem now ('renamed': found through its handle at `renamedTo`) */
  status?: 'same' | 'renamed' | 'changed' | 'missing';
  renamedTo?: string;
  /** with status 'changed': what differs, e.g. "size 6B → 13B", "mode 0640 → 0600" */
  changes?: string[];
  now?: { size: number; mode: number };
}

export interface InspectReport {
  dir: string;
  criu: { imgVersion: number; criuRunId?: string; lsm?: string; networkLockMethod?: string; tcpClose: boolean; plugins: string[]; arch?: string };
  /** namespaces the tree does not share with the CRIU that dumped it: pid, net, ipc, uts, mnt, user, cgroup, time */
  namespaces: string[];
  pageSize: number;
  /** in tree order: parents before children */
  processes: ProcessReport[];
  /**
   * sums over the processes (a mapping two processes share counts for each, like VSZ), plus the
   * shared-anonymous pagemaps; pagesImageBytes counts each pages image once
   */
  totals: MemoryReport & { processes: number; threads: number };
  sockets: SocketReport[];
  /** sorted by path */
  files: ReferencedFile[];
  filesChecked: boolean;
  dumpStats?: DumpStats;
  restoreStats?: RestoreStats;
  notes: string[];
  /** a container's parts beside CRIU's images (set by whoever knows it is one: core/sets) */
  container?: { rootfsDiffBytes?: number; volumes: { target: string; file: string; bytes: number }[] };
}

// ---------------------------------------------------------------------------------------------

const hexAddr = (v: bigint): string => `0x${v.toString(16)}`;

export function protString(prot: number): string {
  return `${prot & PROT.READ ? 'r' : '-'}${prot & PROT.WRITE ? 'w' : '-'}${prot & PROT.EXEC ? 'x' : '-'}`;
}

export function fileTypeOf(mode: number | undefined): FileType {
  if (mode === undefined) return 'unknown';
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o020000:
      return 'char';
    case 0o060000:
      return 'block';
    case 0o010000:
      return 'fifo';
    case 0o140000:
      return 'socket';
    case 0o120000:
      return 'symlink';
    default:
      return 'unknown';
  }
}

const perms = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

const NS_CFLAGS: Record<number, string> = {
  0x00020000: 'mnt', 0x02000000: 'cgroup', 0x04000000: 'uts', 0x08000000: 'ipc',
  0x10000000: 'user', 0x20000000: 'pid', 0x40000000: 'net', 0x00000080: 'time',
};

const hostPort = (addr: string, port: number): string => (addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`);

function emptyMemory(): MemoryReport {
  return {
    vmaBytes: 0, privateAnonBytes: 0, sharedAnonBytes: 0, fileSharedBytes: 0, filePrivateBytes: 0,
    pagesDumped: 0, pagesBytes: 0, pagesLazy: 0, pagesInParent: 0, pagesImageBytes: 0,
  };
}

/** The page size: the pages images' sizes divided by their page counts when that is exact. */
function pageSizeOf(img: CheckpointImage): number {
  for (const pm of [...img.processes.map((p) => p.pagemap), ...img.shmem]) {
    if (!pm || !pm.presentPages || !pm.pagesFileBytes) continue;
    const ps = pm.pagesFileBytes / pm.presentPages;
    if (Number.isInteger(ps) && ps >= 4096 && (ps & (ps - 1)) === 0) return ps;
  }
  return 4096;
}

class Describer {
  private readonly byId = new Map<number, FileImage>();
  private readonly remapped = new Map<number, string>();
  private readonly memfds = new Map<number, MemfdInode>();
  private readonly ttys: CheckpointImage['ttys'];

  constructor(img: CheckpointImage) {
    for (const f of img.files) this.byId.set(f.id, f);
    for (const r of img.remaps) this.remapped.set(r.origId, r.type);
    for (const m of img.memfds) this.memfds.set(m.inodeId, m);
    this.ttys = img.ttys;
  }

  file(id: number): FileImage | undefined {
    return this.byId.get(id);
  }

  remap(id: number): string | undefined {
    return this.remapped.get(id);
  }

  /** A path for a file id: reg files, memfds, fifos and ttys have one. */
  path(id: number): string | undefined {
    const f = this.byId.get(id);
    if (!f) return undefined;
    switch (f.kind) {
      case 'reg':
        return f.path;
      case 'memfd': {
        const m = this.memfds.get(f.inodeId);
        return `memfd:${m?.name ?? f.inodeId}`;
      }
      case 'fifo':
      case 'tty':
        return f.regfId === undefined ? undefined : this.path(f.regfId);
      default:
        return undefined;
    }
  }

  describe(f: FileImage): string {
    switch (f.kind) {
      case 'reg': {
        const remap = this.remapped.get(f.id);
        // A ghost's contents are in the images: deleted at dump, or named by copy_files (--ghost-file).
        return remap ? `${f.path} (${remap === 'ghost' ? 'copy in the set' : `deleted; ${remap}`})` : f.path;
      }
      case 'inet': {
        const local = hostPort(f.src, f.srcPort);
        const remote = f.state === 'LISTEN' || (f.dstPort === 0 && /^(0\.0\.0\.0|::)?$/.test(f.dst)) ? '' : ` → ${hostPort(f.dst, f.dstPort)}`;
        const proto = f.proto === 'IP' ? `${f.family} ${f.sockType}` : f.family === 'INET6' ? `${f.proto}6` : f.proto;
        return `${proto} ${f.state} ${local}${remote}`;
      }
      case 'unix':
        return `unix ${f.sockType} ${f.state} ${f.name || '(unnamed)'}${f.peer ? ` peer ino ${f.peer}` : ''}`;
      case 'pipe':
        return `pipe:[${f.pipeId}]`;
      case 'fifo':
        return `fifo ${this.path(f.id) ?? `pipe:[${f.pipeId}]`}`;
      case 'eventfd':
        return `eventfd (counter ${f.counter})`;
      case 'eventpoll':
        return `eventpoll (${f.targets.length} target${f.targets.length === 1 ? '' : 's'})`;
      case 'signalfd':
        return `signalfd (mask 0x${f.sigmask.toString(16)})`;
      case 'timerfd':
        return `timerfd (clock ${f.clockid})`;
      case 'inotify':
        return `inotify (${f.watches} watch${f.watches === 1 ? '' : 'es'})`;
      case 'fanotify':
        return 'fanotify';
      case 'packet':
        return `packet socket (protocol 0x${f.protocol.toString(16)}, ifindex ${f.ifindex})`;
      case 'netlink':
        return `netlink socket (protocol ${f.protocol})`;
      case 'ns':
        return `${NS_CFLAGS[f.nsCflag] ?? 'ns'} namespace file`;
      case 'tun':
        return `tun ${f.netdev ?? '(detached)'}`;
      case 'ext':
        return 'external file';
      case 'tty': {
        const info = this.ttys.find((t) => t.id === f.ttyInfoId);
        const path = this.path(f.id);
        return `tty ${path ?? (info?.type === 'pty' && info.index !== undefined ? `/dev/pts/${info.index}` : (info?.type ?? `#${f.ttyInfoId}`))}`;
      }
      case 'memfd':
        return this.path(f.id)!;
      case 'bpfmap':
        return `bpf map ${f.mapId} (type ${f.mapType})`;
      case 'pidfd':
        return `pidfd (pid ${f.nspid})`;
      case 'unknown':
        return `${f.type} file`;
    }
  }
}

function socketOf(f: FileImage & { kind: 'inet' | 'unix' | 'netlink' | 'packet' }, desc: string): SocketReport {
  switch (f.kind) {
    case 'inet': {
      const s: SocketReport = { fileId: f.id, ino: f.ino, family: f.family, type: f.sockType, proto: f.proto, state: f.state, local: f.src, localPort: f.srcPort, desc, users: [] };
      if (f.state !== 'LISTEN' && f.dstPort) {
        s.remote = f.dst;
        s.remotePort = f.dstPort;
      }
      return s;
    }
    case 'unix':
      return { fileId: f.id, ino: f.ino, family: 'UNIX', type: f.sockType, state: f.state, ...(f.name ? { local: f.name } : {}), desc, users: [] };
    case 'netlink':
      return { fileId: f.id, ino: f.ino, family: 'NETLINK', type: 'RAW', proto: String(f.protocol), state: '', desc, users: [] };
    case 'packet':
      return { fileId: f.id, ino: 0, family: 'PACKET', type: 'RAW', proto: `0x${f.protocol.toString(16)}`, state: '', desc, users: [] };
  }
}

function memoryOf(p: ProcessImage, pageSize: number): MemoryReport {
  const m = emptyMemory();
  for (const v of p.mm?.vmas ?? []) {
    m.vmaBytes += v.size;
    const special = v.status & (VMA.VDSO | VMA.VVAR | VMA.VSYSCALL);
    if (v.status & VMA.ANON_PRIVATE && !special) m.privateAnonBytes += v.size;
    if (v.status & (VMA.ANON_SHARED | VMA.SYSVIPC)) m.sharedAnonBytes += v.size;
    if (v.status & VMA.FILE_SHARED) m.fileSharedBytes += v.size;
    if (v.status & VMA.FILE_PRIVATE) m.filePrivateBytes += v.size;
  }
  if (p.pagemap) {
    m.pagesDumped = p.pagemap.presentPages;
    m.pagesBytes = p.pagemap.presentPages * pageSize;
    m.pagesLazy = p.pagemap.lazyPages;
    m.pagesInParent = p.pagemap.parentPages;
    m.pagesImageBytes = p.pagemap.pagesFileBytes ?? 0;
  }
  return m;
}

const NS_KEYS = [
  ['pid', 'pidNsId'], ['net', 'netNsId'], ['ipc', 'ipcNsId'], ['uts', 'utsNsId'],
  ['mnt', 'mntNsId'], ['user', 'userNsId'], ['cgroup', 'cgroupNsId'], ['time', 'timeNsId'],
] as const;

function modeChanges(f: ReferencedFile, mode: number): string[] {
  if (f.mode === undefined || mode === f.mode) return [];
  const out: string[] = [];
  if ((mode & 0o170000) !== (f.mode & 0o170000)) out.push(`type ${f.type} → ${fileTypeOf(mode)}`);
  if ((mode & 0o7777) !== (f.mode & 0o7777)) out.push(`mode ${perms(f.mode)} → ${perms(mode)}`);
  return out;
}

/** mtime in nanoseconds, as a readable UTC time */
function fmtNs(ns: string): string {
  return new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
}

/**
 * With a handle, a file is followed the way the patched CRIU's restore follows it: renamed
 * (the handle opens it elsewhere), replaced (the path names another inode and the handle is
 * stale), changed (its mtime moved). Returns false when the handle cannot tell (then stat does).
 */
async function checkByHandle(f: ReferencedFile, kept: KeptByHandle): Promise<boolean> {
  const where = await locateByHandle(f.path, kept);
  if (where.kind === 'unknown') return false;
  const changes: string[] = [];
  if (where.kind === 'stale') {
    const st = await stat(f.path).catch(() => undefined);
    if (st) {
      f.status = 'changed';
      f.changes = [`replaced by another file (inode ${st.ino}${kept.ino !== undefined ? `, was ${kept.ino}` : ''})`];
      f.now = { size: st.size, mode: st.mode };
    } else f.status = 'missing';
    return true;
  }
  if (where.deleted) {
    f.status = 'missing';
    f.changes = ['deleted, but still open somewhere (a restore can still reach it through its handle)'];
    return true;
  }
  if (f.size !== undefined && where.size !== f.size) changes.push(`size ${f.size}B → ${where.size}B`);
  changes.push(...modeChanges(f, where.mode));
  f.now = { size: where.size, mode: where.mode };
  if (kept.mtimeNs !== undefined && where.mtimeNs !== kept.mtimeNs) changes.push(`mtime ${fmtNs(kept.mtimeNs)} → ${fmtNs(where.mtimeNs)}`);
  if (where.path !== f.path) f.renamedTo = where.path;
  f.status = changes.length ? 'changed' : where.path !== f.path ? 'renamed' : 'same';
  if (changes.length) f.changes = where.path !== f.path ? [`renamed to ${where.path}`, ...changes] : changes;
  return true;
}

async function checkFile(f: ReferencedFile): Promise<void> {
  if (f.kept && (await checkByHandle(f, f.kept))) return;
  try {
    const st = await stat(f.path);
    const changes: string[] = [];
    if (f.size !== undefined && st.size !== f.size) changes.push(`size ${f.size}B → ${st.size}B`);
    changes.push(...modeChanges(f, st.mode));
    f.now = { size: st.size, mode: st.mode };
    f.status = changes.length ? 'changed' : 'same';
    if (changes.length) f.changes = changes;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      f.status = 'missing';
    } else {
      f.status = 'changed';
      f.changes = [`cannot stat it now: ${code ?? (e as Error).message}`];
    }
  }
}

/** Builds the report from a model already read (pure but for checkFiles' stat calls). */
export async function buildReport(img: CheckpointImage, opts: InspectOptions = {}): Promise<InspectReport> {
  const d = new Describer(img);
  const pageSize = pageSizeOf(img);
  const notes: string[] = [];

  // referenced files, keyed by path
  const files = new Map<string, ReferencedFile>();
  const useKeys = new Set<string>();
  const use = (fileId: number, u: FileUse): void => {
    const f = d.file(fileId);
    if (!f || f.kind !== 'reg') return;
    let rf = files.get(f.path);
    if (!rf) {
      rf = { path: f.path, fileIds: [], type: fileTypeOf(f.mode), uses: [] };
      if (f.size !== undefined) rf.size = f.size;
      if (f.mode !== undefined) rf.mode = f.mode;
      const remap = d.remap(f.id);
      if (remap) rf.remap = remap;
      if (f.external) rf.external = true;
      if (f.kept) rf.kept = f.kept;
      files.set(f.path, rf);
    }
    if (!rf.fileIds.includes(f.id)) rf.fileIds.push(f.id);
    if (rf.size === undefined && f.size !== undefined) rf.size = f.size;
    const key = `${f.path}\0${u.pid}\0${u.as}\0${u.as === 'fd' ? u.fd : ''}`;
    if (!useKeys.has(key)) {
      useKeys.add(key);
      rf.uses.push(u);
    }
  };

  const sockets = new Map<number, SocketReport>();
  const pids = new Set(img.processes.map((p) => p.pid));
  const processes: ProcessReport[] = img.processes.map((p) => {
    const openFiles: OpenFileReport[] = p.fds.map((fd) => {
      const f = d.file(fd.fileId);
      if (!f) return { fd: fd.fd, fileId: fd.fileId, kind: 'missing' as const, desc: `${fd.type} file #${fd.fileId} (not in files.img)` };
      const r: OpenFileReport = { fd: fd.fd, fileId: fd.fileId, kind: f.kind, desc: d.describe(f) };
      const path = d.path(f.id);
      if (path !== undefined) r.path = path;
      if (f.kind === 'reg') r.access = (['r', 'w', 'rw'] as const)[f.flags & 3] ?? 'rw';
      use(fd.fileId, { pid: p.pid, as: 'fd', fd: fd.fd });
      if (f.kind === 'inet' || f.kind === 'unix' || f.kind === 'netlink' || f.kind === 'packet') {
        let s = sockets.get(f.id);
        if (!s) {
          s = socketOf(f, r.desc);
          sockets.set(f.id, s);
        }
        s.users.push({ pid: p.pid, fd: fd.fd });
      }
      return r;
    });

    const mappings: MappingReport[] = [];
    for (const v of p.mm?.vmas ?? []) {
      if (!(v.status & (VMA.FILE_SHARED | VMA.FILE_PRIVATE))) continue;
      const shared = (v.status & VMA.FILE_SHARED) !== 0;
      const path = d.path(v.shmid) ?? `file #${v.shmid}`;
      mappings.push({ path, start: hexAddr(v.start), end: hexAddr(v.end), size: v.size, offset: Number(v.pgoff), shared, prot: protString(v.prot), kind: v.kind });
      use(v.shmid, { pid: p.pid, as: shared ? 'mmap-shared' : 'mmap-private' });
    }
    if (p.mm) use(p.mm.exeFileId, { pid: p.pid, as: 'exe' });
    if (p.fs) {
      use(p.fs.cwdId, { pid: p.pid, as: 'cwd' });
      use(p.fs.rootId, { pid: p.pid, as: 'root' });
    }

    const r: ProcessReport = {
      pid: p.pid,
      ppid: p.ppid,
      pgid: p.pgid,
      sid: p.sid,
      comm: p.core?.comm ?? '?',
      state: p.core?.state ?? 'unknown',
      exitCode: p.core?.exitCode ?? 0,
      threads: p.threads.length,
      threadIds: p.threads.map((t) => t.tid),
      children: img.processes.filter((c) => c.ppid === p.pid && c.pid !== p.pid).map((c) => c.pid),
      memory: memoryOf(p, pageSize),
      openFiles,
      mappings,
    };
    const exe = p.mm ? d.path(p.mm.exeFileId) : undefined;
    if (exe) r.exe = exe;
    const cwd = p.fs ? d.path(p.fs.cwdId) : undefined;
    if (cwd) r.cwd = cwd;
    const root = p.fs ? d.path(p.fs.rootId) : undefined;
    if (root) r.root = root;
    if (p.core?.creds) r.uid = p.core.creds.uid;
    if (p.pagemap) r.pagesImage = p.pagemap.pagesFile;
    return r;
  });
  const orphans = img.processes.filter((p) => p.ppid !== 0 && !pids.has(p.ppid)).length;
  if (orphans > 0) notes.push(`${orphans} processes have a parent outside the checkpoint`);

  // totals; a pages image shared by several pagemaps is counted once
  const totals = { ...emptyMemory(), processes: processes.length, threads: 0 };
  for (const p of processes) {
    totals.threads += p.threads;
    for (const k of Object.keys(p.memory) as (keyof MemoryReport)[]) if (k !== 'pagesImageBytes') totals[k] += p.memory[k];
  }
  const pagesFiles = new Map<string, number>();
  for (const pm of [...img.processes.map((p) => p.pagemap), ...img.shmem]) {
    if (pm) pagesFiles.set(pm.pagesFile, pm.pagesFileBytes ?? 0);
  }
  for (const pm of img.shmem) {
    totals.pagesDumped += pm.presentPages;
    totals.pagesBytes += pm.presentPages * pageSize;
    totals.pagesInParent += pm.parentPages;
  }
  totals.pagesImageBytes = [...pagesFiles.values()].reduce((a, b) => a + b, 0);
  if (totals.pagesInParent) notes.push(`${totals.pagesInParent} pages are in the parent checkpoint (incremental dump)`);
  for (const pm of [...img.processes.map((p) => p.pagemap), ...img.shmem]) {
    if (pm && pm.presentPages && pm.pagesFileBytes === undefined) notes.push(`${pm.pagesFile} is missing (${pm.file} says it holds ${pm.presentPages} pages)`);
  }

  // namespaces: the root task's ids against CRIU's own (inventory root_ids)
  const namespaces: string[] = [];
  const rootIds = img.inventory.rootIds;
  const rootTask = img.processes[0]?.ids;
  if (rootIds && rootTask) {
    for (const [name, key] of NS_KEYS) {
      if (rootIds[key] !== undefined && rootTask[key] !== undefined && rootIds[key] !== rootTask[key]) namespaces.push(name);
    }
  }
  if (namespaces.includes('mnt')) notes.push('the tree has its own mount namespace: file paths are relative to its root');

  const referenced = [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const checkFiles = opts.checkFiles ?? false;
  if (checkFiles) {
    await Promise.all(referenced.filter((f) => !f.external && !f.remap && f.path.startsWith('/')).map(checkFile));
  }

  const criu: InspectReport['criu'] = { imgVersion: img.inventory.imgVersion, tcpClose: img.inventory.tcpClose, plugins: img.inventory.plugins };
  if (img.inventory.criuRunId) criu.criuRunId = img.inventory.criuRunId;
  if (img.inventory.lsm) criu.lsm = img.inventory.lsm;
  if (img.inventory.networkLockMethod) criu.networkLockMethod = img.inventory.networkLockMethod;
  const arch = img.processes[0]?.core?.arch;
  if (arch) criu.arch = arch;

  const report: InspectReport = {
    dir: img.dir,
    criu,
    namespaces,
    pageSize,
    processes,
    totals,
    sockets: [...sockets.values()],
    files: referenced,
    filesChecked: checkFiles,
    notes,
  };
  if (img.dumpStats) report.dumpStats = img.dumpStats;
  if (img.restoreStats) report.restoreStats = img.restoreStats;
  return report;
}

/** Reads a CRIU images directory and reports on it (see InspectReport). */
export async function inspectImages(dir: string, opts: InspectOptions = {}): Promise<InspectReport> {
  return buildReport(await readImageDir(dir), opts);
}
