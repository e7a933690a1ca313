import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from '../../../src/store/index.js';
import { readStat } from '../../../src/util/proc.js';
import { ls, makeSet, objectFiles, tempStore } from './fixtures/helpers.js';

t.test('a second writer gets STORE_LOCKED while the first one writes', async (t) => {
  const store = tempStore(t);
  await makeSet(store, 'existing', { web: { 'a.img': 'a' } });
  const w = await store.beginSet('x', { project: 'p', services: ['web'] });
  const other = new Store(store.root, { lockWaitMs: 100 });
  await t.rejects(other.beginSet('y', { project: 'p', services: ['web'] }), {
    code: 'STORE_LOCKED',
    exitCode: 74,
    message: new RegExp(`checkpoint store ${store.root} is locked by another ckpt \\(pid ${process.pid}\\)`),
    hint: /lock file is .*\/lock/,
  });
  await t.rejects(other.removeSet('existing'), { code: 'STORE_LOCKED' }, 'removeSet takes the lock too');
  await t.rejects(other.gc(), { code: 'STORE_LOCKED' }, 'and gc');
  // readers take no lock and see only committed sets
  t.same(other.listSets().map((s) => s.name), ['existing']);
  await other.verifySet('existing');
  await w.abort();
  await makeSet(other, 'y', { web: { 'a.img': 'b' } });
});

t.test('a waiting writer proceeds once the holder commits', async (t) => {
  const store = tempStore(t);
  const w = await store.beginSet('first', { project: 'p', services: ['web'] });
  writeFileSync(join(w.serviceDir('web'), 'a.img'), 'a');
  const waiting = makeSet(new Store(store.root, { lockWaitMs: 5000 }), 'second', { web: { 'a.img': 'b' } });
  await new Promise((r) => setTimeout(r, 150));
  await w.commit();
  await waiting;
  t.same(store.listSets().map((s) => s.name).sort(), ['first', 'second']);
});

t.test('a lock left by a dead process is taken over', async (t) => {
  const store = tempStore(t);
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(child.stdout);
  t.ok(deadPid > 0 && !readStat(deadPid), `pid ${deadPid} is gone`);
  writeFileSync(join(store.root, 'lock'), `${deadPid} 12345\n`);
  await makeSet(store, 'x', { web: { 'a.img': 'a' } });
  t.notOk(existsSync(join(store.root, 'lock')), 'released after commit');
});

t.test('a lock whose pid was reused by another process is taken over', async (t) => {
  const store = tempStore(t);
  const start = readStat(process.pid)!.startTicks;
  writeFileSync(join(store.root, 'lock'), `${process.pid} ${start + 1}\n`); // our pid, another start time
  await makeSet(store, 'x', { web: { 'a.img': 'a' } });
});

for (const at of ['file', 'manifest', 'publish', 'replace'] as const) {
  t.test(`a writer killed mid-commit (at ${at}): the lock is taken over, no set is lost, gc cleans up`, async (t) => {
    const store = tempStore(t);
    const old = await makeSet(store, 'crashed', { web: { 'a.img': 'old a', 'b.img': 'old b' } });
    const script = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
    const child = spawn(process.execPath, [...process.execArgv, script, store.root, at], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const signal = await new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, sig) => r(sig)));
    t.equal(signal, 'SIGKILL', 'the writer died');
    t.match(out, /committing/);
    t.match(readFileSync(join(store.root, 'lock'), 'utf8'), new RegExp(`^${child.pid} `), 'its lock is left behind');

    const now = store.getSet('crashed');
    if (at === 'replace') {
      // it died after switching the name: the new set is complete and visible
      t.not(now.id, old.id);
      t.equal(readFileSync(join(now.dir, 'web', 'a.img'), 'utf8'), 'new a');
      t.ok(existsSync(old.dir), 'the old snapshot is left over');
    } else {
      t.equal(now.id, old.id, 'the name still holds the old set');
      t.equal(ls(join(store.root, at === 'publish' ? 'snapshots' : 'tmp')).length, at === 'publish' ? 2 : 1, 'the unfinished set is left over');
    }
    await store.verifySet('crashed');

    const r = await store.gc(); // takes over the stale lock
    t.match(r, at === 'replace' ? { removedSnapshots: 1, removedTmp: 0 } : at === 'publish' ? { removedSnapshots: 1, removedTmp: 0 } : { removedTmp: 1, removedSnapshots: 0 });
    t.same(ls(join(store.root, 'snapshots')), [store.getSet('crashed').id]);
    t.same(ls(join(store.root, 'tmp')), []);
    t.equal(objectFiles(store).length, 2, 'exactly the objects of the set that has the name');
    await store.verifySet('crashed');
    await makeSet(store, 'crashed', { web: { 'a.img': 'again' } }, { replace: true });
  });
}
