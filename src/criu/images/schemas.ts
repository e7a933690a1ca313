// The messages ckpt reads from CRIU images, with field numbers and types from CRIU 4.1.1's
// images/*.proto (the file is named above each). Only the fields ckpt uses are listed; the
// decoder skips the others. `required` here means required in the .proto, too.
import { optional, repeated, required, type Message } from './protobuf.js';

// core.proto
export const TaskKobjIdsEntry = {
  vm_id: required.uint32(1),
  files_id: required.uint32(2),
  fs_id: required.uint32(3),
  sighand_id: required.uint32(4),
  pid_ns_id: optional.uint32(5),
  net_ns_id: optional.uint32(6),
  ipc_ns_id: optional.uint32(7),
  uts_ns_id: optional.uint32(8),
  mnt_ns_id: optional.uint32(9),
  user_ns_id: optional.uint32(10),
  cgroup_ns_id: optional.uint32(11),
  time_ns_id: optional.uint32(12),
};

// inventory.proto
export const PluginsEntry = { plugins: repeated.string(12) };
export const InventoryEntry = {
  img_version: required.uint32(1),
  fdinfo_per_id: optional.bool(2),
  root_ids: optional.message(3, TaskKobjIdsEntry),
  ns_per_id: optional.bool(4),
  root_cg_set: optional.uint32(5),
  lsmtype: optional.enum(6),
  dump_uptime: optional.uint64(8),
  pre_dump_mode: optional.uint32(9),
  tcp_close: optional.bool(10),
  network_lock_method: optional.uint32(11),
  plugins_entry: optional.message(12, PluginsEntry),
  dump_criu_run_id: optional.string(13),
};

// pstree.proto
export const PstreeEntry = {
  pid: required.uint32(1),
  ppid: required.uint32(2),
  pgid: required.uint32(3),
  sid: required.uint32(4),
  threads: repeated.uint32(5),
};

// creds.proto
export const CredsEntry = {
  uid: required.uint32(1),
  gid: required.uint32(2),
  euid: required.uint32(3),
  egid: required.uint32(4),
};

// core.proto
export const TaskCoreEntry = {
  task_state: required.uint32(1),
  exit_code: required.uint32(2),
  personality: required.uint32(3),
  flags: required.uint32(4),
  comm: required.string(6),
  loginuid: optional.uint32(13),
  oom_score_adj: optional.int32(14),
  child_subreaper: optional.bool(18),
  stop_signo: optional.uint32(21),
};
export const ThreadCoreEntry = {
  sched_nice: optional.sint32(3),
  sched_policy: optional.uint32(4),
  creds: optional.message(10, CredsEntry),
  comm: optional.string(13),
};
export const CoreEntry = {
  mtype: required.enum(1),
  tc: optional.message(3, TaskCoreEntry),
  ids: optional.message(4, TaskKobjIdsEntry),
  thread_core: optional.message(5, ThreadCoreEntry),
};

// fs.proto
export const FsEntry = {
  cwd_id: required.uint32(1),
  root_id: required.uint32(2),
  umask: optional.uint32(3),
};

// vma.proto
export const VmaEntry = {
  start: required.uint64(1),
  end: required.uint64(2),
  pgoff: required.uint64(3),
  shmid: required.uint64(4),
  prot: required.uint32(5),
  flags: required.uint32(6),
  status: required.uint32(7),
  fd: required.sint64(8),
  madv: optional.uint64(9),
  fdflags: optional.uint32(10),
};

// mm.proto
export const MmEntry = {
  mm_start_code: required.uint64(1),
  mm_end_code: required.uint64(2),
  mm_start_data: required.uint64(3),
  mm_end_data: required.uint64(4),
  mm_start_stack: required.uint64(5),
  mm_start_brk: required.uint64(6),
  mm_brk: required.uint64(7),
  exe_file_id: required.uint32(12),
  vmas: repeated.message(14, VmaEntry),
  dumpable: optional.int32(15),
  thp_disabled: optional.bool(17),
};

// pagemap.proto
export const PagemapHead = { pages_id: required.uint32(1) };
export const PagemapEntry = {
  vaddr: required.uint64(1),
  nr_pages: required.uint32(2),
  in_parent: optional.bool(3),
  flags: optional.uint32(4),
};

// fdinfo.proto
export const FdinfoEntry = {
  id: required.uint32(1),
  flags: required.uint32(2),
  type: required.enum(3),
  fd: required.uint32(4),
};

// fh.proto
export const FhEntry = {
  bytes: required.uint32(1),
  type: required.uint32(2),
  handle: repeated.uint64(3),
  path: optional.string(4),
  mnt_id: optional.uint32(5),
};

// regfile.proto (fields from 1000: ckpt's patch 0010, the file kept by handle)
export const RegFileEntry = {
  id: required.uint32(1),
  flags: required.uint32(2),
  pos: required.uint64(3),
  name: required.string(6),
  mnt_id: optional.sint32(7),
  size: optional.uint64(8),
  ext: optional.bool(9),
  mode: optional.uint32(10),
  handle: optional.message(1000, FhEntry),
  ino: optional.uint64(1001),
  generation: optional.uint32(1002),
  mtime_ns: optional.uint64(1003),
  fsid: optional.uint64(1004),
};

// sk-inet.proto
export const InetSkEntry = {
  id: required.uint32(1),
  ino: required.uint32(2),
  family: required.uint32(3),
  type: required.uint32(4),
  proto: required.uint32(5),
  state: required.uint32(6),
  src_port: required.uint32(7),
  dst_port: required.uint32(8),
  flags: required.uint32(9),
  backlog: required.uint32(10),
  src_addr: repeated.uint32(11),
  dst_addr: repeated.uint32(12),
  v6only: optional.bool(15),
  ifname: optional.string(17),
  ns_id: optional.uint32(18),
  shutdown: optional.enum(19),
};

// sk-unix.proto
export const UnixSkEntry = {
  id: required.uint32(1),
  ino: required.uint32(2),
  type: required.uint32(3),
  state: required.uint32(4),
  flags: required.uint32(5),
  uflags: required.uint32(6),
  backlog: required.uint32(7),
  peer: required.uint32(8),
  name: required.bytes(11),
  shutdown: optional.enum(12),
  name_dir: optional.string(14),
  deleted: optional.bool(15),
  ns_id: optional.uint32(16),
  mnt_id: optional.sint32(17),
};

// packet-sock.proto
export const PacketSockEntry = { id: required.uint32(1), type: required.uint32(2), protocol: required.uint32(3), ifindex: required.uint32(5) };
// sk-netlink.proto
export const NetlinkSkEntry = { id: required.uint32(1), ino: required.uint32(2), protocol: required.uint32(3), state: required.uint32(4), portid: required.uint32(7) };
// pipe.proto
export const PipeEntry = { id: required.uint32(1), pipe_id: required.uint32(2), flags: required.uint32(3) };
// fifo.proto
export const FifoEntry = { id: required.uint32(1), pipe_id: required.uint32(2), regf_id: optional.uint32(3) };
// eventfd.proto
export const EventfdFileEntry = { id: required.uint32(1), flags: required.uint32(2), counter: required.uint64(4) };
// eventpoll.proto
export const EventpollTfdEntry = { id: required.uint32(1), tfd: required.uint32(2), events: required.uint32(3) };
export const EventpollFileEntry = { id: required.uint32(1), flags: required.uint32(2), tfd: repeated.message(4, EventpollTfdEntry) };
// signalfd.proto
export const SignalfdEntry = { id: required.uint32(1), flags: required.uint32(2), sigmask: required.uint64(4) };
// timerfd.proto
export const TimerfdEntry = { id: required.uint32(1), flags: required.uint32(2), clockid: required.uint32(4), ticks: required.uint64(5) };
// fsnotify.proto
export const InotifyWdEntry = { id: required.uint32(1), i_ino: required.uint64(2), mask: required.uint32(3), wd: required.uint32(6) };
export const InotifyFileEntry = { id: required.uint32(1), flags: required.uint32(2), wd: repeated.message(5, InotifyWdEntry) };
export const FanotifyFileEntry = { id: required.uint32(1), flags: required.uint32(2) };
// ns.proto
export const NsFileEntry = { id: required.uint32(1), ns_id: required.uint32(2), ns_cflag: required.uint32(3), flags: required.uint32(4) };
// tun.proto
export const TunfileEntry = { id: required.uint32(1), netdev: optional.string(2), detached: optional.bool(3) };
// ext-file.proto
export const ExtFileEntry = { id: required.uint32(1) };
// tty.proto
export const TtyFileEntry = { id: required.uint32(1), tty_info_id: required.uint32(2), flags: required.uint32(3), regf_id: optional.uint32(6) };
export const TtyPtyEntry = { index: required.uint32(1) };
export const TtyInfoEntry = {
  id: required.uint32(1),
  type: required.enum(2),
  sid: required.uint32(6),
  pgrp: required.uint32(7),
  rdev: required.uint32(8),
  pty: optional.message(12, TtyPtyEntry),
  dev: optional.uint32(13),
};
// memfd.proto
export const MemfdFileEntry = { id: required.uint32(1), flags: required.uint32(2), pos: required.uint64(3), inode_id: required.uint32(5) };
export const MemfdInodeEntry = {
  name: required.string(1),
  size: required.uint64(4),
  shmid: required.uint32(5),
  inode_id: required.uint64(7),
  mode: optional.uint32(9),
};
// bpfmap-file.proto
export const BpfmapFileEntry = { id: required.uint32(1), map_type: required.uint32(5), map_id: required.uint32(8) };
// pidfd.proto
export const PidfdEntry = { id: required.uint32(1), ino: required.uint32(2), flags: required.uint32(3), nspid: required.int32(4) };

// fdinfo.proto: a file of any kind; `type` says which member is set
export const FileEntry = {
  type: required.enum(1),
  id: required.uint32(2),
  reg: optional.message(3, RegFileEntry),
  isk: optional.message(4, InetSkEntry),
  nsf: optional.message(5, NsFileEntry),
  psk: optional.message(6, PacketSockEntry),
  nlsk: optional.message(7, NetlinkSkEntry),
  efd: optional.message(8, EventfdFileEntry),
  epfd: optional.message(9, EventpollFileEntry),
  sgfd: optional.message(10, SignalfdEntry),
  tunf: optional.message(11, TunfileEntry),
  tfd: optional.message(12, TimerfdEntry),
  ify: optional.message(13, InotifyFileEntry),
  ffy: optional.message(14, FanotifyFileEntry),
  ext: optional.message(15, ExtFileEntry),
  usk: optional.message(16, UnixSkEntry),
  fifo: optional.message(17, FifoEntry),
  pipe: optional.message(18, PipeEntry),
  tty: optional.message(19, TtyFileEntry),
  memfd: optional.message(20, MemfdFileEntry),
  bpf: optional.message(21, BpfmapFileEntry),
  pidfd: optional.message(22, PidfdEntry),
};

// remap-file-path.proto
export const RemapFilePathEntry = { orig_id: required.uint32(1), remap_id: required.uint32(2), remap_type: optional.enum(3) };

// stats.proto
export const DumpStatsEntry = {
  freezing_time: required.uint32(1),
  frozen_time: required.uint32(2),
  memdump_time: required.uint32(3),
  memwrite_time: required.uint32(4),
  pages_scanned: required.uint64(5),
  pages_skipped_parent: required.uint64(6),
  pages_written: required.uint64(7),
  irmap_resolve: optional.uint32(8),
  pages_lazy: required.uint64(9),
  page_pipes: optional.uint64(10),
  page_pipe_bufs: optional.uint64(11),
  shpages_scanned: optional.uint64(12),
  shpages_skipped_parent: optional.uint64(13),
  shpages_written: optional.uint64(14),
};
export const RestoreStatsEntry = {
  pages_compared: required.uint64(1),
  pages_skipped_cow: required.uint64(2),
  forking_time: required.uint32(3),
  restore_time: required.uint32(4),
  pages_restored: optional.uint64(5),
};
export const StatsEntry = {
  dump: optional.message(1, DumpStatsEntry),
  restore: optional.message(2, RestoreStatsEntry),
};

export type InventoryMsg = Message<typeof InventoryEntry>;
export type TaskKobjIdsMsg = Message<typeof TaskKobjIdsEntry>;
export type VmaMsg = Message<typeof VmaEntry>;
export type FileMsg = Message<typeof FileEntry>;
export type RegFileMsg = Message<typeof RegFileEntry>;
export type InetSkMsg = Message<typeof InetSkEntry>;
export type UnixSkMsg = Message<typeof UnixSkEntry>;
