// CRIU command lines, built by pure functions so they can be tested and logged in full.
// Image names CRIU writes that ckpt reads are constants here too.

export const DUMP_LOG = 'dump.log';
export const RESTORE_LOG = 'restore.log';
export const STATS_DUMP = 'stats-dump';
export const STATS_RESTORE = 'stats-restore';

export interface DumpOptions {
  pid: number;
  imagesDir: string;
  /** where CRIU writes its log and stats (default: imagesDir) */
  workDir?: string;
  /** the service's freezer cgroup, already FROZEN by ckpt: CRIU seizes it as it is */
  freezeCgroup?: string;
  leaveRunning: boolean;
  /** the tree lives in a network namespace it does not own (the stack's): its inode and key */
  externalNetns?: { inode: string; key: string };
  /**
   * the tree is not its pid namespace's init (a program restored with fresh pids, under the
   * namespace's holder): the namespace is recorded by key, and only a --restore-pidns restore,
   * which makes a new one, can bring the tree back
   */
  externalPidns?: { inode: string; key: string };
  /** established TCP connections are dumped without their state, to be restored closed */
  tcpClose?: boolean;
  /** patched CRIU: these files' contents go into the images (x-ckpt.checkpoint.copy_files) */
  ghostFiles?: string[];
  /** the host's own mounts in the tree's namespace: recorded by key, not dumped (runtime/process/host-mounts.ts) */
  externalMounts?: { key: string; path: string }[];
  verbosity?: number;
}

export function dumpArgs(o: DumpOptions): string[] {
  const args = ['dump', '--tree', String(o.pid), '--images-dir', o.imagesDir];
  if (o.workDir) args.push('--work-dir', o.workDir);
  args.push('--log-file', DUMP_LOG, `-v${o.verbosity ?? 4}`);
  // Established TCP connections (between services, or to clients) are part of the state, unless
  // the service asks for them closed.
  args.push(o.tcpClose ? '--tcp-close' : '--tcp-established');
  // A connection the frozen program has not accepted yet cannot be dumped; it is left out, and
  // its client sees a reset (as if it had been lost on the wire).
  args.push('--skip-in-flight');
  // Databases lock their files (MariaDB fcntl-locks ibdata1, PostgreSQL its postmaster.pid):
  // the locks are part of the state, and CRIU refuses a tree holding any without this.
  args.push('--file-locks');
  // ckpt, not CRIU, decides which cgroup a service lives in (so clones get their own).
  args.push('--manage-cgroups=ignore');
  if (o.freezeCgroup) args.push('--freeze-cgroup', o.freezeCgroup);
  if (o.leaveRunning) args.push('--leave-running');
  if (o.externalNetns) args.push('--external', `net[${o.externalNetns.inode}]:${o.externalNetns.key}`);
  if (o.externalPidns) args.push('--external', `pid[${o.externalPidns.inode}]:${o.externalPidns.key}`);
  for (const f of o.ghostFiles ?? []) args.push('--ghost-file', f);
  for (const m of o.externalMounts ?? []) args.push('--external', `mnt[${m.path}]:${m.key}`);
  return args;
}

export interface RestoreOptions {
  imagesDir: string;
  workDir: string;
  pidFile: string;
  /** fds ckpt hands to CRIU in place of files of the image, by CRIU's key (e.g. pipe:[inode]) */
  inheritFds?: { fd: number; key: string }[];
  /** a CRIU action script (ckpt's restore gate holds the tree before it resumes) */
  actionScript?: string;
  /** patched CRIU: the root task takes fds 0-2 from CRIU (see features.ts) */
  inheritStdio?: boolean;
  /** patched CRIU: uid, gid, groups and capabilities from the restorer */
  inheritCreds?: boolean;
  /** patched CRIU: restore inside a fresh pid namespace */
  restorePidns?: boolean;
  /** patched CRIU: restore files that were replaced or modified since the dump */
  allowChangedFiles?: boolean;
  /** patched CRIU: map private memory from the pages images (read on first touch) */
  mapPages?: boolean;
  /** the host mounts the dump recorded as external: bound from these paths */
  externalMounts?: { key: string; path: string }[];
  /** the set was dumped with --tcp-close, which CRIU then requires at restore */
  tcpClose?: boolean;
  verbosity?: number;
}

export function restoreArgs(o: RestoreOptions): string[] {
  const args = ['restore', '--images-dir', o.imagesDir, '--work-dir', o.workDir];
  args.push('--log-file', RESTORE_LOG, `-v${o.verbosity ?? 4}`);
  // The tree is re-parented to the ckpt-shim that runs this CRIU (a subreaper).
  args.push('--restore-detached', '--pidfile', o.pidFile);
  // Process services keep the host's root filesystem in their mount namespace.
  args.push('--root', '/');
  args.push('--tcp-established', '--manage-cgroups=ignore', '--file-locks');
  if (o.tcpClose) args.push('--tcp-close');
  for (const { fd, key } of o.inheritFds ?? []) args.push('--inherit-fd', `fd[${fd}]:${key}`);
  if (o.actionScript) args.push('--action-script', o.actionScript);
  if (o.inheritStdio) args.push('--inherit-stdio');
  if (o.inheritCreds) args.push('--inherit-creds');
  if (o.restorePidns) args.push('--restore-pidns');
  if (o.allowChangedFiles) args.push('--allow-changed-files');
  if (o.mapPages) args.push('--map-pages');
  for (const m of o.externalMounts ?? []) args.push('--external', `mnt[${m.key}]:${m.path}`);
  return args;
}

/** For logs: the command line as a shell would read it. */
export function shellQuote(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
