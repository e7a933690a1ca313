// A process service's mount namespace starts as a copy of the host's, so the host's tmpfs mounts
// (/sys/fs/cgroup, /tmp or /run where they are tmpfs) are the very same filesystems in it. CRIU
// would dump each as a tar of its contents and restore a private copy: a snapshot of host state
// the service never owned, diverging from the host's from then on, and a tar and an untar on
// every checkpoint and restore (about 5-15 ms each here). They are handed to CRIU as external
// mounts instead: recorded by path at dump, bound from the host at restore.
import { readFileSync, readlinkSync } from 'node:fs';

export interface HostMount {
  /** CRIU's key for it (--external mnt[path]:key at dump, mnt[key]:path at restore) */
  key: string;
  /** the mount point, the same in the service's namespace and on the host */
  path: string;
}

/** Filesystems whose contents CRIU stores in the images. */
const CONTENT_DUMPED = new Set(['tmpfs']);

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
 * The tmpfs mounts of `pid`'s mount namespace that are the host's own (same device and root at
 * the same place in ckpt's namespace), with the keys CRIU will know them by. The service's own
 * tmpfs mounts (the shim's /dev/shm) are new devices: they are dumped with their contents.
 */
export function sharedHostMounts(pid: number, host = readFileSync('/proc/self/mountinfo', 'utf8')): HostMount[] {
  // A tree in ckpt's own mount namespace (ckpt run): CRIU dumps no mounts for it at all.
  if (readlinkSync(`/proc/${pid}/ns/mnt`) === readlinkSync('/proc/self/ns/mnt')) return [];
  const hostKeys = new Set(parseMountinfo(host).map((m) => `${m.dev} ${m.root} ${m.path}`));
  const paths = parseMountinfo(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'))
    .filter((m) => CONTENT_DUMPED.has(m.fstype) && hostKeys.has(`${m.dev} ${m.root} ${m.path}`))
    .map((m) => m.path)
    .sort();
  return [...new Set(paths)].map((path, i) => ({ key: `ckpt-host-mnt-${i}`, path }));
}
