// What a container's directory in a set holds beside CRIU's images, by name: read by restore
// and by inspect, which must not load the checkpoint code to know them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CkptError } from '../../errors.js';

/** the writable layer (the overlay's upper directory), whiteouts and opaque directories included */
export const ROOTFS_DIFF = 'rootfs-diff.tar';
/** the container's volumes: which archive holds which mount point */
export const VOLUMES_INDEX = 'volumes.json';

export interface StoredVolume {
  target: string;
  /** sets before issue 16: the archive's name in the service's directory of the set */
  file?: string;
  /** the data tree's name (<set>/.data/<service>/<data>, with its index among the files) */
  data?: string;
  /** the Docker volume it was, and where its files were (a restore of the same project replaces that one) */
  name?: string;
  source?: string;
}

export function storedVolumes(imagesDir: string): StoredVolume[] {
  try {
    return JSON.parse(readFileSync(join(imagesDir, VOLUMES_INDEX), 'utf8')) as StoredVolume[];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CkptError('STORE_CORRUPT', `${join(imagesDir, VOLUMES_INDEX)} cannot be read: ${(e as Error).message}`, { hint: 'Check the set with ckpt verify.' });
  }
}
