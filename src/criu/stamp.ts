// The expected stamp of our CRIU build, recomputed exactly as criu-patches/build.sh does:
// sha256 over series ++ each patch named in series (in order) ++ build.sh; "4.1.1+ckpt." + 12 hex.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';

export const CRIU_BASE_VERSION = '4.1.1';
export const STAMP_FILE = '/usr/local/lib/ckpt/criu.stamp';

export function seriesPatches(seriesText: string): string[] {
  return seriesText
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

export function expectedStamp(patchesDir = join(packageRoot, 'criu-patches')): string {
  const h = createHash('sha256');
  const series = readFileSync(join(patchesDir, 'series'));
  h.update(series);
  for (const p of seriesPatches(series.toString('utf8'))) h.update(readFileSync(join(patchesDir, p)));
  h.update(readFileSync(join(patchesDir, 'build.sh')));
  return `${CRIU_BASE_VERSION}+ckpt.${h.digest('hex').slice(0, 12)}`;
}
