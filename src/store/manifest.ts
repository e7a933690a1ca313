// The set manifest (set.json): what a set holds, file by file, with the SHA-256 and size of each.
// It is written last, after every image is durable, and it carries a checksum of its own canonical
// content (sorted keys, no whitespace), so editing it by hand or a flipped byte in it is detected
// like damage to any image. The checksum detects accidents and tampering by hand; it is not a
// signature (whoever can write the store can recompute it).
import { createHash } from 'node:crypto';
import { CkptError } from '../errors.js';
import { DATA_NAME, MANIFEST_FILE, SERVICE_NAME } from './names.js';

export const MANIFEST_FORMAT = 'ckpt-set';
export const MANIFEST_VERSION = 1;

export interface FileEntry {
  sha256: string;
  size: number;
}

/** One data tree of a service in a set. */
export interface DataRecord {
  /** the index file, one of the service's files */
  index: string;
  /** how it was captured (btrfs-snapshot, reflink, copy) */
  method: string;
  files: number;
  bytes: number;
}

export interface SetManifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  /** the name the set was committed under */
  name: string;
  /** the snapshot directory (snapshots/<id>) that holds it */
  id: string;
  project: string;
  /** ISO time the checkpoint started (beginSet) */
  createdAt: string;
  /** the set the stack had been restored from, if any */
  parent?: string;
  /**
   * service → image file name → content; services in the order the caller gave. `data`: the
   * service's volumes captured at the cut, each a tree in <set>/.data/<service>/<volume> with
   * its index among the files
   */
  services: Record<string, { files: Record<string, FileEntry>; data?: Record<string, DataRecord> }>;
  meta: {
    /** hash of the ckpt manifest (project config) the stack ran with */
    manifestHash?: string;
    /** free-form, for later issues */
    extra?: Record<string, unknown>;
    /** checkpoint statistics (e.g. CRIU dump timings) */
    stats?: unknown;
  };
}

/** JSON with object keys sorted at every level and no whitespace: one text per value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const checksumOf = (body: unknown): string =>
  `sha256:${createHash('sha256').update(canonicalJson(body)).digest('hex')}`;

/** The file's text: the manifest plus `checksum`, indented for people. */
export function serializeManifest(m: SetManifest): string {
  // Round-trip first so the checksum covers exactly what a reader will parse back.
  const body = JSON.parse(JSON.stringify(m)) as Record<string, unknown>;
  return JSON.stringify({ ...body, checksum: checksumOf(body) }, null, 2) + '\n';
}

const SHA256 = /^[0-9a-f]{64}$/;
/** a plain file name: no separators, not "." or ".." */
export const isFileName = (n: string): boolean => n !== '' && n !== '.' && n !== '..' && !n.includes('/') && !n.includes('\0');

/**
 * Parse and check set.json. Throws STORE_CORRUPT naming `path` when it is not JSON, its checksum
 * does not match its content, or its shape is wrong.
 */
export function parseManifest(text: string, path: string): SetManifest {
  const corrupt = (what: string): CkptError =>
    new CkptError('STORE_CORRUPT', `${path}: ${what}`, {
      hint: 'The set manifest is damaged, so the set cannot be trusted. Remove the set (`ckpt rm NAME`) and checkpoint again.',
    });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw corrupt('not valid JSON');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw corrupt('not a JSON object');
  const { checksum, ...body } = raw as Record<string, unknown>;
  if (typeof checksum !== 'string') throw corrupt('has no checksum');
  if (checksumOf(body) !== checksum) throw corrupt('checksum mismatch: the manifest was modified after it was written');

  const m = body as Partial<SetManifest> & Record<string, unknown>;
  if (m.format !== MANIFEST_FORMAT) throw corrupt(`not a ckpt set manifest (format ${JSON.stringify(m.format)})`);
  if (m.version !== MANIFEST_VERSION) {
    throw new CkptError('STORE_CORRUPT', `${path}: set manifest version ${String(m.version)} is not supported (this ckpt reads version ${MANIFEST_VERSION})`, {
      hint: 'The set was written by another version of ckpt; use that version to read it.',
    });
  }
  for (const k of ['name', 'id', 'project', 'createdAt'] as const) {
    if (typeof m[k] !== 'string' || m[k] === '') throw corrupt(`"${k}" is missing`);
  }
  if (m.parent !== undefined && typeof m.parent !== 'string') throw corrupt('"parent" is not a string');
  if (m.meta === null || typeof m.meta !== 'object') throw corrupt('"meta" is missing');
  if (m.services === null || typeof m.services !== 'object' || Array.isArray(m.services)) throw corrupt('"services" is missing');
  for (const [svc, s] of Object.entries(m.services)) {
    if (!SERVICE_NAME.test(svc) || svc === MANIFEST_FILE) throw corrupt(`bad service name ${JSON.stringify(svc)}`);
    if (s === null || typeof s !== 'object' || s.files === null || typeof s.files !== 'object') throw corrupt(`service ${svc} has no "files"`);
    for (const [name, f] of Object.entries(s.files)) {
      if (!isFileName(name)) throw corrupt(`bad file name ${JSON.stringify(name)} in service ${svc}`);
      if (f === null || typeof f !== 'object' || typeof f.sha256 !== 'string' || !SHA256.test(f.sha256)) {
        throw corrupt(`${svc}/${name} has no valid sha256`);
      }
      if (!Number.isSafeInteger(f.size) || f.size < 0) throw corrupt(`${svc}/${name} has no valid size`);
    }
    for (const [volume, d] of Object.entries((s as { data?: Record<string, DataRecord> }).data ?? {})) {
      if (!DATA_NAME.test(volume) || d === null || typeof d !== 'object' || typeof d.index !== 'string' || !Object.hasOwn(s.files, d.index)) {
        throw corrupt(`service ${svc}: data ${JSON.stringify(volume)} has no index among its files`);
      }
    }
  }
  return m as SetManifest;
}
