// A process service's mount namespace starts as a copy of the host's, so the host's mounts
// (/sys/fs/cgroup, /tmp or /run where they are tmpfs, a second disk, the btrfs or XFS that holds
// volumes and the store) are the very same filesystems in it. CRIU would dump a tmpfs as a tar of
// its contents and restore a private copy: a snapshot of host state the service never owned,
// diverging from the host's from then on (and a tar and an untar on every checkpoint and
// restore, about 5-15 ms each here); a block device's filesystem it refuses outright. They are
// handed to CRIU as external mounts instead: recorded by path at dump, bound from the host at
// restore.
import { readFileSync, readlinkSync } from 'node:fs';

export interface HostMount {
  /** CRIU's key for it (--external mnt[path]:key at dump, mnt[key]:path at restore) */
  key: string;
  /** the mount point, the same in the service's namespace and on the host */
  path: string;
}

/**
 * Filesystems CRIU makes anew at a restore (kernel pseudo filesystems): the host's own mounts of
 * these stay CRIU's. Any other host mount is external: a tmpfs would be tarred, and a block
 * device's filesystem (a second ext4 disk, the btrfs or XFS that holds volumes and the store)
 * is one CRIU refuses outright ("FS mnt … unsupported").
 */
const MADE_BY_CRIU = new Set(['proc', 'sysfs', 'devpts', 'cgroup', 'cgroup2', 'mqueue', 'securityfs', 'debugfs', 'tracefs', 'fusectl', 'binfmt_misc', 'pstore', 'bpf', 'configfs', 'hugetlbfs', 'devtmpfs']);

interface MountLine {
  dev: string;
  root: string;
  path: string;
  fstype: string;
}

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountinfo(text: string): MountLine[] {
  const out: MountLine[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep < 6 || f.length < sep + 2) continue;
    out.push({ dev: f[2]!, root: unescape(f[3]!), path: unescape(f[4]!), fstype: f[sep + 1]! });
  }
  return out;
}

/**
 * The mounts of `pid`'s mount namespace that are the host's own (same device and root at the
 * same place in ckpt's namespace) and not pseudo filesystems, with the keys CRIU will know them
 * by. The service's own mounts (the shim's /dev/shm, its tmpfs volumes) are new devices: they
 * are dumped with their contents; its volumes and binds are external by their own keys.
 */
export function sharedHostMounts(pid: number, host = readFileSync('/proc/self/mountinfo', 'utf8')): HostMount[] {
  // A tree in ckpt's own mount namespace (ckpt run): CRIU dumps no mounts for it at all.
  if (readlinkSync(`/proc/${pid}/ns/mnt`) === readlinkSync('/proc/self/ns/mnt')) return [];
  const hostKeys = new Set(parseMountinfo(host).map((m) => `${m.dev} ${m.root} ${m.path}`));
  const paths = parseMountinfo(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'))
    .filter((m) => m.path !== '/' && !MADE_BY_CRIU.has(m.fstype) && hostKeys.has(`${m.dev} ${m.root} ${m.path}`))
    .map((m) => m.path)
    .sort();
  return [...new Set(paths)].map((path, i) => ({ key: `ckpt-host-mnt-${i}`, path }));
}
