// Options that exist only in ckpt's patched CRIU (the DragonFly-style restore options, changed-file
// and ghost-file handling). A stock CRIU would fail on them only once it has started (and logged
// half a dump or restore), so each is looked up in `criu --help` first and a missing one is
// refused up front.
import { CkptError } from '../errors.js';
import { spawnCapturing } from '../util/exec.js';
import { criuPath } from './probe.js';

export const PATCHED_OPTIONS = {
  /** the restored root task takes fds 0-2 from the process running CRIU */
  inheritStdio: '--inherit-stdio',
  /** uid, gid, groups and capabilities come from the restorer, never from the image */
  inheritCreds: '--inherit-creds',
  /** a fresh pid namespace: saved pids inside, a new pid outside */
  restorePidns: '--restore-pidns',
  /** restore files replaced or modified since the dump (refused otherwise, by patch 0010) */
  allowChangedFiles: '--allow-changed-files',
  /** dump: store a file's contents in the images instead of referencing it (patch 0011) */
  ghostFile: '--ghost-file',
  /** restore: private memory mapped from the pages images instead of read into memory (patch 0012) */
  mapPages: '--map-pages',
  /** dump: simple tmpfs contents written to their tar.gz image without running tar (patch 0015) */
  tmpfsInline: '--tmpfs-inline',
} as const;

export type PatchedOption = keyof typeof PATCHED_OPTIONS;
export type FeatureSet = Record<PatchedOption, boolean>;

const cache = new Map<string, Promise<FeatureSet>>();

export function parseFeatures(help: string): FeatureSet {
  const has = (flag: string): boolean => new RegExp(`(^|[\\s,])${flag}(?![\\w-])`, 'm').test(help);
  return Object.fromEntries(Object.entries(PATCHED_OPTIONS).map(([k, flag]) => [k, has(flag)])) as FeatureSet;
}

/** Which patched restore options the CRIU at `path` has (asked once per process). */
export function criuFeatures(path = criuPath()): Promise<FeatureSet> {
  let p = cache.get(path);
  if (!p) {
    // Not through execa: loading it costs ~120 ms, and a container checkpoint asks this first.
    p = spawnCapturing(path, ['--help'], { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' }).then((r) => parseFeatures(r.output));
    cache.set(path, p);
  }
  return p;
}

/** Throws CRIU_UNPATCHED naming every wanted feature the installed CRIU lacks. */
export async function requireFeatures(wanted: PatchedOption[], why: string, path = criuPath()): Promise<void> {
  if (wanted.length === 0) return;
  const have = await criuFeatures(path);
  const missing = wanted.filter((f) => !have[f]);
  if (missing.length === 0) return;
  throw new CkptError('CRIU_UNPATCHED', `${path} lacks ${missing.map((f) => PATCHED_OPTIONS[f]).join(', ')}, needed for ${why}`, {
    hint: 'Install ckpt\'s patched CRIU: sudo bash criu-patches/build.sh (then check with: ckpt doctor)',
  });
}
