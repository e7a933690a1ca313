import t from 'tap';
import { createHash } from 'node:crypto';
import { lstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blob, makeSet, objectFiles, tempStore, walk } from './fixtures/helpers.js';

const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

/** Disk blocks of the distinct inodes under root (what `du` counts). */
function diskBytes(root: string): number {
  const seen = new Set<number>();
  let sum = 0;
  for (const e of walk(root)) {
    const st = lstatSync(join(root, e.rel));
    if (!st.isFile() || seen.has(st.ino)) continue;
    seen.add(st.ino);
    sum += st.blocks * 512;
  }
  return sum;
}

t.test('identical files of two sets are stored once', async (t) => {
  const store = tempStore(t);
  const pages = blob(4 << 20, 7);
  const a = await makeSet(store, 'a', { db: { 'pages-1.img': pages, 'core-1.img': 'core a' } });
  const afterA = diskBytes(store.root);
  const b = await makeSet(store, 'b', { db: { 'pages-1.img': pages, 'core-1.img': 'core b' } });
  const afterB = diskBytes(store.root);

  const pa = lstatSync(join(a.dir, 'db', 'pages-1.img'));
  const pb = lstatSync(join(b.dir, 'db', 'pages-1.img'));
  t.equal(pa.ino, pb.ino, 'one inode for both sets');
  t.equal(pa.ino, lstatSync(store.objectPath(sha(pages))).ino, 'and it is the object');
  t.equal(pa.nlink, 3, 'objects/ + set a + set b');
  t.ok(afterB - afterA < 64 * 1024, `the second set took ${afterB - afterA} bytes, not another 4 MiB`);
  t.equal(objectFiles(store).length, 3, 'pages once, two different cores');

  t.equal(store.getSet('a').sizeBytes, pages.length + 6);
  t.equal(store.getSet('a').exclusiveBytes, 6, 'only its core is its own');
  t.equal(store.getSet('b').exclusiveBytes, 6);
  await store.removeSet('a');
  t.equal(store.getSet('b').exclusiveBytes, pages.length + 6, 'once a is gone, b holds everything alone');
  await store.verifySet('b');
});

t.test('identical files within one set (two services, one content) are stored once', async (t) => {
  const store = tempStore(t);
  const lib = blob(100_000, 3);
  const s = await makeSet(store, 's', {
    web: { 'pages-1.img': lib, 'a.img': 'x' },
    worker: { 'pages-1.img': lib, 'b.img': 'x' },
  });
  t.equal(lstatSync(join(s.dir, 'web', 'pages-1.img')).ino, lstatSync(join(s.dir, 'worker', 'pages-1.img')).ino);
  t.equal(lstatSync(join(s.dir, 'web', 'a.img')).ino, lstatSync(join(s.dir, 'worker', 'b.img')).ino, 'names differ, content is the same');
  t.equal(objectFiles(store).length, 2);
  t.equal(s.files, 4);
  t.equal(s.sizeBytes, lib.length + 1, 'distinct contents');
  t.equal(s.exclusiveBytes, lib.length + 1);
  await store.verifySet('s');
});

t.test('a damaged object is not reused: the new set gets good data, the old one stays damaged and is named by verify', async (t) => {
  const store = tempStore(t);
  const a = await makeSet(store, 'a', { web: { 'pages-1.img': 'good data' } });
  const obj = store.objectPath(sha('good data'));
  writeFileSync(obj, 'bad  data'); // same size, flipped content, in place: a and the object share it
  const b = await makeSet(store, 'b', { web: { 'pages-1.img': 'good data' } });
  await store.verifySet('b');
  t.not(lstatSync(join(b.dir, 'web', 'pages-1.img')).ino, lstatSync(join(a.dir, 'web', 'pages-1.img')).ino);
  t.equal(lstatSync(obj).ino, lstatSync(join(b.dir, 'web', 'pages-1.img')).ino, 'the object name now holds the good copy');
  t.ok(objectFiles(store).some((f) => f.includes('.damaged-')), 'the damaged inode was moved aside, not deleted');
  await t.rejects(store.verifySet('a'), { code: 'STORE_CORRUPT', message: /web\/pages-1\.img: content changed/ });
  await store.removeSet('a');
  const gc = await store.gc();
  t.equal(gc.removedObjects, 1, 'gc removes the damaged inode once no set holds it');
  await store.verifySet('b');
  t.notOk(objectFiles(store).some((f) => f.includes('.damaged-')));
});
