import { createHash } from 'node:crypto';
import type { Service } from '../manifest/types.js';

/** Stable JSON: keys sorted at every level, so equal configs hash equal. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Like compose's config-hash label: a service whose hash changed is recreated by `up`. */
export function serviceConfigHash(service: Service): string {
  return createHash('sha256').update(canonicalJson(service)).digest('hex').slice(0, 16);
}
