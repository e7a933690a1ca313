// A minimal protobuf (proto2) wire-format decoder, enough for CRIU images and written for them:
// varints (plain and zigzag), length-delimited values (strings, bytes, embedded messages, packed
// repeated scalars) and fixed 32/64-bit values. No protobuf library and no code generation: a
// message is described by a small schema (field number → name and type, taken from CRIU's
// images/*.proto) and decoded into a plain typed object. Fields the schema does not name are
// skipped, so a schema lists only what ckpt reads.
//
// Wire format: https://protobuf.dev/programming-guides/encoding/

/** Anything wrong with the bytes: truncated, over-long varint, wrong wire type, missing field. */
export class ProtoError extends Error {
  /** byte offset in the buffer given to decode() */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = 'ProtoError';
    this.offset = offset;
  }
}

export const WIRE = { varint: 0, fixed64: 1, len: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;
export type WireType = (typeof WIRE)[keyof typeof WIRE];

const utf8 = new TextDecoder('utf-8');

/** A cursor over a byte range; every read checks its bounds. */
export class Reader {
  pos: number;
  readonly end: number;
  readonly buf: Uint8Array;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  eof(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) throw new ProtoError(`truncated ${what}: need ${n} bytes, ${this.end - this.pos} left`, this.pos);
  }

  /** A varint of up to 10 bytes (64 bits), as an unsigned bigint. */
  varint64(): bigint {
    const start = this.pos;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError('truncated varint', start);
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new ProtoError('varint longer than 10 bytes', start);
  }

  /**
   * A varint's low 32 bits, unsigned (what a uint32 field keeps; an int32's negative values are
   * sent as 10-byte varints and come back through toInt32).
   */
  varint32(): number {
    const start = this.pos;
    let result = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError('truncated varint', start);
      const b = this.buf[this.pos++]!;
      if (i < 5) result = (result | ((b & 0x7f) << (7 * i))) >>> 0;
      if (b < 0x80) return result;
    }
    throw new ProtoError('varint longer than 10 bytes', start);
  }

  fixed32(): number {
    this.need(4, 'fixed32');
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  fixed64(): bigint {
    const lo = BigInt(this.fixed32());
    const hi = BigInt(this.fixed32());
    return (hi << 32n) | lo;
  }

  float(): number {
    this.need(4, 'float');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    this.need(8, 'double');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }

  /** The [start, end) range of a length-delimited value; the cursor moves past it. */
  lenRange(): [number, number] {
    const at = this.pos;
    const len = this.varint64();
    if (len > BigInt(this.end - this.pos)) {
      throw new ProtoError(`truncated length-delimited value: length ${len}, ${this.end - this.pos} bytes left`, at);
    }
    const start = this.pos;
    this.pos += Number(len);
    return [start, this.pos];
  }

  bytes(): Uint8Array {
    const [s, e] = this.lenRange();
    return this.buf.subarray(s, e);
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  /** Skips a value of an unknown field. */
  skip(wire: number): void {
    switch (wire) {
      case WIRE.varint:
        this.varint64();
        return;
      case WIRE.fixed64:
        this.need(8, 'fixed64');
        this.pos += 8;
        return;
      case WIRE.len:
        this.lenRange();
        return;
      case WIRE.fixed32:
        this.need(4, 'fixed32');
        this.pos += 4;
        return;
      default:
        // groups (3, 4) are deprecated and unused by CRIU; 6 and 7 do not exist
        throw new ProtoError(`unsupported wire type ${wire}`, this.pos);
    }
  }
}

export const toInt32 = (u: number): number => u | 0;
export const zigzag32 = (u: number): number => (u >>> 1) ^ -(u & 1);
export const zigzag64 = (u: bigint): bigint => (u >> 1n) ^ -(u & 1n);

// ---------------------------------------------------------------------------------------------
// Schemas

/** Scalar kinds, named as in .proto files, and what each decodes to. */
export interface ScalarTypes {
  uint32: number;
  int32: number;
  sint32: number;
  fixed32: number;
  sfixed32: number;
  float: number;
  double: number;
  /** enums decode to their number; names are the caller's business */
  enum: number;
  bool: boolean;
  uint64: bigint;
  int64: bigint;
  sint64: bigint;
  fixed64: bigint;
  sfixed64: bigint;
  string: string;
  bytes: Uint8Array;
}
export type ScalarKind = keyof ScalarTypes;
export type Label = 'required' | 'optional' | 'repeated';

/** One field of a schema. `T` is what one value decodes to (a phantom: never set at run time). */
export interface FieldDef<T = unknown, L extends Label = Label> {
  readonly no: number;
  readonly label: L;
  readonly kind: ScalarKind | 'message';
  readonly schema?: Schema;
  readonly _type?: T;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Schema = { readonly [name: string]: FieldDef<any, Label> };

/** The object a schema decodes to: required → T, optional → T | undefined, repeated → T[]. */
export type Message<S extends Schema> = {
  -readonly [K in keyof S]: S[K] extends FieldDef<infer T, infer L>
    ? L extends 'repeated'
      ? T[]
      : L extends 'required'
        ? T
        : T | undefined
    : never;
};

type Builders<L extends Label> = { [K in ScalarKind]: (no: number) => FieldDef<ScalarTypes[K], L> } & {
  message: <S extends Schema>(no: number, schema: S) => FieldDef<Message<S>, L>;
};

const SCALARS: ScalarKind[] = [
  'uint32', 'int32', 'sint32', 'fixed32', 'sfixed32', 'float', 'double', 'enum', 'bool',
  'uint64', 'int64', 'sint64', 'fixed64', 'sfixed64', 'string', 'bytes',
];

function builders<L extends Label>(label: L): Builders<L> {
  const b: Record<string, unknown> = {
    message: (no: number, schema: Schema) => ({ no, label, kind: 'message', schema }),
  };
  for (const kind of SCALARS) b[kind] = (no: number) => ({ no, label, kind });
  return b as Builders<L>;
}

/** Field builders: `required.uint32(1)`, `optional.message(3, Other)`, `repeated.uint32(5)`. */
export const required = builders('required');
export const optional = builders('optional');
export const repeated = builders('repeated');

/** The wire type a kind is sent with (when not packed). */
function wireOf(kind: ScalarKind | 'message'): number {
  switch (kind) {
    case 'fixed32':
    case 'sfixed32':
    case 'float':
      return WIRE.fixed32;
    case 'fixed64':
    case 'sfixed64':
    case 'double':
      return WIRE.fixed64;
    case 'string':
    case 'bytes':
    case 'message':
      return WIRE.len;
    default:
      return WIRE.varint;
  }
}

function readScalar(r: Reader, kind: ScalarKind): unknown {
  switch (kind) {
    case 'uint32':
    case 'enum':
      return r.varint32();
    case 'int32':
      return toInt32(r.varint32());
    case 'sint32':
      return zigzag32(r.varint32());
    case 'bool':
      return r.varint64() !== 0n;
    case 'uint64':
      return r.varint64();
    case 'int64':
      return BigInt.asIntN(64, r.varint64());
    case 'sint64':
      return zigzag64(r.varint64());
    case 'fixed32':
      return r.fixed32();
    case 'sfixed32':
      return r.fixed32() | 0;
    case 'float':
      return r.float();
    case 'fixed64':
      return r.fixed64();
    case 'sfixed64':
      return BigInt.asIntN(64, r.fixed64());
    case 'double':
      return r.double();
    case 'string':
      return r.string();
    case 'bytes':
      return r.bytes();
  }
}

type Entry = [name: string, def: FieldDef];
const byNumberCache = new WeakMap<Schema, Map<number, Entry>>();

function byNumber(schema: Schema): Map<number, Entry> {
  let m = byNumberCache.get(schema);
  if (!m) {
    m = new Map();
    for (const [name, def] of Object.entries(schema)) m.set(def.no, [name, def]);
    byNumberCache.set(schema, m);
  }
  return m;
}

function decodeFrom<S extends Schema>(schema: S, r: Reader, path: string): Message<S> {
  const fields = byNumber(schema);
  const out: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(schema)) if (def.label === 'repeated') out[name] = [];

  while (!r.eof()) {
    const at = r.pos;
    const tag = r.varint64();
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (no === 0) throw new ProtoError(`${path}: invalid field number 0`, at);
    const entry = fields.get(no);
    if (!entry) {
      r.skip(wire);
      continue;
    }
    const [name, def] = entry;
    const expected = wireOf(def.kind);
    const where = `${path}.${name} (field ${no})`;

    if (def.kind === 'message') {
      if (wire !== WIRE.len) throw new ProtoError(`${where}: wire type ${wire}, expected ${WIRE.len}`, at);
      const [s, e] = r.lenRange();
      const sub = decodeFrom(def.schema!, new Reader(r.buf, s, e), `${path}.${name}`);
      if (def.label === 'repeated') (out[name] as unknown[]).push(sub);
      else out[name] = sub; // proto2 would merge a repeated occurrence; CRIU never splits a message
      continue;
    }
    const kind = def.kind;
    if (wire === expected) {
      const v = readScalar(r, kind);
      if (def.label === 'repeated') (out[name] as unknown[]).push(v);
      else out[name] = v;
    } else if (def.label === 'repeated' && wire === WIRE.len && expected !== WIRE.len) {
      // packed: a length-delimited run of values with no tags
      const [s, e] = r.lenRange();
      const pr = new Reader(r.buf, s, e);
      const list = out[name] as unknown[];
      while (!pr.eof()) list.push(readScalar(pr, kind));
    } else {
      throw new ProtoError(`${where}: wire type ${wire}, expected ${expected}`, at);
    }
  }

  for (const [name, def] of Object.entries(schema)) {
    if (def.label === 'required' && !(name in out)) {
      throw new ProtoError(`${path}: required field ${name} (${def.no}) is missing`, r.pos);
    }
  }
  return out as Message<S>;
}

/**
 * Decodes one message. `name` only labels errors. Throws ProtoError on malformed input, and when
 * a field the schema marks required is absent (as protobuf-c, which wrote it, would refuse it).
 */
export function decode<S extends Schema>(schema: S, buf: Uint8Array, name = 'message'): Message<S> {
  return decodeFrom(schema, new Reader(buf), name);
}
