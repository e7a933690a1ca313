// Volumes on btrfs and XFS: loop-mounted images made by the test (btrfs-progs, xfsprogs). On each,
// a process service's volume is captured by the cheap method (a btrfs snapshot, an XFS reflink),
// comes back from the set in a restore and a clone the same way, and the set's read-only btrfs
// snapshot goes with `rm`; on the root filesystem (ext4 here) the same stack falls back to a copy.
import t, { type Test } from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { captureMethod, captureTree, materializeTree, methodBetween, removeTreeSync } from '../../src/data/snapshot.js';
import { checkTree, indexTree, sameAsIndex } from '../../src/store/data-index.js';
import { VerifiedFiles } from '../../src/store/verified.js';
import { requireIntegration, tempDir, writeManifest } from '../helpers/env.js';
import { alive, stackTracker } from '../fixtures/stack-util.js';

const have = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** A loop-mounted filesystem of `kind` in `dir`; unmounted at teardown. */
function loopFs(t: Test, dir: string, kind: 'btrfs' | 'xfs'): string {
  const img = join(dir, `${kind}.img`);
  const mnt = join(dir, kind);
  mkdirSync(mnt);
  execFileSync('truncate', ['-s', '1200M', img]);
  if (kind === 'btrfs') execFileSync('mkfs.btrfs', ['-q', img], { stdio: 'ignore' });
  else execFileSync('mkfs.xfs', ['-q', '-m', 'reflink=1', img]);
  execFileSync('mount', ['-o', 'loop', img, mnt]);
  t.teardown(() => void spawnSync('umount', ['-l', mnt]));
  return mnt;
}

function needsTools(t: Test): boolean {
  const missing = ['mkfs.btrfs', 'mkfs.xfs', 'btrfs'].filter((x) => !have(x));
  if (missing.length === 0) return true;
  const msg = `needs ${missing.join(', ')} (apt-get install btrfs-progs xfsprogs; scripts/bootstrap.sh does)`;
  if (process.env.CI === 'true') t.fail(msg);
  else t.skip(msg, () => undefined);
  return false;
}

t.test('the data methods on loop-mounted btrfs and XFS: capture, index, bring back', async (t) => {
  if (!requireIntegration(t) || !needsTools(t)) return;
  const dir = tempDir(t);
  for (const [kind, want] of [['btrfs', 'btrfs-snapshot'], ['xfs', 'reflink']] as const) {
    const fs = loopFs(t, dir, kind);
    const volumes = join(fs, 'volumes');
    const store = join(fs, 'store');
    mkdirSync(store, { recursive: true });
    mkdirSync(volumes, { recursive: true });
    t.equal(methodBetween(volumes, store).method, want, `${kind}: doctor's method is ${want}`);
    const vol = join(volumes, 'v');
    if (kind === 'btrfs') execFileSync('btrfs', ['-q', 'subvolume', 'create', vol]);
    else mkdirSync(vol);
    execFileSync('dd', ['if=/dev/urandom', `of=${join(vol, 'blob')}`, 'bs=1M', 'count=64', 'status=none']);
    mkdirSync(join(vol, 'sub'));
    writeFileSync(join(vol, 'sub', 'f'), 'hello');
    chmodSync(join(vol, 'sub', 'f'), 0o600);
    execFileSync('chown', ['65534:65534', join(vol, 'sub', 'f')]);
    const m = captureMethod(vol, store);
    t.equal(m.method, want, `${kind}: a volume is captured by ${want} (${m.why})`);
    const cap = join(store, 'cap');
    await captureTree(vol, cap, m.method);
    const known = new VerifiedFiles(store);
    const index = await indexTree(cap, m.method, known);
    t.equal(index.files, 2, 'the index lists both files');
    t.ok(sameAsIndex(vol, index), 'the live volume is the captured tree, entry for entry');
    t.same(await checkTree(cap, index, known, true), [], 'and the capture passes a deep check');
    if (kind === 'btrfs') t.throws(() => writeFileSync(join(cap, 'x'), 'x'), /EROFS|read-only/i, 'the snapshot in the store is read-only');
    // the volume moves on; the capture does not
    writeFileSync(join(vol, 'sub', 'f'), 'changed');
    t.notOk(sameAsIndex(vol, index), 'a write to the volume is seen against the index');
    const back = join(volumes, 'back');
    t.equal(await materializeTree(cap, back), want, `${kind}: brought back by ${want} as well`);
    t.equal(readFileSync(join(back, 'sub', 'f'), 'utf8'), 'hello', 'with the content at the capture');
    const st = statSync(join(back, 'sub', 'f'));
    t.same([st.uid, st.mode & 0o777], [65534, 0o600], 'owner and mode kept');
    writeFileSync(join(back, 'sub', 'f'), 'mine');
    t.equal(readFileSync(join(cap, 'sub', 'f'), 'utf8'), 'hello', 'writing the copy leaves the capture alone');
    t.same(await checkTree(cap, index, known, true), [], 'the capture still passes');
    // extents are shared: 64 MiB three times over costs about one (df)
    const used = Number(execFileSync('df', ['--output=used', '-B1M', fs], { encoding: 'utf8' }).trim().split('\n').pop());
    t.ok(used < 64 * 2 + 40, `${kind}: the volume, its capture and the copy share their extents (${used} MiB used)`);
    removeTreeSync(cap);
    t.notOk(existsSync(cap), 'a capture (a read-only snapshot on btrfs) is removed');
  }
});

t.test('a process service whose volume is on btrfs: the checkpoint snapshots it, restore and clone snapshot it back, rm removes it', { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true }) || !needsTools(t)) return;
  const dir = tempDir(t);
  const fs = loopFs(t, dir, 'btrfs');
  const before = process.env.CKPT_VOLUMES;
  process.env.CKPT_VOLUMES = join(fs, 'volumes');
  t.teardown(() => {
    if (before === undefined) delete process.env.CKPT_VOLUMES;
    else process.env.CKPT_VOLUMES = before;
  });
  const storeRoot = join(fs, 'store');
  const script = join(dir, 'count.sh');
  writeFileSync(script, '#!/bin/sh\ni=0\nwhile true; do i=$((i+1)); echo $i >> /data/log; sleep 0.02; done\n');
  chmodSync(script, 0o755);
  const name = `btr${process.pid}`;
  const file = writeManifest(dir, `name: ${name}\nservices:\n  app:\n    command: ["${script}"]\n    x-ckpt: {runtime: process}\n    volumes: ["data:/data"]\nvolumes:\n  data: {}\n`);
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const { seen, track } = stackTracker(ctx, name);
  t.teardown(async () => {
    for (const p of [name, `${name}c`]) if (core.readStack(ctx, p)) await core.down(ctx, p, { timeoutMs: 1000, volumes: true });
    for (const p of alive(seen)) process.kill(p, 'SIGKILL');
  });
  await core.up(ctx, await core.loadProject({ file }), {});
  track();
  const vol = join(fs, 'volumes', `${name}_data`);
  t.equal(statSync(vol).ino, 256, 'the new volume is a btrfs subvolume');
  await new Promise((r) => setTimeout(r, 300));
  const cp = await core.checkpoint(ctx, name, 's', { storeRoot });
  const data = cp.services[0]!.data ?? [];
  t.same(data.map((d) => d.method), ['btrfs-snapshot'], `captured by a snapshot (${data[0]?.ms.toFixed(1)} ms of the frozen ${cp.frozenMs.toFixed(0)} ms)`);
  const atCut = readFileSync(join(cp.set.dir, '.data', 'app', 'data', 'log'), 'utf8');
  await core.down(ctx, name, { timeoutMs: 1000 });
  const r = await core.restore(ctx, 's', { storeRoot, replace: true });
  track();
  t.same(r.services[0]!.data?.map((d) => d.method), ['btrfs-snapshot'], 'the restore snapshots it back');
  await new Promise((res) => setTimeout(res, 200));
  const log = readFileSync(join(vol, 'log'), 'utf8').trim().split('\n').map(Number);
  const n = atCut.trim().split('\n').length;
  t.same(log.slice(0, n), atCut.trim().split('\n').map(Number), 'the volume starts with what it held at the cut');
  t.ok(log.length > n && log.every((v, i) => v === i + 1), 'and the restored program carries on from there, no gap, no repeat');
  const c = await core.restore(ctx, 's', { storeRoot, as: `${name}c` });
  track();
  t.same(c.services[0]!.data?.map((d) => d.method), ['btrfs-snapshot'], 'a clone gets its volume as a snapshot too');
  t.equal(statSync(join(fs, 'volumes', `${name}c_data`)).ino, 256, 'a subvolume of its own');
  await core.down(ctx, `${name}c`, { timeoutMs: 1000, volumes: true });
  t.notOk(existsSync(join(fs, 'volumes', `${name}c_data`)), 'down -v removes the clone\'s subvolume');
  const setDir = cp.set.dir;
  await core.removeSet(storeRoot, 's');
  t.notOk(existsSync(setDir), 'rm removes the set, its read-only snapshot included');
  t.equal(spawnSync('btrfs', ['subvolume', 'list', fs], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes('.data')).length, 0, 'no subvolume of the set is left');
});

t.test('on the root filesystem (ext4 here) the same stack falls back to a copy and says so', { timeout: 60_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  if (captureMethod(dir, dir).method !== 'copy') return void t.skip('the temporary directory is on a filesystem with reflinks', () => undefined);
  const before = process.env.CKPT_VOLUMES;
  process.env.CKPT_VOLUMES = join(dir, 'volumes');
  t.teardown(() => {
    if (before === undefined) delete process.env.CKPT_VOLUMES;
    else process.env.CKPT_VOLUMES = before;
  });
  const name = `cpy${process.pid}`;
  const file = writeManifest(dir, `name: ${name}\nservices:\n  app:\n    command: ["sh", "-c", "echo x > /data/f; exec sleep 1000"]\n    x-ckpt: {runtime: process}\n    volumes: ["data:/data"]\nvolumes:\n  data: {}\n`);
  const lines: string[] = [];
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: (e) => void (e.type === 'checkpoint' && e.phase === 'dumped' && lines.push(JSON.stringify(e.detail))) };
  const { seen, track } = stackTracker(ctx, name);
  t.teardown(async () => {
    if (core.readStack(ctx, name)) await core.down(ctx, name, { timeoutMs: 1000, volumes: true });
    for (const p of alive(seen)) process.kill(p, 'SIGKILL');
  });
  await core.up(ctx, await core.loadProject({ file }), {});
  track();
  await new Promise((r) => setTimeout(r, 200));
  const cp = await core.checkpoint(ctx, name, 's', { storeRoot: join(dir, 'store') });
  t.match(cp.services[0]!.data, [{ volume: 'data', method: 'copy', why: /no snapshots or reflinks|different filesystems/ }], 'a copy, with the reason');
  t.ok(lines.some((l) => l.includes('"method":"copy"')), 'the dumped event carries what the capture cost, for the output');
});
