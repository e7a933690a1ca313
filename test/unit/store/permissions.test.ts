import t from 'tap';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../../src/store/index.js';
import { makeSet, tempDir, walk } from './fixtures/helpers.js';

for (const umask of [0o000, 0o022, 0o077]) {
  t.test(`directories are 0700 and files 0400 whatever the umask (${umask.toString(8).padStart(3, '0')})`, async (t) => {
    const old = process.umask(umask);
    t.teardown(() => void process.umask(old));
    const root = join(tempDir(t), 'a', 'store');
    const store = new Store(root);
    await makeSet(store, 'one', { db: { 'pages-1.img': 'secret memory', 'core-1.img': 'c' }, web: { 'x.img': 'y' } });
    await makeSet(store, 'two', { db: { 'pages-1.img': 'secret memory', 'core-1.img': 'd' }, web: { 'x.img': 'z' } });
    t.equal(lstatSync(root).mode & 0o7777, 0o700, 'the root it created');
    const entries = walk(root);
    t.ok(entries.length > 10);
    for (const e of entries) {
      if (e.isLink) continue;
      t.equal(e.mode, e.isDir ? 0o700 : 0o400, `${e.rel} is ${e.mode.toString(8)}`);
    }
  });
}

t.test('the lock file is 0600 while a writer holds it', async (t) => {
  const old = process.umask(0);
  t.teardown(() => void process.umask(old));
  const store = new Store(join(tempDir(t), 'store'));
  const w = await store.beginSet('x', { project: 'p', services: ['web'] });
  t.equal(lstatSync(join(store.root, 'lock')).mode & 0o7777, 0o600);
  t.equal(lstatSync(w.dir).mode & 0o7777, 0o700, 'the temporary set directory');
  t.equal(lstatSync(w.serviceDir('web')).mode & 0o7777, 0o700, 'the service directories');
  await w.abort();
});
