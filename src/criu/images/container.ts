// The container format of a CRIU image file (criu/image.c, crit's images.py):
//
//   IMAGE  ::= [HEAD] MAGIC { SIZE ENTRY }
//   HEAD   ::= IMG_COMMON_MAGIC | IMG_SERVICE_MAGIC   u32 LE; absent in inventory.img (and in
//                                                     images v1, before it was added)
//   MAGIC  ::= the image's own magic                  u32 LE
//   SIZE   ::= length of ENTRY                        u32 LE
//   ENTRY  ::= one protobuf message
//
// pagemap-*.img uses this too, with a pagemap_head as its first entry. Images that carry raw data
// after an entry (pipes-data, sk-queues, tcp-stream, ghost-file, ipcns-*) are not read here, nor
// the raw pages-*.img (no header at all). A missing image is how CRIU writes an empty one.
import { readFile } from 'node:fs/promises';
import { CkptError } from '../../errors.js';
import { MAGIC, magicName } from './constants.js';
import { decode, ProtoError, type Message, type Schema } from './protobuf.js';

export interface RawImage {
  /** the path it was read from (for messages) */
  file: string;
  magic: number;
  /** the head magic, when the image has one */
  head?: number;
  entries: Uint8Array[];
  /** byte offset of each entry's payload, for messages */
  offsets: number[];
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
const named = (m: number): string => {
  const n = magicName(m);
  return n ? `${hex(m)} (${n})` : hex(m);
};

export const CORRUPT_HINT = 'The checkpoint\'s images are damaged or were not written by CRIU: take the checkpoint again (and check the disk it is stored on).';

export function corrupt(file: string, what: string, cause?: unknown): CkptError {
  return new CkptError('STORE_CORRUPT', `CRIU image ${file} is unreadable: ${what}`, {
    hint: CORRUPT_HINT,
    ...(cause === undefined ? {} : { cause }),
  });
}

const u32 = (b: Uint8Array, at: number): number =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

/** Splits an image's bytes into entries, checking its magic. Pure: the tests feed it bytes. */
export function parseImage(buf: Uint8Array, file: string, expected: number): RawImage {
  if (buf.length < 4) throw corrupt(file, `${buf.length} bytes, too short for a magic number`);
  let head: number | undefined;
  let magic = u32(buf, 0);
  let pos = 4;
  if (magic === MAGIC.IMG_COMMON || magic === MAGIC.IMG_SERVICE) {
    if (buf.length < 8) throw corrupt(file, 'truncated after its first magic number');
    head = magic;
    magic = u32(buf, 4);
    pos = 8;
  }
  if (magic !== expected) {
    throw corrupt(file, `magic ${named(magic)}, expected ${named(expected)}`);
  }
  const entries: Uint8Array[] = [];
  const offsets: number[] = [];
  while (pos < buf.length) {
    if (buf.length - pos < 4) throw corrupt(file, `truncated: ${buf.length - pos} stray bytes at offset ${pos} where an entry size should be`);
    const size = u32(buf, pos);
    pos += 4;
    if (size > buf.length - pos) {
      throw corrupt(file, `truncated: entry ${entries.length} at offset ${pos - 4} has size ${size} but only ${buf.length - pos} bytes follow`);
    }
    entries.push(buf.subarray(pos, pos + size));
    offsets.push(pos);
    pos += size;
  }
  return { file, magic, ...(head === undefined ? {} : { head }), entries, offsets };
}

/** Reads an image; undefined when the file does not exist. */
export async function readRawImage(path: string, expected: number): Promise<RawImage | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EISDIR') throw corrupt(path, 'it is a directory', e);
    throw new CkptError('STORE_CORRUPT', `cannot read CRIU image ${path}: ${(e as Error).message}`, { cause: e, hint: CORRUPT_HINT });
  }
  return parseImage(buf, path, expected);
}

/** Decodes entry `i` of an image, turning a decoding error into STORE_CORRUPT naming the file. */
export function decodeEntry<S extends Schema>(img: RawImage, i: number, schema: S, what: string): Message<S> {
  const entry = img.entries[i];
  if (!entry) throw corrupt(img.file, `no entry ${i} (${what})`);
  try {
    return decode(schema, entry, what);
  } catch (e) {
    if (e instanceof ProtoError) {
      throw corrupt(img.file, `entry ${i} (${what}) at offset ${img.offsets[i]}: ${e.message}`, e);
    }
    throw e;
  }
}

export function decodeAll<S extends Schema>(img: RawImage, schema: S, what: string, from = 0): Message<S>[] {
  const out: Message<S>[] = [];
  for (let i = from; i < img.entries.length; i++) out.push(decodeEntry(img, i, schema, what));
  return out;
}

/** The image's only entry (inventory, stats, ids, core, mm, fs). */
export function decodeSingle<S extends Schema>(img: RawImage, schema: S, what: string): Message<S> {
  if (img.entries.length === 0) throw corrupt(img.file, `no ${what} entry`);
  return decodeEntry(img, 0, schema, what);
}
