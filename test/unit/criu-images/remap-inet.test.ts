// Moving a dump's sockets to a clone's addresses, on files.img of a real container dump (an app's
// pooled connection to its database, and the database's end of it, IPv4-mapped on a :: listener).
import t from 'tap';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAll, parseImage } from '../../../src/criu/images/container.js';
import { MAGIC } from '../../../src/criu/images/constants.js';
import { formatAddr } from '../../../src/criu/images/read.js';
import { FileEntry } from '../../../src/criu/images/schemas.js';
import { addrToU32, remapFilesImage, remappedImages, u32ToAddr } from '../../../src/criu/images/remap-inet.js';

const fixture = (n: string): Buffer => readFileSync(new URL(`./fixtures/inet/${n}`, import.meta.url));

function sockets(buf: Uint8Array): string[] {
  const img = parseImage(buf, 'files.img', MAGIC.FILES);
  return decodeAll(img, FileEntry, 'file').flatMap((f) => (f.isk ? [`${formatAddr(f.isk.src_addr, f.isk.family)}:${f.isk.src_port} ${formatAddr(f.isk.dst_addr, f.isk.family)}:${f.isk.dst_port}`] : []));
}

const map = new Map([
  ['172.31.0.2', '192.168.96.2'],
  ['172.31.0.3', '192.168.96.3'],
]);

t.test('addresses as CRIU keeps them', async (t) => {
  t.equal(u32ToAddr(addrToU32('172.31.0.3')), '172.31.0.3');
  t.equal(addrToU32('1.0.0.0'), 1, 'network byte order, read little-endian');
});

t.test("an app's connection moves to the clone's addresses; its listener stays", async (t) => {
  const before = fixture('app-files.img');
  t.same(sockets(before), [':::3000 :::0', '172.31.0.3:36988 172.31.0.2:5432']);
  const after = remapFilesImage(before, map)!;
  t.same(sockets(after), [':::3000 :::0', '192.168.96.3:36988 192.168.96.2:5432'], 'both ends mapped, ports kept');
  const a = decodeAll(parseImage(after, 'x', MAGIC.FILES), FileEntry, 'f');
  const b = decodeAll(parseImage(before, 'x', MAGIC.FILES), FileEntry, 'f');
  t.same(
    a.map((f) => ({ ...f, isk: f.isk ? { ...f.isk, src_addr: [], dst_addr: [] } : undefined })),
    b.map((f) => ({ ...f, isk: f.isk ? { ...f.isk, src_addr: [], dst_addr: [] } : undefined })),
    'every other field of every entry is as it was',
  );
});

t.test("the database's end: an IPv4-mapped address of an IPv6 socket", async (t) => {
  const after = remapFilesImage(fixture('db-files.img'), map)!;
  t.same(sockets(after), [':::5432 :::0', '::ffff:192.168.96.2:5432 ::ffff:192.168.96.3:36988']);
});

t.test('nothing to move: no rewrite', async (t) => {
  t.equal(remapFilesImage(fixture('app-files.img'), new Map([['10.0.0.1', '10.0.0.2']])), undefined);
});

t.test('a damaged files.img is STORE_CORRUPT naming it', async (t) => {
  const bad = Buffer.from(fixture('app-files.img'));
  bad.writeUInt32LE(bad.length, 8); // the first entry's size runs past the end
  t.throws(() => remapFilesImage(bad, map, '/set/app/files.img'), { code: 'STORE_CORRUPT', message: /\/set\/app\/files\.img/ });
});

t.test('the images dir CRIU reads: links to the set, files.img rewritten', async (t) => {
  const dir = t.testdir({});
  const set = join(dir, 'set', 'app');
  mkdirSync(set, { recursive: true });
  writeFileSync(join(set, 'files.img'), fixture('app-files.img'));
  writeFileSync(join(set, 'pages-1.img'), 'pages');
  const out = join(dir, 'state', 'gate', 'images', 'app');
  t.equal(remappedImages(set, map, out), out);
  t.ok(lstatSync(join(out, 'pages-1.img')).isSymbolicLink());
  t.notOk(readlinkSync(join(out, 'pages-1.img')).startsWith('/'), 'a relative link: CRIU opens it from inside the restored root');
  t.equal(readFileSync(join(out, 'pages-1.img'), 'utf8'), 'pages');
  t.same(sockets(readFileSync(join(out, 'files.img'))), [':::3000 :::0', '192.168.96.3:36988 192.168.96.2:5432']);
  t.equal(remappedImages(set, new Map([['172.31.0.2', '172.31.0.2']]), out), set, 'the same addresses: the set itself');
});
