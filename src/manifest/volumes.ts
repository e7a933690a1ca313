// Volume mounts, short and long form, as compose reads them:
//   "/data"                 an anonymous volume at /data
//   "./src:/app/src:ro"     a bind mount (sources starting with /, . or ~ are paths)
//   "pgdata:/var/lib/pg"    a named volume (declared under the top-level `volumes:`)
//   {type: bind, source: ./src, target: /app/src, read_only: true}
//   {type: tmpfs, target: /cache, tmpfs: {size: 64m, mode: 1777}}
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
  // the short form makes a missing host directory, as docker-compose always did
  if (isPathSource(source)) return { type: 'bind', source, target, readOnly, createHostPath: true };
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
  type?: 'bind' | 'volume' | 'tmpfs';
  source?: string;
  target: string;
  read_only?: boolean;
  tmpfs?: { size?: number | string; mode?: number | string };
  volume?: { nocopy?: boolean; subpath?: string };
  bind?: { create_host_path?: boolean; propagation?: string; selinux?: string };
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1 << 10, kb: 1 << 10, m: 1 << 20, mb: 1 << 20, g: 1 << 30, gb: 1 << 30 };

/** compose's byte sizes: 1048576, "64m", "1g", "512k" */
export function parseByteSize(v: number | string, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?b?)$/i.exec(String(v).trim());
  if (!m) throw new VolumeError(`${what} ${JSON.stringify(v)} is not a size — write bytes or a number with k, m or g`);
  return Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}

/**
 * A mode. A string is octal digits ("1777", "0755"); a number is the value YAML read, as for a
 * secret's mode: `0755` and `0o1777` are octal there, but a bare `1777` is the decimal number
 * 1777 (compose reads it so too), hence the hint to quote it.
 */
export function parseMode(v: number | string, what: string): number {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0 && v <= 0o7777) return v;
    throw new VolumeError(`${what} ${v} is not a mode — write the octal digits as a string ("1777") or with a leading 0 (01777)`);
  }
  if (!/^0?[0-7]{3,4}$/.test(v)) throw new VolumeError(`${what} ${JSON.stringify(v)} is not an octal mode such as "1777" or "0755"`);
  return parseInt(v, 8);
}

export function parseLongVolume(v: LongVolume): VolumeMount {
  const type = v.type ?? (v.source !== undefined && isPathSource(v.source) ? 'bind' : 'volume');
  checkTarget(v.target);
  const readOnly = v.read_only ?? false;
  if (type === 'tmpfs') {
    if (v.source !== undefined && v.source !== '') throw new VolumeError('a tmpfs mount has no `source` — remove it');
    const t = v.tmpfs ?? {};
    const tmpfs = {
      ...(t.size !== undefined ? { sizeBytes: parseByteSize(t.size, 'tmpfs.size') } : {}),
      ...(t.mode !== undefined ? { mode: parseMode(t.mode, 'tmpfs.mode') } : {}),
    };
    return { type, target: v.target, readOnly, ...(Object.keys(tmpfs).length ? { tmpfs } : {}) };
  }
  if (v.tmpfs !== undefined) throw new VolumeError(`\`tmpfs\` options belong to a mount of type tmpfs, not ${type}`);
  if (type === 'bind') {
    if (v.source === undefined || v.source === '') throw new VolumeError('a bind mount needs a `source` path');
    if (v.volume !== undefined) throw new VolumeError('`volume` options belong to a mount of type volume, not bind');
    return { type, source: v.source, target: v.target, readOnly, ...(v.bind?.create_host_path ? { createHostPath: true } : {}) };
  }
  if (v.bind !== undefined) throw new VolumeError('`bind` options belong to a mount of type bind, not volume');
  const noCopy = v.volume?.nocopy ? { noCopy: true } : {};
  if (v.source !== undefined && v.source !== '') {
    checkVolumeName(v.source);
    return { type, source: v.source, target: v.target, readOnly, ...noCopy };
  }
  return { type, target: v.target, readOnly, ...noCopy };
}

/** `tmpfs: /run` or `tmpfs: "/run:size=64m,mode=1777"` (the service key) as a mount */
export function parseTmpfsSpec(spec: string): VolumeMount {
  const colon = spec.indexOf(':');
  const target = colon < 0 ? spec : spec.slice(0, colon);
  checkTarget(target, JSON.stringify(spec));
  const tmpfs: { sizeBytes?: number; mode?: number } = {};
  let readOnly = false;
  for (const opt of colon < 0 ? [] : spec.slice(colon + 1).split(',').filter(Boolean)) {
    const [k, val] = opt.split('=') as [string, string | undefined];
    if (k === 'size' && val !== undefined) tmpfs.sizeBytes = parseByteSize(val, 'size');
    else if (k === 'mode' && val !== undefined) tmpfs.mode = parseMode(val, 'mode');
    else if (k === 'ro') readOnly = true;
    else if (k === 'rw' || k === 'noexec' || k === 'nosuid' || k === 'nodev' || k === 'exec') continue;
    else throw new VolumeError(`${JSON.stringify(spec)}: unknown tmpfs option ${JSON.stringify(opt)} — use size=, mode=, ro`);
  }
  return { type: 'tmpfs', target, readOnly, ...(Object.keys(tmpfs).length ? { tmpfs } : {}) };
}
