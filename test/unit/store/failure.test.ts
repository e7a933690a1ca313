import t from 'tap';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CkptError } from '../../../src/errors.js';
import { Store, type CommitStep } from '../../../src/store/index.js';
import { blob, ls, makeSet, objectFiles, tempDir, tempStore } from './fixtures/helpers.js';

const enospc = (): NodeJS.ErrnoException => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });

/** A store whose commits throw `error()` at `at` (for 'file': after the first file is stored). */
function failingStore(t: Parameters<typeof tempStore>[0], at: CommitStep, error: () => Error): { store: Store; clean: Store } {
  const started = new Set<string>();
  const store = tempStore(t, {
    concurrency: 1,
    onCommitStep: (step, path) => {
      if (step === 'file' && !started.has(dirname(dirname(path)))) return void started.add(dirname(dirname(path)));
      if (step === at) throw error();
    },
  });
  return { store, clean: new Store(store.root) };
}

for (const at of ['file', 'manifest', 'publish'] as const) {
  t.test(`a commit failing at ${at}: no set appears, the old set is intact, nothing is left`, async (t) => {
    const { store, clean } = failingStore(t, at, () => new Error(`injected at ${at}`));
    const old = await makeSet(clean, 'nightly', { web: { 'pages-1.img': blob(20_000, 1), 'core-1.img': 'old core' } });
    const objectsBefore = objectFiles(store);

    await t.rejects(
      makeSet(store, 'nightly', { web: { 'pages-1.img': blob(30_000, 2), 'core-1.img': 'new core', 'z.img': 'z' } }, { replace: true }),
      { message: `injected at ${at}` },
    );
    t.same(store.getSet('nightly'), old, 'the name still holds the old set');
    await store.verifySet('nightly');
    t.same(ls(join(store.root, 'tmp')), [], 'the temporary directory is removed');
    t.same(ls(join(store.root, 'snapshots')), [old.id]);
    t.same(objectFiles(store), objectsBefore, 'the objects this commit added are removed');

    await t.rejects(makeSet(store, 'fresh', { web: { 'a.img': 'a', 'b.img': 'b' } }), { message: `injected at ${at}` });
    t.same(store.listSets().map((s) => s.name), ['nightly'], 'a new name does not appear either');
    await makeSet(clean, 'fresh', { web: { 'a.img': 'a' } }); // and the lock was released
  });
}

t.test('a failure after the name is switched does not fail the commit; gc removes the old snapshot', async (t) => {
  const { store, clean } = failingStore(t, 'replace', () => new Error('injected at replace'));
  const old = await makeSet(clean, 'nightly', { web: { 'a.img': 'old' } });
  const fresh = await makeSet(store, 'nightly', { web: { 'a.img': 'new' } }, { replace: true });
  t.equal(store.getSet('nightly').id, fresh.id);
  t.ok(existsSync(old.dir));
  const r = await store.gc();
  t.match(r, { removedSnapshots: 1, removedObjects: 0 });
  t.ok(r.freedBytes >= 3, 'the old content and manifest');
  t.notOk(existsSync(old.dir));
  t.equal(objectFiles(store).length, 1);
  await store.verifySet('nightly');
});

for (const at of ['file', 'manifest'] as const) {
  t.test(`ENOSPC during commit (at ${at}) is STORE_UNWRITABLE naming the file, and nothing is half-visible`, async (t) => {
    const { store, clean } = failingStore(t, at, enospc);
    const old = await makeSet(clean, 'x', { web: { 'a.img': 'old' } });
    const err = await makeSet(store, 'x', { web: { 'a.img': 'new a', 'b.img': 'new b' } }, { replace: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.type(err, CkptError);
    const file = at === 'file' ? /tmp\/[^/]+\/web\/b\.img$/ : /tmp\/[^/]+\/set\.json$/;
    t.match(err, { code: 'STORE_UNWRITABLE', exitCode: 74, message: /^no space left on device writing / });
    t.match((err as CkptError).message, file);
    t.match((err as CkptError).hint, /Free space .*ckpt gc.*--store.*The set was not created; any set of that name is unchanged\./);
    t.same(store.getSet('x'), old);
    t.same(ls(join(store.root, 'tmp')), []);
  });
}

/** Why a tmpfs cannot be mounted here (the reason to skip), or false when it can. */
function cannotMount(): string | false {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs';
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-mount-probe-'));
  try {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
    if (r.status !== 0) return `cannot mount a tmpfs here: ${(r.stderr || String(r.error)).trim()}`;
    spawnSync('umount', [dir]);
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const noMount = cannotMount();

function tmpfs(t: Parameters<typeof tempDir>[0], options: string): string {
  const mnt = join(tempDir(t), 'mnt');
  mkdirSync(mnt);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mnt], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount failed: ${r.stderr}`);
  t.teardown(() => void spawnSync('umount', [mnt]));
  return mnt;
}

t.test('a real full disk (tmpfs) and a read-only store', { skip: noMount }, async (t) => {
  const mnt = tmpfs(t, 'size=256k,mode=0700');

  const store = new Store(join(mnt, 'store'), { lockWaitMs: 200 });
  const old = await makeSet(store, 'old', { web: { 'a.img': 'small' } });

  const w = await store.beginSet('big', { project: 'p', services: ['web'] });
  // CRIU fills the disk with pages, and just fits: the manifest written last does not
  const fd = openSync(join(w.serviceDir('web'), 'pages-1.img'), 'w');
  try {
    for (;;) writeSync(fd, blob(4096, 3));
  } catch (e) {
    t.equal((e as NodeJS.ErrnoException).code, 'ENOSPC', 'the disk is full');
  } finally {
    closeSync(fd);
  }
  await t.rejects(w.commit(), { code: 'STORE_UNWRITABLE', message: /^no space left on device writing .*\/set\.json$/ });
  t.same(store.listSets().map((s) => s.name), ['old'], 'nothing half-visible');
  await store.verifySet('old');
  t.same(ls(join(store.root, 'tmp')), [], 'the space is given back');
  await makeSet(store, 'after', { web: { 'a.img': 'fits again' } });

  spawnSync('mount', ['-o', 'remount,ro', mnt]);
  t.teardown(() => void spawnSync('mount', ['-o', 'remount,rw', mnt]));
  await t.rejects(makeSet(store, 'ro', { web: { 'a.img': 'x' } }), { code: 'STORE_UNWRITABLE', message: /read-only filesystem/ });
  t.same(store.listSets().map((s) => s.name), ['old', 'after'], 'a read-only store can still be read');
  await store.verifySet('old');
  t.equal(old.name, 'old');
});

t.test('init refuses a store on a read-only filesystem', { skip: noMount }, async (t) => {
  const mnt = tmpfs(t, 'size=64k,ro');
  t.throws(() => new Store(join(mnt, 'a', 'store')).init(), { code: 'STORE_UNWRITABLE', message: /read-only/, hint: /--store/ });
});
