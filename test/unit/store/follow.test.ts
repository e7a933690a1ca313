import t from 'tap';
import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ImageFollower } from '../../../src/store/follow.js';
import { MANIFEST_FILE } from '../../../src/store/index.js';
import { parseManifest, type SetManifest } from '../../../src/store/manifest.js';
import { sleep } from '../../../src/util/time.js';
import { blob, tempDir, tempStore } from './fixtures/helpers.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const readSet = (dir: string): SetManifest => parseManifest(readFileSync(join(dir, MANIFEST_FILE), 'utf8'), MANIFEST_FILE);

t.test('a pages image is hashed while it grows, to the same hash as the whole file', async (t) => {
  const dir = tempDir(t);
  const follower = new ImageFollower(dir);
  const whole = blob(9 << 20);
  const path = join(dir, 'pages-1.img');
  // written in uneven pieces with pauses, as CRIU's splices land
  for (let off = 0; off < whole.length; ) {
    const n = Math.min(whole.length - off, 700_001);
    appendFileSync(path, whole.subarray(off, off + n));
    off += n;
    await sleep(3);
  }
  writeFileSync(join(dir, 'core-1.img'), 'not followed');
  const got = await follower.finish();
  t.same([...got.keys()], ['pages-1.img'], 'only pages images are followed');
  t.equal(got.get('pages-1.img')!.sha256, sha(whole));
  t.equal(got.get('pages-1.img')!.size, whole.length);
});

t.test('commit takes the followed hash only for the very file that was followed', async (t) => {
  const store = tempStore(t);
  const w = await store.beginSet('s', { project: 'p', services: ['a', 'b'] });
  const fa = w.follow('a');
  const fb = w.follow('b');
  const a = blob(3 << 20);
  writeFileSync(join(w.serviceDir('a'), 'pages-1.img'), a);
  writeFileSync(join(w.serviceDir('b'), 'pages-1.img'), a);
  await sleep(50);
  await fa.done();
  await fb.done();
  // b's image is rewritten in place after following (same inode, same size): the followed hash
  // is then wrong, and the set must still carry the hash of what is on disk.
  const b = Buffer.from(a);
  b.writeUInt8(b.readUInt8(12345) ^ 0xff, 12345);
  const fd = openSync(join(w.dir, 'b', 'pages-1.img'), 'r+');
  writeSync(fd, b.subarray(12345, 12346), 0, 1, 12345);
  closeSync(fd);
  const info = await w.commit();
  const v = await store.verifySet(info.name);
  t.equal(v.files, 2, 'the committed set verifies');
  const m = readSet(store.setDir(info.name));
  t.equal(m.services.a!.files['pages-1.img']!.sha256, sha(a), 'the followed hash of a');
  t.equal(m.services.b!.files['pages-1.img']!.sha256, sha(b), 'b hashed afresh');
});

t.test('a followed file replaced by another inode is hashed afresh', async (t) => {
  const store = tempStore(t);
  const w = await store.beginSet('r', { project: 'p', services: ['a'] });
  const f = w.follow('a');
  const dir = w.serviceDir('a');
  writeFileSync(join(dir, 'pages-1.img'), blob(1 << 20));
  await sleep(50);
  await f.done();
  const other = blob(1 << 20, 7);
  writeFileSync(join(dir, 'new.tmp'), other);
  renameSync(join(dir, 'new.tmp'), join(dir, 'pages-1.img'));
  const info = await w.commit();
  const m = readSet(store.setDir(info.name));
  t.equal(m.services.a!.files['pages-1.img']!.sha256, sha(other));
});
