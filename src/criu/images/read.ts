// Reads a CRIU images directory into one typed model: the inventory, the process tree, and per
// process its core (comm, state), kernel-object ids, memory map, pagemap and file descriptors;
// the files those descriptors and mappings refer to; and the dump/restore statistics.
//
// Which image holds what (CRIU 4.1.1, criu/image-desc.c): core-<tid>, ids-<pid>, fs-<pid>,
// mm-<pid> and pagemap-<pid> are named by (namespace-virtual) pid, fdinfo-<files_id> by the id
// of the fd table in ids-<pid>, pages-<pages_id> by the id in the pagemap's head.
import { stat } from 'node:fs/promises';
import { SocketAddress } from 'node:net';
import { join } from 'node:path';
import { CkptError } from '../../errors.js';
import {
  fdTypeName, IMG, LSM_TYPE, MAGIC, MAP, NETWORK_LOCK, PE, PRE_DUMP_MODE, REMAP_TYPE, SK_FAMILY, SK_PROTO,
  SK_STATE, SK_TYPE, TASK_STATE, TTY_TYPE, VMA, type FdTypeName,
} from './constants.js';
import { corrupt, CORRUPT_HINT, decodeAll, decodeEntry, decodeSingle, readRawImage, type RawImage } from './container.js';
import type { Message, Schema } from './protobuf.js';
import * as S from './schemas.js';
import { readDumpStats, readRestoreStats, type DumpStats, type RestoreStats } from './stats.js';

// ---------------------------------------------------------------------------------------------
// The model

export interface TaskIds {
  vmId: number;
  filesId: number;
  fsId: number;
  sighandId: number;
  pidNsId?: number;
  netNsId?: number;
  ipcNsId?: number;
  utsNsId?: number;
  mntNsId?: number;
  userNsId?: number;
  cgroupNsId?: number;
  timeNsId?: number;
}

export interface Inventory {
  imgVersion: number;
  fdinfoPerId: boolean;
  nsPerId: boolean;
  /** the ids of CRIU itself when it dumped: the "host" the tree's namespaces are compared with */
  rootIds?: TaskIds;
  rootCgSet?: number;
  lsm?: string;
  /** /proc/uptime at a pre-dump (memory tracking), in µs */
  dumpUptimeUs?: number;
  preDumpMode?: string;
  tcpClose: boolean;
  networkLockMethod?: string;
  plugins: string[];
  criuRunId?: string;
}

export type TaskState = 'alive' | 'dead' | 'stopped' | 'zombie' | `unknown(${number})`;

export interface Creds {
  uid: number;
  gid: number;
  euid: number;
  egid: number;
}

export interface TaskCore {
  arch: string;
  state: TaskState;
  exitCode: number;
  comm: string;
  personality: number;
  flags: number;
  oomScoreAdj?: number;
  childSubreaper?: boolean;
  creds?: Creds;
}

export interface ThreadImage {
  tid: number;
  /** the thread's own name (core-<tid>.img); absent when the image is */
  comm?: string;
}

/**
 * What a mapping is, from its VMA status bits (criu/include/image.h), most specific first:
 * vsyscall, vdso, vvar, stack, shadow-stack, aio ring, SysV shm, socket, memfd, file-shared,
 * file-private, heap, anon-shared, anon-private. CRIU 4.1 never sets VMA_AREA_STACK: a stack is
 * a MAP_GROWSDOWN mapping (what the kernel's [stack] is) or the one holding mm_start_stack.
 */
export type VmaKind =
  | 'vsyscall' | 'vdso' | 'vvar' | 'stack' | 'shadow-stack' | 'aio' | 'sysvipc' | 'socket' | 'memfd'
  | 'file-shared' | 'file-private' | 'heap' | 'anon-shared' | 'anon-private' | 'other';

export interface Vma {
  start: bigint;
  end: bigint;
  /** end - start, in bytes */
  size: number;
  pgoff: bigint;
  /** a file id (files.img) for file mappings, the shmem id for shared anonymous ones */
  shmid: number;
  prot: number;
  flags: number;
  status: number;
  fd: number;
  kind: VmaKind;
}

export interface MmImage {
  exeFileId: number;
  startStack: bigint;
  startBrk: bigint;
  brk: bigint;
  vmas: Vma[];
}

export interface PagemapRun {
  vaddr: bigint;
  nrPages: number;
  /** PE_* bits; old images without flags are given PE_PRESENT (or PE_PARENT), as CRIU does */
  flags: number;
}

export interface PagemapImage {
  file: string;
  pagesId: number;
  runs: PagemapRun[];
  /** pages stored in this dump's pages image (PE_PRESENT) */
  presentPages: number;
  /** of those, the ones a lazy restore may fetch later (PE_LAZY) */
  lazyPages: number;
  /** pages left in the parent (pre-dump) images (PE_PARENT) */
  parentPages: number;
  pagesFile: string;
  /** size of pages-<id>.img on disk; undefined when it is absent */
  pagesFileBytes?: number;
}

export interface FdInfo {
  fd: number;
  fileId: number;
  type: FdTypeName;
  flags: number;
}

export interface ProcessImage {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  threads: ThreadImage[];
  core?: TaskCore;
  ids?: TaskIds;
  fs?: { cwdId: number; rootId: number; umask?: number };
  mm?: MmImage;
  pagemap?: PagemapImage;
  fds: FdInfo[];
}

interface FileBase {
  id: number;
  type: FdTypeName;
}

/**
 * How ckpt's patched CRIU (0010) keeps a regular file: a file handle, so a renamed file is found
 * again and a replaced one is told apart, and inode, generation and mtime to tell a changed one.
 */
export interface KeptByHandle {
  handleType: number;
  /** the handle's bytes, hex */
  handle: string;
  ino?: number;
  generation?: number;
  /** decimal: a bigint would not survive JSON */
  mtimeNs?: string;
}

function keptByHandle(r: { handle?: { bytes: number; type: number; handle: bigint[] }; ino?: bigint; generation?: number; mtime_ns?: bigint }): KeptByHandle | undefined {
  if (!r.handle) return undefined;
  // fh_entry carries the handle as little-endian 64-bit words, `bytes` of them meaningful.
  const buf = Buffer.alloc(r.handle.handle.length * 8);
  r.handle.handle.forEach((w, i) => buf.writeBigUInt64LE(BigInt.asUintN(64, w), i * 8));
  return {
    handleType: r.handle.type,
    handle: buf.subarray(0, r.handle.bytes).toString('hex'),
    ...(r.ino !== undefined ? { ino: Number(r.ino) } : {}),
    ...(r.generation !== undefined ? { generation: r.generation } : {}),
    ...(r.mtime_ns !== undefined ? { mtimeNs: r.mtime_ns.toString() } : {}),
  };
}

export type FileImage =
  | (FileBase & { kind: 'reg'; path: string; flags: number; pos: number; size?: number; mode?: number; mntId?: number; external: boolean; kept?: KeptByHandle })
  | (FileBase & {
      kind: 'inet'; ino: number; family: string; sockType: string; proto: string; state: string;
      src: string; srcPort: number; dst: string; dstPort: number; backlog: number; v6only?: boolean;
    })
  | (FileBase & { kind: 'unix'; ino: number; sockType: string; state: string; name: string; peer: number; backlog: number; deleted?: boolean })
  | (FileBase & { kind: 'pipe'; pipeId: number; flags: number })
  | (FileBase & { kind: 'fifo'; pipeId: number; regfId?: number })
  | (FileBase & { kind: 'eventfd'; counter: number; flags: number })
  | (FileBase & { kind: 'eventpoll'; targets: number[] })
  | (FileBase & { kind: 'signalfd'; sigmask: bigint })
  | (FileBase & { kind: 'timerfd'; clockid: number })
  | (FileBase & { kind: 'inotify'; watches: number })
  | (FileBase & { kind: 'fanotify' })
  | (FileBase & { kind: 'packet'; protocol: number; ifindex: number })
  | (FileBase & { kind: 'netlink'; ino: number; protocol: number; portid: number })
  | (FileBase & { kind: 'ns'; nsId: number; nsCflag: number })
  | (FileBase & { kind: 'tun'; netdev?: string })
  | (FileBase & { kind: 'ext' })
  | (FileBase & { kind: 'tty'; ttyInfoId: number; regfId?: number })
  | (FileBase & { kind: 'memfd'; inodeId: number })
  | (FileBase & { kind: 'bpfmap'; mapType: number; mapId: number })
  | (FileBase & { kind: 'pidfd'; nspid: number })
  | (FileBase & { kind: 'unknown' });
export type FileKind = FileImage['kind'];

export interface Remap {
  origId: number;
  remapId: number;
  type: 'linked' | 'ghost' | 'procfs' | `unknown(${number})`;
}

export interface TtyInfo {
  id: number;
  type: string;
  index?: number;
  sid: number;
  pgrp: number;
  rdev: number;
}

export interface MemfdInode {
  inodeId: number;
  name: string;
  size: number;
  mode?: number;
}

export interface CheckpointImage {
  dir: string;
  inventory: Inventory;
  /** in pstree.img order: every parent comes before its children */
  processes: ProcessImage[];
  files: FileImage[];
  remaps: Remap[];
  ttys: TtyInfo[];
  memfds: MemfdInode[];
  /** pagemap-shmem-<shmid>.img of shared anonymous mappings */
  shmem: PagemapImage[];
  dumpStats?: DumpStats;
  restoreStats?: RestoreStats;
}

// ---------------------------------------------------------------------------------------------
// Conversions

const num = (v: bigint): number => Number(v);

function ids(m: Message<typeof S.TaskKobjIdsEntry>): TaskIds {
  const out: TaskIds = { vmId: m.vm_id, filesId: m.files_id, fsId: m.fs_id, sighandId: m.sighand_id };
  if (m.pid_ns_id !== undefined) out.pidNsId = m.pid_ns_id;
  if (m.net_ns_id !== undefined) out.netNsId = m.net_ns_id;
  if (m.ipc_ns_id !== undefined) out.ipcNsId = m.ipc_ns_id;
  if (m.uts_ns_id !== undefined) out.utsNsId = m.uts_ns_id;
  if (m.mnt_ns_id !== undefined) out.mntNsId = m.mnt_ns_id;
  if (m.user_ns_id !== undefined) out.userNsId = m.user_ns_id;
  if (m.cgroup_ns_id !== undefined) out.cgroupNsId = m.cgroup_ns_id;
  if (m.time_ns_id !== undefined) out.timeNsId = m.time_ns_id;
  return out;
}

/** Drops undefined members, so the model prints (and compares) without them. */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function inventory(m: S.InventoryMsg): Inventory {
  return compact({
    imgVersion: m.img_version,
    fdinfoPerId: m.fdinfo_per_id ?? false,
    nsPerId: m.ns_per_id ?? false,
    rootIds: m.root_ids ? ids(m.root_ids) : undefined,
    rootCgSet: m.root_cg_set,
    lsm: m.lsmtype === undefined ? undefined : (LSM_TYPE[m.lsmtype] ?? String(m.lsmtype)),
    dumpUptimeUs: m.dump_uptime === undefined ? undefined : num(m.dump_uptime),
    preDumpMode: m.pre_dump_mode === undefined ? undefined : (PRE_DUMP_MODE[m.pre_dump_mode] ?? String(m.pre_dump_mode)),
    tcpClose: m.tcp_close ?? false,
    networkLockMethod: m.network_lock_method === undefined ? undefined : (NETWORK_LOCK[m.network_lock_method] ?? String(m.network_lock_method)),
    plugins: m.plugins_entry?.plugins ?? [],
    criuRunId: m.dump_criu_run_id,
  });
}

const ARCH = ['unknown', 'x86_64', 'arm', 'aarch64', 'ppc64', 's390', 'mips', 'loongarch64', 'riscv64'];

function taskState(n: number): TaskState {
  return TASK_STATE[n] ?? `unknown(${n})`;
}

export function vmaKind(status: number, flags = 0, holdsStackStart = false): VmaKind {
  const has = (bit: number): boolean => (status & bit) !== 0;
  if (has(VMA.VSYSCALL)) return 'vsyscall';
  if (has(VMA.VDSO)) return 'vdso';
  if (has(VMA.VVAR)) return 'vvar';
  if (has(VMA.STACK) || (has(VMA.ANON_PRIVATE) && (flags & MAP.GROWSDOWN || holdsStackStart))) return 'stack';
  if (has(VMA.SHSTK)) return 'shadow-stack';
  if (has(VMA.AIORING)) return 'aio';
  if (has(VMA.SYSVIPC)) return 'sysvipc';
  if (has(VMA.SOCKET)) return 'socket';
  if (has(VMA.MEMFD)) return 'memfd';
  if (has(VMA.FILE_SHARED)) return 'file-shared';
  if (has(VMA.FILE_PRIVATE)) return 'file-private';
  if (has(VMA.HEAP)) return 'heap';
  if (has(VMA.ANON_SHARED)) return 'anon-shared';
  if (has(VMA.ANON_PRIVATE)) return 'anon-private';
  return 'other';
}

function vma(m: S.VmaMsg, startStack: bigint): Vma {
  return {
    start: m.start,
    end: m.end,
    size: num(m.end - m.start),
    pgoff: m.pgoff,
    shmid: num(m.shmid),
    prot: m.prot,
    flags: m.flags,
    status: m.status,
    fd: num(m.fd),
    kind: vmaKind(m.status, m.flags, m.start <= startStack && startStack < m.end),
  };
}

/** An address CRIU stores as u32 words in network byte order, as the kernel keeps them. */
export function formatAddr(words: number[], family: number): string {
  const bytes = new Uint8Array(words.length * 4);
  const dv = new DataView(bytes.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w, true));
  if (family === 2 || words.length === 1) return Array.from(bytes.subarray(0, 4)).join('.');
  if (words.length === 0) return '';
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  const full = groups.join(':');
  try {
    return new SocketAddress({ address: full, family: 'ipv6' }).address;
  } catch {
    return full;
  }
}

/** A unix socket's name: a path, "@name" for the abstract namespace, "" when unbound. */
export function unixName(name: Uint8Array, dir?: string): string {
  if (name.length === 0) return '';
  if (name[0] === 0) return '@' + Buffer.from(name.subarray(1)).toString('utf8').replace(/\0/g, '@');
  const s = Buffer.from(name).toString('utf8').replace(/\0+$/, '');
  return dir && !s.startsWith('/') ? `${dir.replace(/\/$/, '')}/${s}` : s;
}

function file(m: S.FileMsg, at: RawImage, i: number): FileImage {
  const base = { id: m.id, type: fdTypeName(m.type) };
  const missing = (member: string): never => {
    throw corrupt(at.file, `entry ${i} is a ${base.type} file without its ${member} member`);
  };
  switch (base.type) {
    case 'REG': {
      const r = m.reg ?? missing('reg');
      return compact({
        ...base, kind: 'reg' as const, path: r.name, flags: r.flags, pos: num(r.pos),
        size: r.size === undefined ? undefined : num(r.size), mode: r.mode, mntId: r.mnt_id, external: r.ext ?? false,
        kept: keptByHandle(r),
      });
    }
    case 'INETSK': {
      const s = m.isk ?? missing('isk');
      return compact({
        ...base, kind: 'inet' as const, ino: s.ino,
        family: SK_FAMILY[s.family] ?? String(s.family), sockType: SK_TYPE[s.type] ?? String(s.type),
        proto: SK_PROTO[s.proto] ?? String(s.proto), state: SK_STATE[s.state] ?? String(s.state),
        src: formatAddr(s.src_addr, s.family), srcPort: s.src_port, dst: formatAddr(s.dst_addr, s.family), dstPort: s.dst_port,
        backlog: s.backlog, v6only: s.v6only,
      });
    }
    case 'UNIXSK': {
      const s = m.usk ?? missing('usk');
      return compact({
        ...base, kind: 'unix' as const, ino: s.ino, sockType: SK_TYPE[s.type] ?? String(s.type), state: SK_STATE[s.state] ?? String(s.state),
        name: unixName(s.name, s.name_dir), peer: s.peer, backlog: s.backlog, deleted: s.deleted,
      });
    }
    case 'PIPE': {
      const p = m.pipe ?? missing('pipe');
      return { ...base, kind: 'pipe', pipeId: p.pipe_id, flags: p.flags };
    }
    case 'FIFO': {
      const f = m.fifo ?? missing('fifo');
      return compact({ ...base, kind: 'fifo' as const, pipeId: f.pipe_id, regfId: f.regf_id });
    }
    case 'EVENTFD': {
      const e = m.efd ?? missing('efd');
      return { ...base, kind: 'eventfd', counter: num(e.counter), flags: e.flags };
    }
    case 'EVENTPOLL': {
      const e = m.epfd ?? missing('epfd');
      return { ...base, kind: 'eventpoll', targets: e.tfd.map((t) => t.tfd) };
    }
    case 'SIGNALFD': {
      const e = m.sgfd ?? missing('sgfd');
      return { ...base, kind: 'signalfd', sigmask: e.sigmask };
    }
    case 'TIMERFD': {
      const e = m.tfd ?? missing('tfd');
      return { ...base, kind: 'timerfd', clockid: e.clockid };
    }
    case 'INOTIFY':
      return { ...base, kind: 'inotify', watches: (m.ify ?? missing('ify')).wd.length };
    case 'FANOTIFY':
      return { ...base, kind: 'fanotify' };
    case 'PACKETSK': {
      const e = m.psk ?? missing('psk');
      return { ...base, kind: 'packet', protocol: e.protocol, ifindex: e.ifindex };
    }
    case 'NETLINKSK': {
      const e = m.nlsk ?? missing('nlsk');
      return { ...base, kind: 'netlink', ino: e.ino, protocol: e.protocol, portid: e.portid };
    }
    case 'NS': {
      const e = m.nsf ?? missing('nsf');
      return { ...base, kind: 'ns', nsId: e.ns_id, nsCflag: e.ns_cflag };
    }
    case 'TUNF':
      return compact({ ...base, kind: 'tun' as const, netdev: m.tunf?.netdev });
    case 'EXT':
      return { ...base, kind: 'ext' };
    case 'TTY': {
      const e = m.tty ?? missing('tty');
      return compact({ ...base, kind: 'tty' as const, ttyInfoId: e.tty_info_id, regfId: e.regf_id });
    }
    case 'MEMFD': {
      const e = m.memfd ?? missing('memfd');
      return { ...base, kind: 'memfd', inodeId: e.inode_id };
    }
    case 'BPFMAP': {
      const e = m.bpf ?? missing('bpf');
      return { ...base, kind: 'bpfmap', mapType: e.map_type, mapId: e.map_id };
    }
    case 'PIDFD': {
      const e = m.pidfd ?? missing('pidfd');
      return { ...base, kind: 'pidfd', nspid: e.nspid };
    }
    default:
      return { ...base, kind: 'unknown' };
  }
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/** pagemap-*.img: a pagemap_head, then pagemap_entry runs. */
async function readPagemap(dir: string, name: string): Promise<PagemapImage | undefined> {
  const img = await readRawImage(join(dir, name), MAGIC.PAGEMAP);
  if (!img) return undefined;
  const head = decodeSingle(img, S.PagemapHead, 'pagemap_head');
  const runs: PagemapRun[] = [];
  let presentPages = 0;
  let lazyPages = 0;
  let parentPages = 0;
  for (const e of decodeAll(img, S.PagemapEntry, 'pagemap_entry', 1)) {
    // criu/pagemap.c init_compat_pagemap_entry(): images from before `flags` existed
    let flags = e.flags ?? 0;
    if (e.in_parent) flags |= PE.PARENT;
    else if (e.flags === undefined) flags = PE.PRESENT;
    runs.push({ vaddr: e.vaddr, nrPages: e.nr_pages, flags });
    if (flags & PE.PRESENT) presentPages += e.nr_pages;
    if (flags & PE.PRESENT && flags & PE.LAZY) lazyPages += e.nr_pages;
    if (flags & PE.PARENT) parentPages += e.nr_pages;
  }
  const pagesFile = IMG.pages(head.pages_id);
  const pagesFileBytes = await fileSize(join(dir, pagesFile));
  return compact({ file: name, pagesId: head.pages_id, runs, presentPages, lazyPages, parentPages, pagesFile, pagesFileBytes });
}

async function readCore(dir: string, tid: number): Promise<Message<typeof S.CoreEntry> | undefined> {
  const img = await readRawImage(join(dir, IMG.core(tid)), MAGIC.CORE);
  return img ? decodeSingle(img, S.CoreEntry, 'core_entry') : undefined;
}

async function readProcess(dir: string, p: Message<typeof S.PstreeEntry>, fdinfoCache: Map<number, Promise<FdInfo[]>>): Promise<ProcessImage> {
  const out: ProcessImage = { pid: p.pid, ppid: p.ppid, pgid: p.pgid, sid: p.sid, threads: [], fds: [] };
  const tids = p.threads.length ? p.threads : [p.pid];
  const cores = await Promise.all(tids.map((tid) => readCore(dir, tid)));
  tids.forEach((tid, i) => out.threads.push(compact({ tid, comm: cores[i]?.thread_core?.comm ?? (tid === p.pid ? cores[i]?.tc?.comm : undefined) })));

  const core = cores[tids.indexOf(p.pid)] ?? (await readCore(dir, p.pid));
  if (core?.tc) {
    const tc = core.tc;
    const cr = core.thread_core?.creds;
    out.core = compact({
      arch: ARCH[core.mtype] ?? String(core.mtype),
      state: taskState(tc.task_state),
      exitCode: tc.exit_code,
      comm: tc.comm,
      personality: tc.personality,
      flags: tc.flags,
      oomScoreAdj: tc.oom_score_adj,
      childSubreaper: tc.child_subreaper,
      creds: cr ? { uid: cr.uid, gid: cr.gid, euid: cr.euid, egid: cr.egid } : undefined,
    });
  }

  const idsImg = await readRawImage(join(dir, IMG.ids(p.pid)), MAGIC.IDS);
  if (idsImg) out.ids = ids(decodeSingle(idsImg, S.TaskKobjIdsEntry, 'task_kobj_ids_entry'));
  else if (core?.ids) out.ids = ids(core.ids); // images from before ids-<pid>.img

  const fsImg = await readRawImage(join(dir, IMG.fs(p.pid)), MAGIC.FS);
  if (fsImg) {
    const f = decodeSingle(fsImg, S.FsEntry, 'fs_entry');
    out.fs = compact({ cwdId: f.cwd_id, rootId: f.root_id, umask: f.umask });
  }

  const mmImg = await readRawImage(join(dir, IMG.mm(p.pid)), MAGIC.MM);
  if (mmImg) {
    const m = decodeSingle(mmImg, S.MmEntry, 'mm_entry');
    out.mm = { exeFileId: m.exe_file_id, startStack: m.mm_start_stack, startBrk: m.mm_start_brk, brk: m.mm_brk, vmas: m.vmas.map((v) => vma(v, m.mm_start_stack)) };
  }

  const pm = await readPagemap(dir, IMG.pagemap(p.pid));
  if (pm) out.pagemap = pm;

  if (out.ids) {
    const filesId = out.ids.filesId;
    let fds = fdinfoCache.get(filesId);
    if (!fds) {
      fds = (async () => {
        const img = await readRawImage(join(dir, IMG.fdinfo(filesId)), MAGIC.FDINFO);
        if (!img) return [];
        return decodeAll(img, S.FdinfoEntry, 'fdinfo_entry').map((f) => ({ fd: f.fd, fileId: f.id, type: fdTypeName(f.type), flags: f.flags }));
      })();
      fdinfoCache.set(filesId, fds);
    }
    out.fds = (await fds).slice().sort((a, b) => a.fd - b.fd);
  }
  return out;
}

/** files.img, or the per-kind images CRIU wrote before it (reg-files, inetsk, unixsk, pipes). */
async function readFiles(dir: string): Promise<FileImage[]> {
  const img = await readRawImage(join(dir, IMG.files), MAGIC.FILES);
  if (img) return img.entries.map((_, i) => file(decodeEntry(img, i, S.FileEntry, 'file_entry'), img, i));

  const out: FileImage[] = [];
  const legacy = async (name: string, magic: number, type: number, member: 'reg' | 'isk' | 'usk' | 'pipe', schema: Schema): Promise<void> => {
    const li = await readRawImage(join(dir, name), magic);
    if (!li) return;
    li.entries.forEach((_, i) => {
      const e = decodeEntry(li, i, schema, member) as { id: number };
      out.push(file({ type, id: e.id, [member]: e } as unknown as S.FileMsg, li, i));
    });
  };
  await legacy(IMG.legacy.regFiles, MAGIC.REG_FILES, 1, 'reg', S.RegFileEntry);
  await legacy(IMG.legacy.pipes, MAGIC.PIPES, 2, 'pipe', S.PipeEntry);
  await legacy(IMG.legacy.inetsk, MAGIC.INETSK, 4, 'isk', S.InetSkEntry);
  await legacy(IMG.legacy.unixsk, MAGIC.UNIXSK, 5, 'usk', S.UnixSkEntry);
  return out;
}

/** Reads everything ckpt shows about a checkpoint from a CRIU images directory. */
export async function readImageDir(dir: string): Promise<CheckpointImage> {
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw new CkptError('STORE_CORRUPT', `${dir} is not a CRIU images directory: ${(e as Error).message}`, { cause: e, hint: CORRUPT_HINT });
  }
  const invImg = await readRawImage(join(dir, IMG.inventory), MAGIC.INVENTORY);
  if (!invImg) {
    throw new CkptError('STORE_CORRUPT', `${dir} is not a CRIU images directory: it has no ${IMG.inventory}`, { hint: CORRUPT_HINT });
  }
  const inv = inventory(decodeSingle(invImg, S.InventoryEntry, 'inventory_entry'));

  const treeImg = await readRawImage(join(dir, IMG.pstree), MAGIC.PSTREE);
  if (!treeImg) throw corrupt(join(dir, IMG.pstree), 'the file is missing');
  const tree = decodeAll(treeImg, S.PstreeEntry, 'pstree_entry');
  if (tree.length === 0) throw corrupt(treeImg.file, 'no processes in it');

  const fdinfoCache = new Map<number, Promise<FdInfo[]>>();
  const processes = await Promise.all(tree.map((p) => readProcess(dir, p, fdinfoCache)));

  const files = await readFiles(dir);

  const remapImg = await readRawImage(join(dir, IMG.remapFpath), MAGIC.REMAP_FPATH);
  const remaps: Remap[] = remapImg
    ? decodeAll(remapImg, S.RemapFilePathEntry, 'remap_file_path_entry').map((r) => ({
        origId: r.orig_id,
        remapId: r.remap_id,
        type: REMAP_TYPE[r.remap_type ?? 0] ?? `unknown(${r.remap_type ?? 0})`,
      }))
    : [];

  const ttyImg = await readRawImage(join(dir, IMG.ttyInfo), MAGIC.TTY_INFO);
  const ttys: TtyInfo[] = ttyImg
    ? decodeAll(ttyImg, S.TtyInfoEntry, 'tty_info_entry').map((t) =>
        compact({ id: t.id, type: TTY_TYPE[t.type] ?? String(t.type), index: t.pty?.index, sid: t.sid, pgrp: t.pgrp, rdev: t.rdev }),
      )
    : [];

  const memfdImg = await readRawImage(join(dir, IMG.memfd), MAGIC.MEMFD_INODE);
  const memfds: MemfdInode[] = memfdImg
    ? decodeAll(memfdImg, S.MemfdInodeEntry, 'memfd_inode_entry').map((m) =>
        compact({ inodeId: num(m.inode_id), name: m.name, size: num(m.size), mode: m.mode }),
      )
    : [];

  const shmids = new Set<number>();
  for (const p of processes) for (const v of p.mm?.vmas ?? []) if (v.status & VMA.ANON_SHARED) shmids.add(v.shmid);
  const shmem = (await Promise.all([...shmids].sort((a, b) => a - b).map((id) => readPagemap(dir, IMG.shmemPagemap(id))))).filter(
    (x): x is PagemapImage => x !== undefined,
  );

  const dumpStats = readDumpStats(dir);
  const restoreStats = readRestoreStats(dir);
  return compact({ dir, inventory: inv, processes, files, remaps, ttys, memfds, shmem, dumpStats, restoreStats });
}
