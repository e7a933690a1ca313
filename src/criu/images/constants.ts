// Numbers CRIU writes into its images, with where each comes from in the CRIU 4.1.1 source
// (/var/cache/ckpt/criu/current). They are part of the image ABI and do not change.

/** criu/include/magic.h */
export const MAGIC = {
  /** heads every image but inventory (images v1.1) */
  IMG_COMMON: 0x54564319,
  /** heads the "service" files: stats-*, irmap-cache */
  IMG_SERVICE: 0x55105940,
  INVENTORY: 0x58313116,
  PSTREE: 0x50273030,
  FDINFO: 0x56213732,
  PAGEMAP: 0x56084025,
  CORE: 0x55053847,
  IDS: 0x54432030,
  VMAS: 0x54123737,
  PIPES: 0x56513555,
  FIFO: 0x58364939,
  UNIXSK: 0x54373943,
  INETSK: 0x56443851,
  REG_FILES: 0x50363636,
  FS: 0x51403912,
  MM: 0x57492820,
  REMAP_FPATH: 0x59133954,
  GHOST_FILE: 0x52583605,
  EVENTFD_FILE: 0x44523722,
  TTY_FILES: 0x59433025,
  TTY_INFO: 0x59453036,
  FILES: 0x56303138,
  MEMFD_INODE: 0x48453499,
  STATS: 0x57093306,
  IRMAP_CACHE: 0x57004059,
} as const;
export type MagicName = keyof typeof MAGIC;

const MAGIC_NAMES = new Map<number, string>(Object.entries(MAGIC).map(([k, v]) => [v, k]));
/** "PSTREE" for PSTREE's magic; undefined for a number CRIU does not use (here). */
export const magicName = (m: number): string | undefined => MAGIC_NAMES.get(m);

/** Image file names: criu/image-desc.c (`%u` is a pid, an id or a pages id). */
export const IMG = {
  inventory: 'inventory.img',
  pstree: 'pstree.img',
  files: 'files.img',
  remapFpath: 'remap-fpath.img',
  ttyInfo: 'tty-info.img',
  memfd: 'memfd.img',
  /** written in CRIU's work directory, which is the images directory unless -W says otherwise */
  statsDump: 'stats-dump',
  statsRestore: 'stats-restore',
  core: (tid: number) => `core-${tid}.img`,
  ids: (pid: number) => `ids-${pid}.img`,
  fs: (pid: number) => `fs-${pid}.img`,
  mm: (pid: number) => `mm-${pid}.img`,
  pagemap: (pid: number) => `pagemap-${pid}.img`,
  shmemPagemap: (shmid: number | bigint) => `pagemap-shmem-${shmid}.img`,
  pages: (pagesId: number) => `pages-${pagesId}.img`,
  fdinfo: (filesId: number) => `fdinfo-${filesId}.img`,
  /** before files.img (CRIU < 3.x wrote one image per kind of file) */
  legacy: { regFiles: 'reg-files.img', inetsk: 'inetsk.img', unixsk: 'unixsk.img', pipes: 'pipes.img' },
} as const;

/** VMA status bits: criu/include/image.h (VMA_AREA_*, VMA_FILE_*, VMA_ANON_*) */
export const VMA = {
  REGULAR: 1 << 0,
  STACK: 1 << 1,
  VSYSCALL: 1 << 2,
  VDSO: 1 << 3,
  HEAP: 1 << 5,
  FILE_PRIVATE: 1 << 6,
  FILE_SHARED: 1 << 7,
  ANON_SHARED: 1 << 8,
  ANON_PRIVATE: 1 << 9,
  SYSVIPC: 1 << 10,
  SOCKET: 1 << 11,
  VVAR: 1 << 12,
  AIORING: 1 << 13,
  MEMFD: 1 << 14,
  SHSTK: 1 << 15,
  EXT_PLUGIN: 1 << 27,
  UNSUPP: 1 << 31,
} as const;

/** mmap(2) prot and the flags CRIU keeps (vma_entry.prot/.flags) */
export const PROT = { READ: 1, WRITE: 2, EXEC: 4 } as const;
export const MAP = { SHARED: 0x1, PRIVATE: 0x2, ANONYMOUS: 0x20, GROWSDOWN: 0x100 } as const;

/** Pagemap entry flags: criu/include/pagemap.h */
export const PE = { PARENT: 1 << 0, LAZY: 1 << 1, PRESENT: 1 << 2 } as const;

/** fd_types in images/fdinfo.proto */
export const FD_TYPES = [
  'UND', 'REG', 'PIPE', 'FIFO', 'INETSK', 'UNIXSK', 'EVENTFD', 'EVENTPOLL', 'INOTIFY', 'SIGNALFD',
  'PACKETSK', 'TTY', 'FANOTIFY', 'NETLINKSK', 'NS', 'TUNF', 'EXT', 'TIMERFD', 'MEMFD', 'BPFMAP', 'PIDFD',
] as const;
export type FdTypeName = (typeof FD_TYPES)[number] | `UNKNOWN(${number})`;
export const fdTypeName = (n: number): FdTypeName => FD_TYPES[n] ?? `UNKNOWN(${n})`;

/**
 * task_core_entry.task_state: compel/include/uapi/task-state.h (COMPEL_TASK_*). (crit's pb2dict
 * table says 3 = Zombie, 6 = Stopped; compel, which CRIU uses, has them the other way round.)
 */
export const TASK_STATE: Record<number, 'alive' | 'dead' | 'stopped' | 'zombie'> = {
  1: 'alive',
  2: 'dead',
  3: 'stopped',
  6: 'zombie',
};

/** Socket numbers as in <sys/socket.h>, <netinet/in.h> and <netinet/tcp.h> (crit's "sk" dict). */
export const SK_FAMILY: Record<number, string> = { 1: 'UNIX', 2: 'INET', 10: 'INET6', 16: 'NETLINK', 17: 'PACKET' };
export const SK_TYPE: Record<number, string> = { 1: 'STREAM', 2: 'DGRAM', 3: 'RAW', 5: 'SEQPACKET', 10: 'PACKET' };
export const SK_PROTO: Record<number, string> = { 0: 'IP', 6: 'TCP', 17: 'UDP', 136: 'UDPLITE' };
export const SK_STATE: Record<number, string> = {
  1: 'ESTABLISHED', 2: 'SYN_SENT', 3: 'SYN_RECV', 4: 'FIN_WAIT1', 5: 'FIN_WAIT2', 6: 'TIME_WAIT',
  7: 'CLOSE', 8: 'CLOSE_WAIT', 9: 'LAST_ACK', 10: 'LISTEN', 11: 'CLOSING',
};

/** inventory lsmtype (images/inventory.proto) */
export const LSM_TYPE: Record<number, string> = { 0: 'none', 1: 'selinux', 2: 'apparmor' };
/**
 * inventory network_lock_method: CRIU stores its internal enum (criu/include/cr_options.h, from 0),
 * not rpc.proto's criu_network_lock_method (from 1).
 */
export const NETWORK_LOCK: Record<number, string> = { 0: 'iptables', 1: 'nftables', 2: 'skip' };
/** criu_pre_dump_mode (images/rpc.proto) */
export const PRE_DUMP_MODE: Record<number, string> = { 1: 'splice', 2: 'read' };
/** remap_type (images/remap-file-path.proto) */
export const REMAP_TYPE: Record<number, 'linked' | 'ghost' | 'procfs'> = { 0: 'linked', 1: 'ghost', 2: 'procfs' };
/** TtyType (images/tty.proto) */
export const TTY_TYPE: Record<number, string> = { 0: 'unknown', 1: 'pty', 2: 'console', 3: 'vt', 4: 'ctty', 5: 'ext', 6: 'serial' };
