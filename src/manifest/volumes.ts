// Volume mounts, short and long form, as compose reads them:
//   "/data"                 an anonymous volume at /data
//   "./src:/app/src:ro"     a bind mount (sources starting with /, . or ~ are paths)
//   "pgdata:/var/lib/pg"    a named volume (declared under the top-level `volumes:`)
//   {type: bind, source: ./src, target: /app/src, read_only: true}
// Relative and ~ sources are resolved by the normalizer, not here.

import type { VolumeMount } from './types.js';

export class VolumeError extends Error {
  override name = 'VolumeError';
}

/** Access modes compose accepts; only ro/rw mean something to ckpt, the rest are docker hints. */
const MODES = new Set(['ro', 'rw', 'z', 'Z', 'cached', 'delegated', 'consistent', 'nocopy']);

export function isPathSource(source: string): boolean {
  return source.startsWith('/') || source.startsWith('.') || source.startsWith('~');
}

const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A mount as written: the source is not resolved yet. */
export function parseVolumeSpec(spec: string): VolumeMount {
  const q = JSON.stringify(spec);
  if (spec === '') throw new VolumeError('the volume is empty — write "source:target[:ro]" or a target path');
  const parts = spec.split(':');
  if (parts.length > 3) throw new VolumeError(`${q} has too many ":" — write "source:target[:ro]"`);
  let source: string | undefined;
  let target: string;
  let readOnly = false;
  if (parts.length === 1) {
    target = parts[0]!;
  } else {
    source = parts[0]!;
    target = parts[1]!;
    if (parts.length === 3) {
      const modes = parts[2]!.split(',');
      for (const m of modes) {
        if (!MODES.has(m)) throw new VolumeError(`${q}: unknown mode ${JSON.stringify(m)} — use ro or rw`);
      }
      readOnly = modes.includes('ro');
    }
    if (source === '') throw new VolumeError(`${q}: the source is empty`);
  }
  checkTarget(target, q);
  if (source === undefined) return { type: 'volume', target, readOnly };
  if (isPathSource(source)) return { type: 'bind', source, target, readOnly };
  checkVolumeName(source, q);
  return { type: 'volume', source, target, readOnly };
}

const prefix = (q: string | undefined): string => (q === undefined ? '' : `${q}: `);

export function checkTarget(target: string, q?: string): void {
  if (target === '') throw new VolumeError(`${prefix(q)}the target is empty`);
  if (!target.startsWith('/')) {
    throw new VolumeError(`${prefix(q)}the target ${JSON.stringify(target)} must be an absolute path (start with /)`);
  }
}

export function checkVolumeName(name: string, q?: string): void {
  if (!VOLUME_NAME.test(name)) {
    throw new VolumeError(
      `${prefix(q)}${JSON.stringify(name)} is neither a path (paths start with /, ./ or ~) nor a volume name (letters, digits, _ . -)`,
    );
  }
}

export interface LongVolume {
  type?: 'bind' | 'volume';
  source?: string;
  target: string;
  read_only?: boolean;
}

export function parseLongVolume(v: LongVolume): VolumeMount {
  const type = v.type ?? (v.source !== undefined && isPathSource(v.source) ? 'bind' : 'volume');
  checkTarget(v.target);
  if (type === 'bind') {
    if (v.source === undefined || v.source === '') throw new VolumeError('a bind mount needs a `source` path');
    return { type, source: v.source, target: v.target, readOnly: v.read_only ?? false };
  }
  if (v.source !== undefined && v.source !== '') {
    checkVolumeName(v.source);
    return { type, source: v.source, target: v.target, readOnly: v.read_only ?? false };
  }
  return { type, target: v.target, readOnly: v.read_only ?? false };
}
