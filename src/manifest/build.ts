// `build:` of a service, short form (a context directory) or long, as the normalized BuildSpec
// that runtime/docker/build.ts hands to Docker. Sizes are compose's byte strings (`64m`).
import { resolveEnvironment } from './environment.js';
import { sortedRecord } from './canonical.js';
import type { Lookup } from './interpolate.js';
import type { RawEnvironment } from './environment.js';
import type { BuildSpec } from './types.js';

export interface RawBuild {
  context?: string;
  dockerfile?: string;
  dockerfile_inline?: string;
  args?: RawEnvironment;
  target?: string;
  labels?: RawEnvironment;
  cache_from?: string[];
  network?: string;
  shm_size?: string | number;
  extra_hosts?: string[] | Record<string, string | string[]>;
  pull?: boolean;
  no_cache?: boolean;
}

const UNITS: Record<string, number> = { b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** compose's byte values: a number of bytes, or `64m`, `1.5g`, `512kb`; undefined when not one. */
export function parseBytes(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(v);
  if (!m) return undefined;
  const unit = UNITS[m[2]!.toLowerCase() || 'b'];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

/** extra_hosts as Docker's "name:address" list, from compose's list or mapping. */
function extraHosts(v: RawBuild['extra_hosts']): string[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) return v.map((h) => h.replace(/=/, ':'));
  return Object.entries(v).flatMap(([name, a]) => (Array.isArray(a) ? a : [a]).map((addr) => `${name}:${addr}`));
}

/**
 * The service's BuildSpec. `resolve` makes the context absolute (relative to the manifest's
 * directory); build args listed without a value come from the environment, as compose does.
 */
export function normalizeBuild(b: string | RawBuild, resolve: (p: string) => string, lookup: Lookup): BuildSpec {
  const raw: RawBuild = typeof b === 'string' ? { context: b } : b;
  const shm = raw.shm_size === undefined ? undefined : parseBytes(raw.shm_size);
  return {
    context: resolve(raw.context ?? '.'),
    ...(raw.dockerfile_inline !== undefined ? { dockerfileInline: raw.dockerfile_inline } : { dockerfile: raw.dockerfile ?? 'Dockerfile' }),
    args: sortedRecord(Object.entries(resolveEnvironment(raw.args, lookup))),
    ...(raw.target !== undefined ? { target: raw.target } : {}),
    labels: sortedRecord(Object.entries(resolveEnvironment(raw.labels, () => ''))),
    cacheFrom: raw.cache_from ?? [],
    ...(raw.network !== undefined ? { network: raw.network } : {}),
    ...(shm !== undefined ? { shmSizeBytes: shm } : {}),
    extraHosts: extraHosts(raw.extra_hosts),
    pull: raw.pull ?? false,
    noCache: raw.no_cache ?? false,
  };
}
