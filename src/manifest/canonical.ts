// The project's canonical form and its hash: kept apart from normalize so that commands which
// only compare hashes (ckpt run, a restore) do not load the manifest parser.
import { createHash } from 'node:crypto';
import type { Project } from './types.js';

/** `target[key] = value`, also for a key named __proto__ (manifest keys are user input). */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function sortedRecord<T>(entries: Iterable<[string, T]>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) setOwn(out, k, v);
  return out;
}

/** JSON with object keys sorted at every level, undefined left out: the input of the hash. */
export function canonicalJSON(v: unknown): string {
  return JSON.stringify(sortKeysDeep(v));
}

export function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => [k, sortKeysDeep(x)] as [string, unknown]);
    return sortedRecord(entries);
  }
  return v;
}

/** sha256 (hex) of the canonical JSON of the project without its `hash`. */
export function projectHash(p: Omit<Project, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...rest } = p;
  return createHash('sha256').update(canonicalJSON(rest)).digest('hex');
}
