import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blob, ls, makeSet, objectFiles, tempStore } from './fixtures/helpers.js';

const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

t.test('removeSet removes the set and the objects only it used, and nothing of the others', async (t) => {
  const store = tempStore(t);
  const shared = blob(100_000, 1);
  const a = await makeSet(store, 'a', { web: { 'pages-1.img': shared, 'core-1.img': 'only in a' } });
  const b = await makeSet(store, 'b', { web: { 'pages-1.img': shared, 'core-1.img': 'only in b' } });
  const manifestBytes = statSync(join(a.dir, 'set.json')).size;
  const r = await store.removeSet('a');
  t.equal(r.freedBytes, 'only in a'.length + manifestBytes, 'frees what only a held, and its manifest');
  t.same(store.listSets().map((s) => s.name), ['b']);
  t.throws(() => store.getSet('a'), { code: 'SET_NOT_FOUND' });
  t.notOk(existsSync(a.dir));
  t.notOk(existsSync(store.objectPath(sha('only in a'))));
  t.ok(existsSync(store.objectPath(sha(shared))));
  t.same(readFileSync(join(b.dir, 'web', 'pages-1.img')), shared);
  await store.verifySet('b');
  t.same(ls(join(store.root, 'tmp')), []);
  await t.rejects(store.removeSet('a'), { code: 'SET_NOT_FOUND' });
  t.same(await store.gc(), { removedObjects: 0, freedBytes: 0, removedTmp: 0, removedSnapshots: 0 }, 'nothing left for gc');
});

t.test('a restored process keeps its mapped image when the set is removed', async (t) => {
  const store = tempStore(t);
  const a = await makeSet(store, 'a', { web: { 'pages-1.img': 'mapped pages' } });
  const { open } = await import('node:fs/promises');
  const fh = await open(join(a.dir, 'web', 'pages-1.img'), 'r'); // stands in for an mmap: it holds the inode
  t.teardown(() => fh.close());
  await store.removeSet('a');
  await store.gc();
  const buf = Buffer.alloc(12);
  await fh.read(buf, 0, 12, 0);
  t.equal(buf.toString(), 'mapped pages');
});

t.test('gc removes orphan objects, stale tmp dirs and unreferenced snapshots, never what a set uses', async (t) => {
  const store = tempStore(t);
  const keep = await makeSet(store, 'keep', { db: { 'pages-1.img': blob(50_000, 4), 'core-1.img': 'core' } });
  const gone = await makeSet(store, 'gone', { db: { 'pages-1.img': blob(60_000, 5), 'core-1.img': 'core' } });

  // an orphan object (e.g. a commit that died after linking it)
  mkdirSync(join(store.root, 'objects', 'ff'), { recursive: true });
  writeFileSync(join(store.root, 'objects', 'ff', 'f'.repeat(64)), 'orphan!');
  // a writer that died mid-dump: tmp/<id>/ with an image not yet stored
  mkdirSync(join(store.root, 'tmp', 'dead-writer', 'web'), { recursive: true });
  writeFileSync(join(store.root, 'tmp', 'dead-writer', 'web', 'pages-1.img'), blob(1000));
  // a crash between switching a name and removing the old set: an unreferenced snapshot
  renameSync(join(store.root, 'sets', 'gone'), join(store.root, 'gone-link-moved-away'));

  const before = objectFiles(store).length;
  const goneManifest = statSync(join(gone.dir, 'set.json')).size;
  const r = await store.gc();
  t.equal(r.removedTmp, 1);
  t.equal(r.removedSnapshots, 1);
  t.equal(r.removedObjects, 1, 'the orphan (the unreferenced snapshot pruned its own objects)');
  t.equal(r.freedBytes, 'orphan!'.length + 1000 + 60_000 + goneManifest, 'orphan + private tmp image + what only the snapshot held');
  t.equal(objectFiles(store).length, before - 2, 'orphan and gone\'s pages');
  t.notOk(existsSync(gone.dir));
  t.same(ls(join(store.root, 'tmp')), []);
  t.ok(existsSync(store.objectPath(sha('core'))), 'core is still used by keep');
  await store.verifySet('keep');
  t.equal(store.getSet('keep').dir, keep.dir);
  t.same(await store.gc(), { removedObjects: 0, freedBytes: 0, removedTmp: 0, removedSnapshots: 0 }, 'gc is idempotent');
});

t.test('gc keeps every snapshot when a name cannot be read', async (t) => {
  const store = tempStore(t);
  const a = await makeSet(store, 'a', { web: { 'a.img': 'a' } });
  await makeSet(store, 'b', { web: { 'b.img': 'b' } });
  renameSync(join(store.root, 'sets', 'a'), join(store.root, 'a-moved'));
  symlinkSync('somewhere/else', join(store.root, 'sets', 'weird'));
  const r = await store.gc();
  t.equal(r.removedSnapshots, 0);
  t.ok(existsSync(a.dir), 'better a leftover than a lost set');
});

t.test('gc never takes data from a set, even with every objects/ name gone', async (t) => {
  const store = tempStore(t);
  const a = await makeSet(store, 'a', { web: { 'pages-1.img': blob(5000, 8) } });
  for (const f of objectFiles(store)) renameSync(join(store.root, 'objects', f), join(store.root, 'objects', `${f}.x`));
  await store.gc();
  await store.verifySet('a');
  t.ok(existsSync(join(a.dir, 'web', 'pages-1.img')));
});
