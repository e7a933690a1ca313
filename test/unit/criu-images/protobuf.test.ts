// The protobuf wire decoder on hand-made bytes: every wire type, packed and unpacked repeated
// fields, unknown fields, and each way the bytes can be wrong.
import t from 'tap';
import { decode, optional, ProtoError, Reader, repeated, required, zigzag32, zigzag64 } from '../../../src/criu/images/protobuf.js';
import { cat, f32, f64, len, msg, packed, s, str, u, varint } from './fixtures/images.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

t.test('varints', async (t) => {
  t.same(new Reader(bytes(0x01)).varint32(), 1);
  t.same(new Reader(bytes(0xac, 0x02)).varint32(), 300, 'the classic 300 = ac 02');
  t.same(new Reader(bytes(0xff, 0xff, 0xff, 0xff, 0x0f)).varint32(), 0xffffffff, 'max uint32');
  t.same(new Reader(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)).varint64(), 0xffffffffffffffffn, 'max uint64 in 10 bytes');
  t.same(new Reader(Uint8Array.from(varint(0x7fffffffffffn))).varint64(), 0x7fffffffffffn);
  // an int32 of -1 is sent as a 10-byte varint; uint32 keeps the low 32 bits
  t.same(new Reader(Uint8Array.from(varint(-1))).varint32(), 0xffffffff);
  t.equal(varint(-1).length, 10);
  const r = new Reader(bytes(0xac, 0x02, 0x05));
  r.varint32();
  t.equal(r.pos, 2, 'the cursor moves past the varint');
  t.throws(() => new Reader(bytes(0x80, 0x80)).varint64(), /truncated varint/);
  t.throws(() => new Reader(bytes(0x80, 0x80)).varint32(), /truncated varint/);
  t.throws(() => new Reader(new Uint8Array(11).fill(0x80)).varint64(), /longer than 10 bytes/);
});

t.test('zigzag', async (t) => {
  t.same([0, 1, 2, 3, 4].map(zigzag32), [0, -1, 1, -2, 2]);
  t.equal(zigzag32(0xfffffffe), 2147483647);
  t.equal(zigzag32(0xffffffff), -2147483648);
  t.same([0n, 1n, 2n, 3n].map(zigzag64), [0n, -1n, 1n, -2n]);
  t.equal(zigzag64(0xffffffffffffffffn), -9223372036854775808n);
});

const Scalars = {
  u32: optional.uint32(1),
  i32: optional.int32(2),
  s32: optional.sint32(3),
  u64: optional.uint64(4),
  i64: optional.int64(5),
  s64: optional.sint64(6),
  b: optional.bool(7),
  e: optional.enum(8),
  str: optional.string(9),
  raw: optional.bytes(10),
  fx32: optional.fixed32(11),
  sfx32: optional.sfixed32(12),
  fx64: optional.fixed64(13),
  sfx64: optional.sfixed64(14),
};

t.test('scalar kinds', async (t) => {
  const buf = cat(
    u(1, 4000000000),
    u(2, -5),
    s(3, -7),
    u(4, 0xffffffffffn),
    u(5, -2n),
    s(6, -300n),
    u(7, true),
    u(8, 3),
    str(9, 'ckpt-imgtest ✓'),
    len(10, [0, 1, 2]),
    f32(11, 0xdeadbeef),
    f32(12, -2),
    f64(13, 0x1122334455667788n),
    f64(14, -3n),
  );
  const m = decode(Scalars, buf);
  t.same(m, {
    u32: 4000000000,
    i32: -5,
    s32: -7,
    u64: 0xffffffffffn,
    i64: -2n,
    s64: -300n,
    b: true,
    e: 3,
    str: 'ckpt-imgtest ✓',
    raw: Uint8Array.from([0, 1, 2]),
    fx32: 0xdeadbeef,
    sfx32: -2,
    fx64: 0x1122334455667788n,
    sfx64: -3n,
  });
  t.same(decode(Scalars, new Uint8Array()), {}, 'absent optional fields stay undefined');
});

t.test('float and double', async (t) => {
  const m = decode({ f: optional.float(1), d: optional.double(2) }, cat(f32(1, 0x3fc00000), f64(2, 0x4004000000000000n)));
  t.same(m, { f: 1.5, d: 2.5 });
});

t.test('a field seen twice: the last one wins', async (t) => {
  t.equal(decode(Scalars, cat(u(1, 1), u(1, 2))).u32, 2);
});

const Inner = { a: required.uint32(1), name: optional.string(2) };
const Outer = {
  id: required.uint32(1),
  inner: optional.message(2, Inner),
  list: repeated.message(3, Inner),
  nums: repeated.uint32(4),
  big: repeated.uint64(5),
  zz: repeated.sint32(6),
};

t.test('embedded and repeated messages', async (t) => {
  const m = decode(Outer, cat(u(1, 7), msg(2, u(1, 1), str(2, 'x')), msg(3, u(1, 2)), msg(3, u(1, 3), str(2, 'y'))));
  t.same(m, { id: 7, inner: { a: 1, name: 'x' }, list: [{ a: 2 }, { a: 3, name: 'y' }], nums: [], big: [], zz: [] });
});

t.test('repeated scalars: unpacked, packed, and both mixed', async (t) => {
  t.same(decode(Outer, cat(u(1, 1), u(4, 1), u(4, 300), u(4, 2))).nums, [1, 300, 2], 'unpacked');
  t.same(decode(Outer, cat(u(1, 1), packed(4, [1, 300, 2]))).nums, [1, 300, 2], 'packed');
  t.same(decode(Outer, cat(u(1, 1), u(4, 9), packed(4, [1, 2]), u(4, 3))).nums, [9, 1, 2, 3], 'mixed, in order');
  t.same(decode(Outer, cat(u(1, 1), packed(5, [0xffffffffffffn, 1n]))).big, [0xffffffffffffn, 1n], 'packed uint64');
  t.same(decode(Outer, cat(u(1, 1), len(6, [...varint(1), ...varint(4)]))).zz, [-1, 2], 'packed sint32');
  t.same(decode(Outer, cat(u(1, 1), len(4, []))).nums, [], 'an empty packed run');
});

t.test('unknown fields of every wire type are skipped', async (t) => {
  const buf = cat(
    u(99, 12345678901234n),
    f64(98, 1n),
    str(97, 'skip me'),
    msg(96, u(1, 1), str(2, 'nested')),
    f32(95, 5),
    u(1, 7),
    packed(94, [1, 2, 3]),
  );
  t.same(decode(Outer, buf), { id: 7, nums: [], list: [], big: [], zz: [] });
});

t.test('malformed input', async (t) => {
  const err = (buf: Uint8Array, re: RegExp, what: string): void => {
    try {
      decode(Outer, buf, 'outer');
      t.fail(`${what}: no error`);
    } catch (e) {
      t.ok(e instanceof ProtoError, `${what}: a ProtoError`);
      t.match((e as Error).message, re, what);
    }
  };
  err(cat(u(4, 1)), /outer: required field id \(1\) is missing/, 'a missing required field');
  err(cat(u(1, 1), msg(2, str(2, 'no a'))), /outer\.inner: required field a \(1\) is missing/, 'missing inside a nested message');
  err(bytes(0x08), /truncated varint/, 'a tag without its value');
  err(bytes(0x08, 0x01, 0x12, 0x05, 0x08), /truncated length-delimited value: length 5, 1 bytes left/, 'a length past the end');
  err(cat(u(1, 1), f32(4, 1)), /outer\.nums \(field 4\): wire type 5, expected 0/, 'wrong wire type for a varint field');
  err(cat(len(1, [1])), /outer\.id \(field 1\): wire type 2, expected 0/, 'a packed run for a field that is not repeated');
  err(cat(u(1, 1), u(2, 1)), /outer\.inner \(field 2\): wire type 0, expected 2/, 'a varint where a message should be');
  err(cat(u(1, 1), bytes(0x4b)), /unsupported wire type 3/, 'a group (wire type 3) in an unknown field');
  err(cat(u(1, 1), bytes(0x4e, 0)), /unsupported wire type 6/, 'wire type 6 does not exist');
  err(bytes(0x00, 0x01), /invalid field number 0/, 'field number 0');
  err(cat(u(1, 1), bytes(0x4d, 1, 2)), /truncated fixed32/, 'a fixed32 cut short');
  err(cat(u(1, 1), bytes(0x49, 1, 2, 3)), /truncated fixed64/, 'a fixed64 cut short');
  err(cat(u(1, 1), len(4, [0x80])), /truncated varint/, 'a packed run ending mid-varint');
  try {
    decode(Outer, bytes(0x08, 0x01, 0x12, 0x05, 0x08));
  } catch (e) {
    t.equal((e as ProtoError).offset, 3, 'errors carry the byte offset of the bad value');
  }
});
