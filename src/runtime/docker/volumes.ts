// A container's Docker volumes (named and anonymous) go into its set, like its writable layer:
// the restored process finds the files it had open and the data it wrote there, and a clone
// gets a copy instead of an empty volume of its own project. Bind mounts are the user's own
// directories (a source folder) and are referenced, not stored.
//
// Packed while the container is frozen, beside CRIU's dump; unpacked into the new container's
// volumes after it is created and before it starts (so Docker does not seed them from the image).
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

async function tar(args: string[], what: string): Promise<void> {
  const r = await runTool('tar', args);
  if (r.code !== 0) {
    throw new CkptError('CHECKPOINT_FAILED', `${what}: ${r.output.trim()}`, { hint: 'tar must be installed (GNU tar, with xattr and ACL support).' });
  }
}

/** Packs each volume into `dir` and writes the index; run while the container is frozen. */
export async function packVolumes(volumes: ContainerVolume[], dir: string): Promise<void> {
  if (volumes.length === 0) return;
  const stored: StoredVolume[] = volumes.map((v, i) => ({ target: v.target, file: `volume-${i}.tar` }));
  await Promise.all(volumes.map((v, i) => tar(['-C', v.source, ...TAR_FLAGS, '-cf', join(dir, stored[i]!.file), '.'], `could not pack the container's volume ${v.target} (${v.source})`)));
  writeFileSync(join(dir, VOLUMES_INDEX), `${JSON.stringify(stored, null, 2)}\n`);
}

/**
 * Replaces what each of the new container's volumes holds with the set's copy. `mounts` is the
 * created container's (docker inspect: Mounts). A volume kept from before (same project, after
 * down) gets the checkpoint's contents: the restored process must find what it left. Its old
 * contents are removed only once the set is verified (`verified`): a damaged set must not cost
 * the user data it cannot give back. A new volume is empty and is filled meanwhile.
 */
export async function unpackVolumes(
  imagesDir: string,
  mounts: { Type?: string; Destination?: string; Source?: string }[],
  service: string,
  verified: Promise<void>,
): Promise<void> {
  for (const v of storedVolumes(imagesDir)) {
    const m = mounts.find((x) => x.Type === 'volume' && x.Destination === v.target);
    if (!m?.Source) {
      throw new CkptError('RESTORE_FAILED', `service ${service}: the new container has no volume at ${v.target}, which the set holds`, {
        hint: 'The set was taken with a volume there; restore it with the configuration it was taken with.',
      });
    }
    const old = readdirSync(m.Source);
    if (old.length > 0) await verified;
    for (const n of old) rmSync(join(m.Source, n), { recursive: true, force: true });
    const r = await runTool('tar', ['-C', m.Source, ...TAR_FLAGS, '-xpf', join(imagesDir, v.file)]);
    if (r.code !== 0) {
      throw new CkptError('RESTORE_FAILED', `service ${service}: could not unpack the volume ${v.target}: ${r.output.trim()}`);
    }
  }
}
