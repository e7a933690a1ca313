import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CkptError } from '../../../src/errors.js';
import { Store } from '../../../src/store/index.js';
import { blob, ls, makeSet, tempDir, tempStore } from './fixtures/helpers.js';

const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

t.test('commit, then list and get', async (t) => {
  const store = tempStore(t);
  const pages = blob(300_000);
  const w = await store.beginSet('before-migration', {
    project: 'shop',
    services: ['db', 'web'],
    parent: 'base',
    manifestHash: 'abc123',
    extra: { note: 'seeded' },
  });
  t.match(w.dir, join(store.root, 'tmp'), 'written inside the store, under tmp/');
  writeFileSync(join(w.serviceDir('db'), 'pages-1.img'), pages);
  writeFileSync(join(w.serviceDir('db'), 'core-1.img'), 'core');
  writeFileSync(join(w.serviceDir('web'), 'core-7.img'), 'web core');
  t.same(store.listSets(), [], 'nothing is visible before commit');
  t.throws(() => store.getSet('before-migration'), { code: 'SET_NOT_FOUND' });

  const info = await w.commit({ stats: { frozenMs: 12 } });
  t.match(info, {
    name: 'before-migration',
    project: 'shop',
    services: ['db', 'web'],
    parent: 'base',
    manifestHash: 'abc123',
    extra: { note: 'seeded' },
    stats: { frozenMs: 12 },
    files: 3,
    sizeBytes: pages.length + 4 + 8,
    exclusiveBytes: pages.length + 4 + 8,
  });
  t.ok(Date.parse(info.createdAt) > Date.now() - 60_000, 'createdAt is an ISO time');
  t.same(store.listSets(), [info]);
  t.same(store.getSet('before-migration'), info);

  // the set directory is a plain directory of images with their names: criu restore -D
  t.equal(store.setDir('before-migration'), info.dir);
  t.equal(store.serviceDir('before-migration', 'db'), join(info.dir, 'db'));
  t.same(ls(join(info.dir, 'db')), ['core-1.img', 'pages-1.img']);
  t.same(readFileSync(join(info.dir, 'db', 'pages-1.img')), pages);
  t.same(ls(info.dir), ['db', 'set.json', 'web']);
  t.throws(() => store.serviceDir('before-migration', 'cache'), { code: 'SERVICE_UNKNOWN', message: /no service "cache"/ });

  // the name is a relative symlink to the snapshot; tmp/ is empty again
  t.equal(readlinkSync(join(store.root, 'sets', 'before-migration')), `../snapshots/${info.id}`);
  t.same(ls(join(store.root, 'tmp')), []);

  // the manifest: every file with sha256 and size, and a checksum of itself
  const m = JSON.parse(readFileSync(join(info.dir, 'set.json'), 'utf8'));
  t.match(m, {
    format: 'ckpt-set',
    version: 1,
    name: 'before-migration',
    project: 'shop',
    parent: 'base',
    services: {
      db: { files: { 'pages-1.img': { sha256: sha(pages), size: pages.length }, 'core-1.img': { sha256: sha('core'), size: 4 } } },
      web: { files: { 'core-7.img': { sha256: sha('web core'), size: 8 } } },
    },
    meta: { manifestHash: 'abc123', extra: { note: 'seeded' }, stats: { frozenMs: 12 } },
    checksum: /^sha256:[0-9a-f]{64}$/,
  });

  // each file is its object
  const st = lstatSync(join(info.dir, 'db', 'pages-1.img'));
  t.equal(lstatSync(store.objectPath(sha(pages))).ino, st.ino);
  t.equal(st.nlink, 2);
  await t.resolveMatch(store.verifySet('before-migration'), { files: 3, bytes: pages.length + 12 });
});

t.test('sets are listed oldest first; a second store instance sees them', async (t) => {
  const store = tempStore(t);
  await makeSet(store, 'b-first', { web: { 'a.img': '1' } });
  await new Promise((r) => setTimeout(r, 20)); // createdAt has millisecond resolution
  await makeSet(store, 'a-second', { web: { 'a.img': '2' } });
  t.same(new Store(store.root).listSets().map((s) => s.name), ['b-first', 'a-second']);
});

t.test('a store that does not exist yet has no sets', async (t) => {
  const store = new Store(join(tempDir(t), 'nope'));
  t.same(store.listSets(), []);
  t.throws(() => store.getSet('x'), { code: 'SET_NOT_FOUND', message: /no checkpoint set named "x"/ });
  await t.rejects(store.removeSet('x'), { code: 'SET_NOT_FOUND' });
});

t.test('a name that exists is refused unless replace is asked for', async (t) => {
  const store = tempStore(t);
  const old = await makeSet(store, 'nightly', { web: { 'a.img': 'old', 'b.img': 'shared' } });
  await t.rejects(makeSet(store, 'nightly', { web: { 'a.img': 'new' } }), {
    code: 'USAGE',
    message: /"nightly" already exists/,
    hint: /--replace/,
  });
  t.same(ls(join(store.root, 'tmp')), [], 'the refused writer left nothing');
  const fresh = await makeSet(store, 'nightly', { web: { 'a.img': 'new', 'b.img': 'shared' } }, { replace: true });
  t.not(fresh.id, old.id);
  t.equal(readFileSync(join(store.setDir('nightly'), 'web', 'a.img'), 'utf8'), 'new');
  t.notOk(existsSync(old.dir), 'the replaced snapshot is gone');
  t.notOk(existsSync(store.objectPath(sha('old'))), 'objects only it used are gone');
  t.ok(existsSync(store.objectPath(sha('shared'))), 'objects the new set shares stay');
  t.same(ls(join(store.root, 'snapshots')), [fresh.id]);
  t.same(ls(join(store.root, 'tmp')), []);
});

t.test('during a replace the name always holds a complete set', async (t) => {
  const seen: string[] = [];
  let store: Store;
  store = tempStore(t, {
    onCommitStep: (step) => {
      if (step === 'manifest' || step === 'publish' || step === 'replace') {
        seen.push(`${step}:${readFileSync(join(store.setDir('x'), 'web', 'a.img'), 'utf8')}`);
      }
    },
  });
  await makeSet(new Store(store.root), 'x', { web: { 'a.img': 'v1' } });
  await makeSet(store, 'x', { web: { 'a.img': 'v2' } }, { replace: true });
  t.same(seen, ['manifest:v1', 'publish:v1', 'replace:v2']);
  await store.verifySet('x');
});

t.test('abort removes the temporary directory and releases the lock', async (t) => {
  const store = tempStore(t);
  const w = await store.beginSet('x', { project: 'p', services: ['web'] });
  writeFileSync(join(w.serviceDir('web'), 'a.img'), 'a');
  await w.abort();
  await w.abort();
  t.notOk(existsSync(w.dir));
  t.same(store.listSets(), []);
  t.throws(() => w.serviceDir('web'), /already committed or aborted/);
  await t.rejects(w.commit(), /already committed or aborted/);
  await makeSet(store, 'x', { web: { 'a.img': 'a' } }); // the lock is free
});

t.test('the writer checks what it is given', async (t) => {
  const store = tempStore(t);
  await t.rejects(store.beginSet('x', { project: '', services: ['web'] }), { code: 'USAGE', message: /no project/ });
  await t.rejects(store.beginSet('x', { project: 'p', services: [] }), { code: 'USAGE', message: /no services/ });
  await t.rejects(store.beginSet('x', { project: 'p', services: ['web', 'web'] }), { code: 'USAGE', message: /twice/ });
  await t.rejects(store.beginSet('x', { project: 'p', services: ['../etc'] }), { code: 'USAGE', message: /invalid service name/ });
  await t.rejects(store.beginSet('x', { project: 'p', services: ['set.json'] }), { code: 'USAGE' });
  await t.rejects(store.beginSet('x', { project: 'p', services: ['web'], parent: 'no/such' }), { code: 'USAGE' });

  const w = await store.beginSet('x', { project: 'p', services: ['web', 'db'] });
  t.throws(() => w.serviceDir('cache'), { code: 'SERVICE_UNKNOWN' });
  writeFileSync(join(w.serviceDir('web'), 'a.img'), 'a');
  await t.rejects(w.commit(), /service "db" of set "x" has no files/, 'a service without images is a bug of the caller');
  t.same(store.listSets(), []);
  t.same(ls(join(store.root, 'tmp')), []);
  t.same(ls(join(store.root, 'objects')).flatMap((p) => ls(join(store.root, 'objects', p))), [], 'no objects left behind');

  for (const [what, make, msg] of [
    ['a subdirectory', (d: string) => mkdirSync(join(d, 'sub')), /not a regular file/],
    ['a symlink (like CRIU incremental "parent")', (d: string) => symlinkSync('/tmp', join(d, 'parent')), /not a regular file/],
  ] as const) {
    const w2 = await store.beginSet('y', { project: 'p', services: ['web'] });
    writeFileSync(join(w2.serviceDir('web'), 'a.img'), 'a');
    make(w2.serviceDir('web'));
    await t.rejects(w2.commit(), msg, what);
    t.same(store.listSets(), [], `${what}: no set`);
  }
  const w3 = await store.beginSet('z', { project: 'p', services: ['web'] });
  writeFileSync(join(w3.serviceDir('web'), 'a.img'), 'a');
  writeFileSync(join(w3.dir, 'stray'), 'x');
  await t.rejects(w3.commit(), /only one directory per service/);
});

t.test('a file hard-linked in from outside the store is stored as a private copy', async (t) => {
  const store = tempStore(t);
  const outside = join(tempDir(t), 'image.img');
  writeFileSync(outside, 'outside');
  const w = await store.beginSet('x', { project: 'p', services: ['web'] });
  linkSync(outside, join(w.serviceDir('web'), 'a.img'));
  const info = await w.commit();
  const stored = lstatSync(join(info.dir, 'web', 'a.img'));
  t.not(stored.ino, lstatSync(outside).ino, 'writing the outside path cannot change the object');
  t.equal(lstatSync(outside).nlink, 1);
  t.equal(stored.nlink, 2);
  writeFileSync(outside, 'changed');
  await store.verifySet('x');
});

t.test('a file linked in from another set of the store is reused as is', async (t) => {
  const store = tempStore(t);
  const a = await makeSet(store, 'a', { web: { 'pages-1.img': blob(10_000) } });
  const w = await store.beginSet('b', { project: 'p', services: ['web'] });
  linkSync(join(a.dir, 'web', 'pages-1.img'), join(w.serviceDir('web'), 'pages-1.img'));
  const b = await w.commit();
  t.equal(lstatSync(join(b.dir, 'web', 'pages-1.img')).ino, lstatSync(join(a.dir, 'web', 'pages-1.img')).ino);
  await store.verifySet('b');
});

t.test('init reports a store path it cannot use', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'file'), '');
  const store = new Store(join(dir, 'file', 'store'));
  t.throws(() => store.init(), { code: 'STORE_UNWRITABLE', message: /not a directory/, hint: /--store/ });
  await t.rejects(store.beginSet('x', { project: 'p', services: ['web'] }), { code: 'STORE_UNWRITABLE' });
});
