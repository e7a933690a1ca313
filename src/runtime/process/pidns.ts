// A program of `ckpt run` runs in the host's pid namespace; restored with fresh pids (CRIU
// --restore-pidns) it runs as pid N of a namespace whose init is CRIU's holder. Dumping it again
// must name that namespace as external: the holder is not part of the program's tree.
import { readlinkSync } from 'node:fs';
import type { Service } from '../../manifest/types.js';
import type { ServiceRecord } from '../types.js';

/** CRIU's key for that namespace (--external pid[ino]:KEY at dump; patch 0016 at restore) */
export const PIDNS_KEY = 'ckpt-pidns';

function pidnsInode(pid: number | 'self'): string | undefined {
  try {
    return /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/pid`))?.[1];
  } catch {
    return undefined;
  }
}

/** The inode of the restore-made pid namespace a `ckpt run` program runs in, if it does. */
export function foreignPidns(rec: ServiceRecord, spec: Service | undefined): string | undefined {
  if (rec.runtime !== 'process' || spec?.xCkpt.pidNamespace !== 'host' || !rec.initPid) return undefined;
  const ino = pidnsInode(rec.initPid);
  return ino !== undefined && ino !== pidnsInode('self') ? ino : undefined;
}
