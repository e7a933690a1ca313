// A container's Docker volumes (named and anonymous) go into its set, like its writable layer:
// the restored process finds the files it had open and the data it wrote there, and a clone
// gets a copy instead of an empty volume of its own project. Bind mounts are the user's own
// directories (a source folder) and are referenced, not stored.
//
// Captured while the container is frozen, beside CRIU's dump, as data trees of the set
// (data/snapshot.ts: a btrfs snapshot or a reflink where Docker's data root and the store share
// a filesystem that allows them, else a copy); brought back into the new container's volumes
// after it is created and before it starts (so Docker does not seed them from the image). The
// rule for data a restore would replace is the process services' (process/volume-restore.ts):
// refused unless --replace, checked before anything runs. Sets taken before data trees hold a
// tar per volume, still read.
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { captureMethod, captureTree, materializeTree, type DataMethod, type ReplacedTrees } from '../../data/snapshot.js';
import { DATA_DIR, dataIndexName, readDataIndex, sameAsIndex } from '../../store/index.js';
import { formatBytes } from '../../util/time.js';
import type { DataCaptured } from '../cut.js';
import { CkptError } from '../../errors.js';
import { runTool } from '../../util/exec.js';
import { VOLUMES_INDEX, storedVolumes, type StoredVolume } from './set-files.js';

const TAR_FLAGS = ['--numeric-owner', '--xattrs', '--acls'];

export interface ContainerVolume {
  /** where the container sees it */
  target: string;
  /** its _data directory on the host */
  source: string;
}

/** A volume with the method it goes into the set by (planned before the freeze). */
export interface PlannedVolume extends ContainerVolume {
  method: DataMethod;
  why: string;
}

/** The capture method of each volume into the store that holds `scratch` (data/snapshot.ts). */
export function planVolumes(volumes: ContainerVolume[], scratch: string): PlannedVolume[] {
  return volumes.map((v) => ({ ...v, ...captureMethod(v.source, scratch) }));
}

/**
 * The container's volumes, from runc's view of its mounts (state.json): bind mounts of a
 * `<docker root>/volumes/<name>/_data` directory. No dockerd round trip before the freeze.
 * Those mounted at `shared` (external volumes) are left out: like a bind mount, they are
 * referenced, and a restore must not write the checkpoint's copy over what others share.
 */
export function containerVolumes(
  mounts: { source?: string; destination?: string; device?: string }[],
  dockerRoot: string,
  shared: ReadonlySet<string> = new Set(),
): ContainerVolume[] {
  const under = `${dockerRoot.replace(/\/+$/, '')}/volumes/`;
  return mounts
    .filter((m) => m.device === 'bind' && m.source?.startsWith(under) && m.source.endsWith('/_data') && m.destination && !shared.has(m.destination))
    .map((m) => ({ target: m.destination!, source: m.source! }));
}

/** A volume's name in the set: volume-<i>, by mount order. */
const dataKey = (i: number): string => `volume-${i}`;
/** the Docker volume name of `<docker root>/volumes/<name>/_data` */
const volumeNameOf = (source: string): string => basename(dirname(source));

/**
 * Captures each volume into the set (dataDir: the set writer's) and writes the index; run while
 * the container is frozen. Returns what each capture cost.
 */
export async function captureVolumes(volumes: PlannedVolume[], dir: string, dataDir: (volume: string, method: string) => string): Promise<DataCaptured[]> {
  if (volumes.length === 0) return [];
  const stored: StoredVolume[] = volumes.map((v, i) => ({ target: v.target, data: dataKey(i), name: volumeNameOf(v.source), source: v.source }));
  const captured = await Promise.all(
    volumes.map(async (v, i): Promise<DataCaptured> => {
      const t0 = performance.now();
      await captureTree(v.source, dataDir(dataKey(i), v.method), v.method);
      return { volume: `${stored[i]!.name} (${v.target})`, method: v.method, why: v.why, ms: performance.now() - t0 };
    }),
  );
  writeFileSync(join(dir, VOLUMES_INDEX), `${JSON.stringify(stored, null, 2)}\n`);
  return captured;
}

/** Where a stored volume lives now for `project` (the same Docker volume, or the clone's), if that can be told. */
function liveVolume(v: StoredVolume, setProject: string, project: string): string | undefined {
  if (!v.name || !v.source) return undefined;
  // a named volume is <project>_<name>; an anonymous one is new in every container
  if (!v.name.startsWith(`${setProject}_`)) return undefined;
  const name = `${project}_${v.name.slice(setProject.length + 1)}`;
  return join(dirname(dirname(v.source)), name, '_data');
}

/**
 * Before anything runs: the volumes whose live data a restore would discard (changed since the
 * cut), described for VOLUME_CHANGED.
 */
export function volumesToLose(setDir: string, service: string, setProject: string, project: string): string[] {
  const out: string[] = [];
  for (const v of storedVolumes(join(setDir, service))) {
    if (!v.data) continue;
    const live = liveVolume(v, setProject, project);
    if (!live || !existsSync(live) || readdirSync(live).length === 0) continue;
    const index = readDataIndex(join(setDir, service, dataIndexName(v.data)));
    if (sameAsIndex(live, index)) continue;
    out.push(`${basename(dirname(live))} (service ${service}, at ${v.target}; ${live}, changed since the cut; the set holds ${formatBytes(index.bytes)})`);
  }
  return out;
}

/**
 * Replaces what each of the new container's volumes holds with the set's copy. `mounts` is the
 * created container's (docker inspect: Mounts). A volume kept from before (same project, after
 * down) gets the checkpoint's contents: the restored process must find what it left (the core
 * refused already if that would lose data written since, without --replace). Its old contents
 * are removed only once the set is verified (`verified`): a damaged set must not cost the user
 * data it cannot give back. A new volume is empty and is filled meanwhile.
 */
export async function unpackVolumes(
  imagesDir: string,
  mounts: { Type?: string; Destination?: string; Source?: string }[],
  service: string,
  verified: Promise<void>,
  replaced: ReplacedTrees,
): Promise<{ volume: string; method: string; ms: number }[]> {
  const out: { volume: string; method: string; ms: number }[] = [];
  for (const v of storedVolumes(imagesDir)) {
    const m = mounts.find((x) => x.Type === 'volume' && x.Destination === v.target);
    if (!m?.Source) {
      throw new CkptError('RESTORE_FAILED', `service ${service}: the new container has no volume at ${v.target}, which the set holds`, {
        hint: 'The set was taken with a volume there; restore it with the configuration it was taken with.',
      });
    }
    const t0 = performance.now();
    if (readdirSync(m.Source).length > 0) await verified;
    if (v.data) {
      // the whole _data directory is replaced by a copy of the tree (a snapshot where it can be)
      replaced.replace(m.Source);
      const method = await materializeTree(join(dirname(imagesDir), DATA_DIR, basename(imagesDir), v.data), m.Source);
      out.push({ volume: `${basename(dirname(m.Source))} (${v.target})`, method, ms: performance.now() - t0 });
      continue;
    }
    for (const n of readdirSync(m.Source)) rmSync(join(m.Source, n), { recursive: true, force: true });
    const r = await runTool('tar', ['-C', m.Source, ...TAR_FLAGS, '-xpf', join(imagesDir, v.file!)]);
    if (r.code !== 0) {
      throw new CkptError('RESTORE_FAILED', `service ${service}: could not unpack the volume ${v.target}: ${r.output.trim()}`);
    }
    out.push({ volume: `${basename(dirname(m.Source))} (${v.target})`, method: 'tar', ms: performance.now() - t0 });
  }
  return out;
}
