// Moving a dump's inet sockets to other addresses: a clone's containers get addresses of their own
// (Docker refuses a second bridge on the original's subnet), yet the connections between them are
// in the images with the original's addresses. CRIU restores a TCP connection as it was dumped
// (repair mode: bind the local address, connect to the peer's, set the sequence numbers, no
// packet sent), so rewriting both ends of every connection with one map keeps each pair of ends
// agreeing: the clone's copies talk to each other on the clone's addresses.
//
// Only the socket entries of files.img carry addresses (inet_sk_entry src_addr/dst_addr; the
// tcp-stream images hold queues and sequence numbers). The rewrite works on the wire format field
// by field, so whatever ckpt's schemas do not name is copied byte for byte. The result is a
// directory of links to the set's files with a rewritten files.img: the set itself is never
// changed, and the pages are still read (or mapped) from the store.
import { lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { IMG, MAGIC } from './constants.js';
import { corrupt, parseImage } from './container.js';
import { ProtoError, Reader, WIRE } from './protobuf.js';

/** old address → new address, both dotted IPv4 */
export type AddressMap = ReadonlyMap<string, string>;

interface RawField {
  no: number;
  wire: number;
  /** the value's bytes as on the wire (for len: without the length prefix) */
  value: Uint8Array;
}

function readFields(buf: Uint8Array): RawField[] {
  const r = new Reader(buf);
  const out: RawField[] = [];
  while (!r.eof()) {
    const tag = r.varint32();
    const no = tag >>> 3;
    const wire = tag & 7;
    const start = r.pos;
    switch (wire) {
      case WIRE.varint:
        r.varint64();
        out.push({ no, wire, value: buf.subarray(start, r.pos) });
        break;
      case WIRE.fixed64:
        r.fixed64();
        out.push({ no, wire, value: buf.subarray(start, r.pos) });
        break;
      case WIRE.fixed32:
        r.fixed32();
        out.push({ no, wire, value: buf.subarray(start, r.pos) });
        break;
      case WIRE.len: {
        const n = r.varint32();
        if (r.pos + n > r.end) throw new ProtoError(`truncated field ${no}`, r.pos);
        out.push({ no, wire, value: buf.subarray(r.pos, r.pos + n) });
        r.pos += n;
        break;
      }
      default:
        throw new ProtoError(`wire type ${wire} of field ${no}`, start);
    }
  }
  return out;
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function writeFields(fields: RawField[]): Uint8Array {
  const parts: number[] = [];
  for (const f of fields) {
    parts.push(...varint((f.no << 3) | f.wire));
    if (f.wire === WIRE.len) parts.push(...varint(f.value.length));
    for (const b of f.value) parts.push(b);
  }
  return Uint8Array.from(parts);
}

const varintField = (no: number, v: number): RawField => ({ no, wire: WIRE.varint, value: Uint8Array.from(varint(v)) });
const u32Of = (f: RawField): number => new Reader(f.value).varint32();

/** CRIU keeps an in_addr as the u32 the kernel has: network byte order read little-endian. */
export function addrToU32(ip: string): number {
  const b = ip.split('.').map(Number);
  return ((b[3]! << 24) | (b[2]! << 16) | (b[1]! << 8) | b[0]!) >>> 0;
}

export function u32ToAddr(u: number): string {
  return [u & 0xff, (u >>> 8) & 0xff, (u >>> 16) & 0xff, u >>> 24].join('.');
}

/** ::ffff:a.b.c.d as CRIU keeps it: 0, 0, 0x0000ffff in network order (0xffff0000 read LE), the IPv4 */
const V4_MAPPED_WORD = 0xffff0000;

/** The address words of one src_addr/dst_addr list with the map applied; undefined when unchanged. */
function remapWords(words: number[], map: AddressMap): number[] | undefined {
  const at = words.length === 1 ? 0 : words.length === 4 && words[0] === 0 && words[1] === 0 && words[2] === V4_MAPPED_WORD ? 3 : -1;
  if (at < 0) return undefined;
  const to = map.get(u32ToAddr(words[at]!));
  if (to === undefined) return undefined;
  const out = [...words];
  out[at] = addrToU32(to);
  return out;
}

const ISK = 4;
const SRC_ADDR = 11;
const DST_ADDR = 12;

/** One inet_sk_entry's bytes with its addresses mapped; undefined when none changed. */
function remapInetSk(buf: Uint8Array, map: AddressMap): Uint8Array | undefined {
  const fields = readFields(buf);
  const mapped = new Map<number, number[]>();
  for (const no of [SRC_ADDR, DST_ADDR]) {
    // repeated uint32: unpacked (CRIU's proto2 default), or packed by another writer
    const words = fields
      .filter((f) => f.no === no)
      .flatMap((f) => {
        if (f.wire === WIRE.varint) return [u32Of(f)];
        const r = new Reader(f.value);
        const w: number[] = [];
        while (!r.eof()) w.push(r.varint32());
        return w;
      });
    const m = remapWords(words, map);
    if (m) mapped.set(no, m);
  }
  if (mapped.size === 0) return undefined;
  // Every other field as it was; a mapped list where its first word was.
  const out: RawField[] = [];
  for (const f of fields) {
    const m = mapped.get(f.no);
    if (!m) out.push(f);
    else if (out.every((o) => o.no !== f.no)) out.push(...m.map((w) => varintField(f.no, w)));
  }
  return writeFields(out);
}

/** files.img's bytes with every inet socket's addresses mapped; undefined when nothing changed. */
export function remapFilesImage(buf: Uint8Array, map: AddressMap, file: string = IMG.files): Uint8Array | undefined {
  const img = parseImage(buf, file, MAGIC.FILES);
  let changed = false;
  const entries = img.entries.map((entry, i) => {
    try {
      const fields = readFields(entry);
      let touched = false;
      const next = fields.map((f) => {
        if (f.no !== ISK || f.wire !== WIRE.len) return f;
        const v = remapInetSk(f.value, map);
        if (!v) return f;
        touched = true;
        return { ...f, value: v };
      });
      if (!touched) return entry;
      changed = true;
      return writeFields(next);
    } catch (e) {
      if (e instanceof ProtoError) throw corrupt(file, `entry ${i} at offset ${img.offsets[i]}: ${e.message}`, e);
      throw e;
    }
  });
  if (!changed) return undefined;
  const head = [...(img.head !== undefined ? [img.head] : []), img.magic];
  const size = head.length * 4 + entries.reduce((n, e) => n + 4 + e.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let pos = 0;
  for (const m of head) {
    dv.setUint32(pos, m, true);
    pos += 4;
  }
  for (const e of entries) {
    dv.setUint32(pos, e.length, true);
    out.set(e, pos + 4);
    pos += 4 + e.length;
  }
  return out;
}

/**
 * The images of `imagesDir` with their sockets moved by `map`, for CRIU to restore from: `imagesDir`
 * itself when no socket has a mapped address, else `outDir`, made of links to the set's files and
 * a rewritten files.img.
 */
export function remappedImages(imagesDir: string, map: AddressMap, outDir: string): string {
  if (map.size === 0 || [...map].every(([a, b]) => a === b)) return imagesDir;
  let buf: Buffer;
  try {
    buf = readFileSync(join(imagesDir, IMG.files));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return imagesDir;
    throw e;
  }
  const files = remapFilesImage(buf, map, join(imagesDir, IMG.files));
  if (!files) return imagesDir;
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(imagesDir)) {
    if (name === IMG.files) continue;
    const from = join(imagesDir, name);
    if (lstatSync(from).isDirectory()) continue;
    // CRIU opens the images through a descriptor of the directory once it is inside the restored
    // root: an absolute link would resolve there, a relative one still reaches the store.
    symlinkSync(relative(outDir, from), join(outDir, name));
  }
  writeFileSync(join(outDir, IMG.files), files, { mode: 0o600 });
  return outDir;
}
