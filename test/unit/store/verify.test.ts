import t from 'tap';
import { appendFileSync, existsSync, mkdirSync, openSync, readFileSync, closeSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CkptError } from '../../../src/errors.js';
import type { Store } from '../../../src/store/index.js';
import { blob, makeSet, tempStore, type Teardown } from './fixtures/helpers.js';

async function fixture(t: Teardown): Promise<{ store: Store; dir: string }> {
  const store = tempStore(t);
  const info = await makeSet(store, 'set1', {
    db: { 'pages-1.img': blob(200_000, 5), 'core-1.img': 'core' },
    web: { 'pages-1.img': blob(50_000, 9), 'inventory.img': 'inv' },
  });
  return { store, dir: info.dir };
}

function flipByte(path: string, at: number): void {
  const buf = readFileSync(path);
  const fd = openSync(path, 'r+'); // root ignores the 0400 mode, as CRIU would
  writeSync(fd, Buffer.from([buf[at]! ^ 0x01]), 0, 1, at);
  closeSync(fd);
}

const cases: [string, (dir: string) => void, RegExp][] = [
  ['a flipped byte', (d) => flipByte(join(d, 'db', 'pages-1.img'), 123_456), /db\/pages-1\.img: content changed/],
  ['a truncated file', (d) => truncateSync(join(d, 'db', 'pages-1.img'), 4096), /db\/pages-1\.img: 4096 bytes, expected 200000 \(truncated\)/],
  ['a file grown', (d) => appendFileSync(join(d, 'web', 'inventory.img'), 'x'), /web\/inventory\.img: 4 bytes, expected 3/],
  ['a missing file', (d) => rmSync(join(d, 'web', 'inventory.img')), /web\/inventory\.img: missing/],
  ['an extra file', (d) => writeFileSync(join(d, 'web', 'stats-restore'), 'x'), /web\/stats-restore: not in the manifest/],
  ['an extra service directory', (d) => mkdirSync(join(d, 'cache')), /cache: not in the manifest/],
  ['a missing service directory', (d) => rmSync(join(d, 'web'), { recursive: true }), /web\/: directory missing/],
  ['a file replaced by a symlink', (d) => (rmSync(join(d, 'db', 'core-1.img')), symlinkSync('/etc/hostname', join(d, 'db', 'core-1.img'))), /db\/core-1\.img: not a regular file/],
];

for (const [what, damage, message] of cases) for (const trustUnchanged of [false, true]) {
  t.test(`verify${trustUnchanged ? ' (trusting unchanged files)' : ''} detects ${what}, naming the file`, async (t) => {
    const { store, dir } = await fixture(t);
    await t.resolveMatch(store.verifySet('set1', { trustUnchanged }), { name: 'set1', files: 4, services: ['db', 'web'] }, 'intact first');
    damage(dir);
    const err = await store.verifySet('set1', { trustUnchanged }).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.type(err, CkptError);
    t.match(err, { code: 'STORE_CORRUPT', exitCode: 74, message: message, hint: /Do not restore it/ });
    t.match((err as CkptError).message, /^checkpoint set "set1" is damaged: /);
    t.match((err as CkptError).details.join('\n'), message);
  });
}

t.test('a file hashed at commit is not read again while its inode is unchanged; a write is seen even with its mtime put back', async (t) => {
  const { store, dir } = await fixture(t);
  await t.resolveMatch(store.verifySet('set1', { trustUnchanged: true }), { files: 4, unchanged: 4 }, 'commit hashed them all');
  await t.resolveMatch(store.verifySet('set1'), { files: 4, unchanged: 0 }, 'a plain verify re-hashes everything');
  const path = join(dir, 'db', 'pages-1.img');
  const { atime, mtime } = statSync(path);
  flipByte(path, 777);
  utimesSync(path, atime, mtime); // mtime back as it was: ctime still moved
  await t.rejects(store.verifySet('set1', { trustUnchanged: true }), { code: 'STORE_CORRUPT', message: /db\/pages-1\.img: content changed/ });
  flipByte(path, 777); // the content is right again, but the inode changed: hashed once more, then trusted
  await t.resolveMatch(store.verifySet('set1', { trustUnchanged: true }), { files: 4, unchanged: 3 });
  await t.resolveMatch(store.verifySet('set1', { trustUnchanged: true }), { files: 4, unchanged: 4 });
  writeFileSync(join(store.root, 'verified.json'), '{not json');
  await t.resolveMatch(store.verifySet('set1', { trustUnchanged: true }), { files: 4, unchanged: 0 }, 'a damaged cache only costs re-hashing');
});

t.test('all problems are listed in details, the first in the message', async (t) => {
  const { store, dir } = await fixture(t);
  flipByte(join(dir, 'web', 'pages-1.img'), 10);
  rmSync(join(dir, 'db', 'core-1.img'));
  await t.rejects(store.verifySet('set1'), {
    message: /db\/core-1\.img: missing \(and 1 more problem\)/,
    details: ['db/core-1.img: missing', /^web\/pages-1\.img: content changed/],
  });
});

t.test('verify can check some services only', async (t) => {
  const { store, dir } = await fixture(t);
  flipByte(join(dir, 'web', 'pages-1.img'), 10);
  await t.resolveMatch(store.verifySet('set1', { services: ['db'] }), { services: ['db'], files: 2 });
  await t.rejects(store.verifySet('set1', { services: ['web'] }), { code: 'STORE_CORRUPT' });
  await t.rejects(store.verifySet('set1', { services: ['cache'] }), { code: 'SERVICE_UNKNOWN', hint: /db, web/ });
});

const manifestCases: [string, (m: string) => string, RegExp][] = [
  ['a changed size', (m) => m.replace(/"size": 4\b/, '"size": 5'), /set\.json: checksum mismatch/],
  ['a changed sha256', (m) => m.replace(/"sha256": "([0-9a-f])/, (_, c: string) => `"sha256": "${c === 'a' ? 'b' : 'a'}`), /set\.json: checksum mismatch/],
  ['a file dropped from the manifest', (m) => {
    const j = JSON.parse(m);
    delete j.services.db.files['core-1.img'];
    return JSON.stringify(j);
  }, /set\.json: checksum mismatch/],
  ['a changed checksum', (m) => m.replace(/"checksum": "sha256:[0-9a-f]{4}/, '"checksum": "sha256:0000'), /set\.json: checksum mismatch/],
  ['no checksum', (m) => {
    const j = JSON.parse(m);
    delete j.checksum;
    return JSON.stringify(j);
  }, /set\.json: has no checksum/],
  ['broken JSON', (m) => m.slice(0, 40), /set\.json: not valid JSON/],
];

for (const [what, tamper, message] of manifestCases) {
  t.test(`a tampered manifest is detected: ${what}`, async (t) => {
    const { store, dir } = await fixture(t);
    const path = join(dir, 'set.json');
    const text = readFileSync(path, 'utf8');
    const changed = tamper(text);
    t.not(changed, text);
    writeFileSync(path, changed);
    await t.rejects(store.verifySet('set1'), { code: 'STORE_CORRUPT', message });
    t.throws(() => store.getSet('set1'), { code: 'STORE_CORRUPT', message });
    const broken: string[] = [];
    t.same(store.listSets({ onBroken: (name, e) => broken.push(`${name}: ${e.code}`) }), [], 'listing leaves it out');
    t.same(broken, ['set1: STORE_CORRUPT'], 'and reports it');
  });
}

t.test('re-indenting the manifest is not tampering (the checksum covers canonical JSON)', async (t) => {
  const { store, dir } = await fixture(t);
  const path = join(dir, 'set.json');
  writeFileSync(path, JSON.stringify(JSON.parse(readFileSync(path, 'utf8'))));
  await store.verifySet('set1');
});

t.test('a missing manifest is reported', async (t) => {
  const { store, dir } = await fixture(t);
  rmSync(join(dir, 'set.json'));
  await t.rejects(store.verifySet('set1'), { code: 'STORE_CORRUPT', message: /set\.json is missing/ });
});

t.test('a damaged name is reported, and can be removed', async (t) => {
  const { store } = await fixture(t);
  const link = join(store.root, 'sets', 'set1');
  rmSync(link);
  symlinkSync('/etc', link);
  t.throws(() => store.getSet('set1'), { code: 'STORE_CORRUPT', message: /points at \/etc/, hint: /ckpt rm set1/ });
  const broken: string[] = [];
  t.same(store.listSets({ onBroken: (n) => broken.push(n) }), []);
  t.same(broken, ['set1']);
  t.same(await store.removeSet('set1'), { freedBytes: 0 }, 'as the hint says, it can be removed');
  t.ok(existsSync('/etc/hostname') || existsSync('/etc'), 'and what it pointed at is untouched');
  t.throws(() => store.getSet('set1'), { code: 'SET_NOT_FOUND' });
  writeFileSync(link, 'not a link');
  t.same(store.listSets(), [], 'a plain file in sets/ is not a set');
  t.throws(() => store.getSet('set1'), { code: 'STORE_CORRUPT', message: /not a symlink/ });
  await store.removeSet('set1');
  t.same((await store.gc()).removedSnapshots, 1, 'the snapshot it had named is unreferenced now');
});

t.test('a damaged file shared with another set damages both (they share the inode): verify names it in each', async (t) => {
  const store = tempStore(t);
  const pages = blob(10_000, 2);
  const a = await makeSet(store, 'a', { web: { 'pages-1.img': pages } });
  await makeSet(store, 'b', { web: { 'pages-1.img': pages } });
  flipByte(join(a.dir, 'web', 'pages-1.img'), 5);
  await t.rejects(store.verifySet('a'), { message: /web\/pages-1\.img: content changed/ });
  await t.rejects(store.verifySet('b'), { message: /web\/pages-1\.img: content changed/, hint: /verify the other sets too/ });
});
