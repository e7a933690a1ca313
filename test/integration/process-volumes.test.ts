// A process service's compose volumes, for real: named volumes in ckpt's volumes root (owned by
// the service's user, seeded from the host's target), `:ro` binds, tmpfs mounts with a size; their
// data captured at the cut and brought back by a restore (refused without --replace when the
// live volume changed since, put back untouched when the set's copy is damaged), a clone's own
// copy, and `down -v` with external volumes.
import t from 'tap';
import type { Test } from 'tap';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import * as core from '../../src/core/index.js';
import { fsTypeOf } from '../../src/data/snapshot.js';
import { requireIntegration, tempDir, volumesDir, writeManifest } from '../helpers/env.js';
import { alive, cgroupPids, poll, stackTracker } from '../fixtures/stack-util.js';

const MiB = 1024 * 1024;
const TMPFS_MAGIC = 0x01021994;

/** The shell program of the stateful subtests: a counter appended to a volume and to a tmpfs. */
const COUNTER = `#!/bin/sh
# $1: a named volume, $2: a tmpfs. Each line of count is the next number, then the volume's tag.
D=$1
T=$2
date +%s%N > "$T/born"
i=0
while :; do
  i=$((i+1))
  tag=$(cat "$D/tag" 2>/dev/null)
  echo "$i$tag" >> "$D/count"
  echo "$i" >> "$T/log"
  sleep 0.02
done
`;

interface Env {
  dir: string;
  root: string;
  ctx: core.CoreContext;
  storeRoot: string;
  track: (p?: string) => void;
  /** down every project still up, then prove nothing of them runs */
  finish: (t: Test) => Promise<void>;
}

/** A temporary directory (readable by `nobody`), volumes root, state and store; torn down after. */
function setup(t: Test, projects: string[]): Env {
  const dir = tempDir(t, 'ckpt-pvol-');
  chmodSync(dir, 0o755); // mount points live here, and a service may run as nobody
  const root = volumesDir(t, dir);
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  const { seen, cgroups, track } = stackTracker(ctx, projects[0]!);
  const trackAll = (p?: string): void => (p ? track(p) : projects.forEach((x) => track(x)));
  t.teardown(async () => {
    for (const p of projects) if (core.readStack(ctx, p)) await core.down(ctx, p, { timeoutMs: 1000 }).catch(() => undefined);
    for (const p of alive(seen)) process.kill(p, 'SIGKILL');
  });
  const finish = async (t: Test): Promise<void> => {
    trackAll();
    for (const p of projects) if (core.readStack(ctx, p)) await core.down(ctx, p, { timeoutMs: 1000 });
    t.same(alive(seen), [], 'nothing left running');
    t.same([...cgroups].flatMap(cgroupPids), [], 'no process left in the service cgroups');
  };
  return { dir, root, ctx, storeRoot, track: trackAll, finish };
}

const initPid = (ctx: core.CoreContext, project: string): number => core.readStack(ctx, project)!.services.app!.initPid!;

/** The lines of a file ([] while it does not exist). */
function lines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** The counter's lines as numbers and tags; `gap` is the first index whose number is not index + 1. */
function counted(path: string): { n: number; nums: number[]; tags: string[]; gap: number } {
  const ls = lines(path);
  const nums = ls.map((l) => Number(/^(\d+)/.exec(l)?.[1] ?? NaN));
  const tags = ls.map((l) => l.replace(/^\d+/, ''));
  const gap = nums.findIndex((v, i) => v !== i + 1);
  return { n: ls.length, nums, tags, gap };
}

/** Waits until the file has at least `n` lines (15 s), failing the test if it never does. */
async function linesAtLeast(t: Test, path: string, n: number): Promise<number> {
  const got = await poll(() => {
    const k = lines(path).length;
    return k >= n ? k : undefined;
  }, 15_000, 20);
  t.ok(got, `${path} reaches ${n} lines`);
  return got ?? 0;
}

/** Everything about a tree that a restore could change: entries, owners, modes, times, inodes, contents. */
function fingerprint(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const p = rel ? join(root, rel) : root;
    const st = lstatSync(p, { bigint: true });
    const sum = st.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : '';
    out.push(`${rel || '.'} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeNs} ino=${st.ino} ${sum}`);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return out;
}

async function ckptErrorOf(p: Promise<unknown>): Promise<core.CkptError | undefined> {
  try {
    await p;
  } catch (e) {
    if (core.isCkptError(e)) return e;
    throw e;
  }
  return undefined;
}

t.test('a service as nobody: its own new volume, a read-only bind, tmpfs mounts with their size and mode', { timeout: 60_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const env = setup(t, ['va']);
  const { dir, root, ctx } = env;
  const nobody = Number((await execa('id', ['-u', 'nobody'])).stdout);
  const D = join(dir, 'mnt/data');
  const R = join(dir, 'mnt/ro');
  const T = join(dir, 'mnt/scratch');
  const C = join(dir, 'mnt/cache');
  const seeded = join(dir, 'mnt/seeded');
  const empty = join(dir, 'mnt/empty');
  // the read-only bind's source is writable by nobody: only the :ro can stop the write
  const roSource = join(dir, 'ro-src');
  mkdirSync(roSource, { mode: 0o777 });
  chmodSync(roSource, 0o777);
  writeFileSync(join(roSource, 'in.txt'), 'from the host\n');
  // what the host has at a volume's target seeds a new volume: content, owner, mode
  mkdirSync(seeded, { recursive: true });
  writeFileSync(join(seeded, 'seed.txt'), 'seed\n');
  chownSync(seeded, 1234, 1235);
  chmodSync(seeded, 0o750);
  mkdirSync(empty, { recursive: true });
  writeFileSync(join(empty, 'not-copied.txt'), 'x\n');
  writeFileSync(
    join(dir, 'probe.sh'),
    `#!/bin/sh
id -u > "${D}/uid"
cat "${R}/in.txt" > "${D}/from-ro"
if { echo x > "${R}/written"; } 2> "${D}/ro-err"; then echo yes > "${D}/ro-write"; else echo no > "${D}/ro-write"; fi
dd if=/dev/zero of="${T}/fill" bs=1M count=24 2> "${D}/dd-err"; echo $? > "${D}/dd-rc"
echo cache > "${C}/file"
echo done > "${D}/done"
exec sleep 1000
`,
    { mode: 0o755 },
  );
  const file = writeManifest(
    dir,
    `name: va
services:
  app:
    command: ["/bin/sh", "${dir}/probe.sh"]
    user: nobody
    tmpfs: ["${T}:size=16m,mode=0777"]
    volumes:
      - data:${D}
      - ${roSource}:${R}:ro
      - type: tmpfs
        target: ${C}
        tmpfs: {size: 8m, mode: "1777"}
      - seeded:${seeded}
      - {type: volume, source: empty, target: ${empty}, volume: {nocopy: true}}
volumes:
  data: {}
  seeded: {}
  empty: {}
`,
  );
  await core.up(ctx, await core.loadProject({ file }));
  env.track();
  t.ok(await poll(() => existsSync(join(root, 'va_data/done')), 15_000, 20), 'the program ran to its end');
  const pid = initPid(ctx, 'va');

  // the named volume: new, in the volumes root, owned by the service's user
  const vol = join(root, 'va_data');
  t.equal(statSync(vol).uid, nobody, 'a new volume with nothing at its target belongs to the service\'s user');
  t.equal(readFileSync(join(vol, 'uid'), 'utf8').trim(), String(nobody), 'the program ran as nobody');
  t.equal(statSync(join(vol, 'uid')).uid, nobody, 'and wrote its files into the volume as nobody');
  t.same(readdirSync(D), [], 'the host\'s directory at the target stays empty: the volume is mounted only in the service');

  // the :ro bind
  t.equal(readFileSync(join(vol, 'from-ro'), 'utf8'), 'from the host\n', 'the program reads the read-only bind');
  t.equal(readFileSync(join(vol, 'ro-write'), 'utf8').trim(), 'no', 'and cannot write it');
  t.match(readFileSync(join(vol, 'ro-err'), 'utf8'), /Read-only file system/, 'because it is read-only (not for lack of permission)');
  t.notOk(existsSync(join(roSource, 'written')), 'nothing reached the host directory');

  // the service key's tmpfs: its size and mode
  const fs = statfsSync(`/proc/${pid}/root${T}`);
  t.equal(fs.type, TMPFS_MAGIC, 'a tmpfs at the target in the service\'s namespace');
  t.equal(fs.blocks * fs.bsize, 16 * MiB, 'of the size given (df: 16 MiB)');
  t.equal(statSync(`/proc/${pid}/root${T}`).mode & 0o7777, 0o777, 'with the mode given');
  const tmpfsLine = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === T) ?? '';
  t.match(tmpfsLine, / - tmpfs \S+ rw,.*size=16384k/, 'mountinfo inside says so too');
  t.not(readFileSync(join(vol, 'dd-rc'), 'utf8').trim(), '0', 'writing 24 MiB into it fails');
  t.match(readFileSync(join(vol, 'dd-err'), 'utf8'), /No space left on device/, 'for want of space');
  t.equal(statSync(`/proc/${pid}/root${T}/fill`).size, 16 * MiB, 'after filling exactly its size');
  t.same(readdirSync(T), [], 'the host\'s directory at the target does not hold the tmpfs\'s files');

  // the long form's tmpfs
  const cfs = statfsSync(`/proc/${pid}/root${C}`);
  t.equal(cfs.type, TMPFS_MAGIC);
  t.equal(cfs.blocks * cfs.bsize, 8 * MiB, 'the long form\'s size');
  t.equal(statSync(`/proc/${pid}/root${C}`).mode & 0o7777, 0o1777, 'the long form\'s mode (sticky)');
  t.equal(readFileSync(`/proc/${pid}/root${C}/file`, 'utf8'), 'cache\n', 'nobody writes it');

  // seeded and nocopy volumes
  const sv = join(root, 'va_seeded');
  t.equal(readFileSync(join(sv, 'seed.txt'), 'utf8'), 'seed\n', 'a new volume is filled from what the host has at its target');
  t.same([statSync(sv).uid, statSync(sv).gid, statSync(sv).mode & 0o7777], [1234, 1235, 0o750], 'with its owner and mode');
  t.same(readdirSync(join(root, 'va_empty')), [], 'volume.nocopy leaves a new volume empty');
  t.same(readdirSync(root).sort(), ['va_data', 'va_empty', 'va_seeded'], 'named <project>_<name>, and nothing else in the root');

  await env.finish(t);
  t.ok(existsSync(vol), 'down without -v keeps the volume');
});

t.test('checkpoint captures the volume at the cut; restore refuses to discard newer data, and with replace resumes from the cut', { timeout: 60_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const env = setup(t, ['vb']);
  const { dir, root, ctx, storeRoot } = env;
  const D = join(dir, 'mnt/data');
  const T = join(dir, 'mnt/tmp');
  writeFileSync(join(dir, 'counter.sh'), COUNTER, { mode: 0o755 });
  const file = writeManifest(
    dir,
    `name: vb
services:
  app:
    command: ["/bin/sh", "${dir}/counter.sh", "${D}", "${T}"]
    tmpfs: ["${T}:size=16m"]
    volumes: ["data:${D}"]
volumes:
  data: {}
`,
  );
  const vol = join(root, 'vb_data');
  const count = join(vol, 'count');
  await core.up(ctx, await core.loadProject({ file }));
  env.track();
  await linesAtLeast(t, count, 10);
  const pid0 = initPid(ctx, 'vb');
  const born = readFileSync(`/proc/${pid0}/root${T}/born`, 'utf8');

  const cp = await core.checkpoint(ctx, 'vb', 'cut', { storeRoot });
  const data = cp.services.find((s) => s.service === 'app')?.data ?? [];
  t.same(data.map((d) => d.volume), ['data'], 'the checkpoint reports the volume it captured');
  if (fsTypeOf(dir) === 'ext4') {
    t.equal(data[0]?.method, 'copy', 'on ext4 by copying');
    t.match(data[0]?.why, /ext4 has no snapshots or reflinks/);
  } else {
    t.match(data[0]?.method, /^(btrfs-snapshot|reflink|copy)$/);
  }
  t.ok((data[0]?.ms ?? -1) >= 0, 'with the time it took');
  const setCount = join(cp.set.dir, '.data/app/data/count');
  const atCut = readFileSync(setCount, 'utf8');
  const cut = counted(setCount);
  t.ok(cut.n >= 10, `the set holds the counter at the cut (${cut.n} lines)`);
  t.equal(cut.gap, -1, 'whole lines 1…N, as the frozen program had written them');
  const index = JSON.parse(readFileSync(join(cp.set.dir, 'app/data-data.json'), 'utf8')) as { format: string; entries: [string, string, number, number, number, number][] };
  t.equal(index.format, 'ckpt-data', 'the volume\'s index is among the service\'s files');
  t.same(index.entries.find((e) => e[0] === 'count')?.slice(0, 2), ['count', 'f']);
  t.equal(index.entries.find((e) => e[0] === 'count')?.[5], Buffer.byteLength(atCut), 'recording the file\'s size at the cut');
  const verified = await core.verifySet(storeRoot, 'cut');
  t.ok(verified.files > 0, 'the set verifies, its data tree included');

  // the program writes on past the cut, then the stack goes
  await linesAtLeast(t, count, cut.n + 15);
  env.track();
  await core.down(ctx, 'vb', { timeoutMs: 1000 });
  const later = readFileSync(count, 'utf8');
  t.ok(later.length > atCut.length && later.startsWith(atCut), 'the live volume holds more than the set');
  const before = fingerprint(vol);

  // without replace: refused, the live volume untouched
  const refused = await ckptErrorOf(core.restore(ctx, 'cut', { storeRoot }));
  t.equal(refused?.code, 'VOLUME_CHANGED', 'restore refuses to discard what was written since the cut');
  t.match(refused?.message, /vb_data/, 'naming the volume');
  t.match(refused?.message, `${vol}, changed since the cut`, 'and where it is');
  t.match(refused?.hint, /--replace/);
  t.match(refused?.hint, /down -v/);
  t.same(fingerprint(vol), before, 'the live volume is exactly as it was');
  t.equal(core.readStack(ctx, 'vb'), undefined, 'and no stack was made');

  // with replace: the set's tree, and the program goes on from the cut
  await core.restore(ctx, 'cut', { storeRoot, replace: true });
  env.track();
  const pid = initPid(ctx, 'vb');
  await linesAtLeast(t, count, cut.n + 10);
  const after = readFileSync(count, 'utf8');
  t.ok(after.startsWith(atCut), 'the restored volume begins with exactly the set\'s content');
  const c = counted(count);
  t.equal(c.gap, -1, `and continues from ${cut.n} without gap or repeat (the restored program resumed at the cut; ${c.n} lines)`);
  t.not(statSync(count).ino, Number(before.find((l) => l.startsWith('count '))!.match(/ino=(\d+)/)![1]), 'a new file, not the old one');
  t.same(readdirSync(root), ['vb_data'], 'the replaced volume was deleted once the restore succeeded');
  t.equal(readFileSync(`/proc/${pid}/root${T}/born`, 'utf8'), born, 'the tmpfs came back from the dump (a file written once, before the cut)');
  const log = counted(`/proc/${pid}/root${T}/log`);
  t.ok(log.n >= cut.n && log.gap === -1, `the tmpfs log holds 1…${log.n} with no gap: its content at the cut, then the resumed writes`);
  const fs = statfsSync(`/proc/${pid}/root${T}`);
  t.same([fs.type, fs.blocks * fs.bsize], [TMPFS_MAGIC, 16 * MiB], 'a tmpfs of 16 MiB again');

  await env.finish(t);
});

t.test('a clone beside the original: each has its own copy of the volume and of the tmpfs', { timeout: 60_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const env = setup(t, ['vc', 'vcc']);
  const { dir, root, ctx, storeRoot } = env;
  const D = join(dir, 'mnt/data');
  const T = join(dir, 'mnt/tmp');
  writeFileSync(join(dir, 'counter.sh'), COUNTER, { mode: 0o755 });
  const file = writeManifest(
    dir,
    `name: vc
services:
  app:
    command: ["/bin/sh", "${dir}/counter.sh", "${D}", "${T}"]
    volumes:
      - data:${D}
      - {type: tmpfs, target: ${T}, tmpfs: {size: 4m}}
volumes:
  data: {}
`,
  );
  const orig = join(root, 'vc_data');
  const copy = join(root, 'vcc_data');
  await core.up(ctx, await core.loadProject({ file }));
  env.track();
  await linesAtLeast(t, join(orig, 'count'), 10);
  const cp = await core.checkpoint(ctx, 'vc', 'base', { storeRoot });
  const atCut = readFileSync(join(cp.set.dir, '.data/app/data/count'), 'utf8');
  const n = atCut.split('\n').filter(Boolean).length;

  const r = await core.restore(ctx, 'base', { storeRoot, as: 'vcc' });
  env.track();
  t.equal(r.project, 'vcc');
  t.same(readdirSync(root).sort(), ['vc_data', 'vcc_data'], 'the clone has a volume of its own, <clone>_<name>');
  t.same((await core.ps(ctx, 'vc')).map((x) => x.state), ['running'], 'the original runs on');
  const po = initPid(ctx, 'vc');
  const pc = initPid(ctx, 'vcc');

  // each program sees only its own volume: a tag written into each from the host shows in its own count
  writeFileSync(join(orig, 'tag'), ' A');
  writeFileSync(join(copy, 'tag'), ' B');
  const tagged = (path: string, tag: string): boolean => counted(path).tags.filter((x) => x === tag).length >= 5;
  t.ok(await poll(() => tagged(join(orig, 'count'), ' A') && tagged(join(copy, 'count'), ' B'), 15_000, 20), 'both programs write their tags');
  const o = counted(join(orig, 'count'));
  const c = counted(join(copy, 'count'));
  t.notOk(o.tags.includes(' B'), 'the original never saw the clone\'s tag');
  t.notOk(c.tags.includes(' A'), 'the clone never saw the original\'s tag');
  t.equal(o.gap, -1, 'the original counts on without a gap');
  t.equal(c.gap, -1, 'the clone counts on from the cut without a gap');
  t.ok(readFileSync(join(copy, 'count'), 'utf8').startsWith(atCut), 'the clone\'s volume began as the set\'s');
  t.equal(c.tags.slice(0, n).filter(Boolean).length, 0, 'with no tag in the set\'s lines');

  // and each has its own tmpfs, both from the same dump
  t.equal(readFileSync(`/proc/${pc}/root${T}/born`, 'utf8'), readFileSync(`/proc/${po}/root${T}/born`, 'utf8'), 'the clone\'s tmpfs came from the dump of the original\'s');
  writeFileSync(`/proc/${po}/root${T}/only-original`, 'x');
  t.notOk(existsSync(`/proc/${pc}/root${T}/only-original`), 'a file in the original\'s tmpfs is not in the clone\'s');

  // down -v of the original removes only its own volume
  env.track();
  await core.down(ctx, 'vc', { volumes: true, timeoutMs: 1000 });
  t.same(readdirSync(root), ['vcc_data'], 'down -v of the original leaves the clone\'s volume');
  const k = counted(join(copy, 'count')).n;
  await linesAtLeast(t, join(copy, 'count'), k + 5);
  t.equal(counted(join(copy, 'count')).gap, -1, 'and the clone writes on into it');

  await env.finish(t);
});

t.test('down -v removes the project\'s volumes, not an external one; a missing external volume or bind source refuses up', { timeout: 60_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const env = setup(t, ['vd', 'vdb']);
  const { dir, root, ctx, storeRoot } = env;
  const D = join(dir, 'mnt/data');
  const S = join(dir, 'mnt/shared');
  writeFileSync(join(dir, 'once.sh'), `#!/bin/sh\necho once >> "${D}/mark"\necho ext >> "${S}/ext"\nexec sleep 1000\n`, { mode: 0o755 });
  const file = writeManifest(
    dir,
    `name: vd
services:
  app:
    command: ["/bin/sh", "${dir}/once.sh"]
    volumes: ["data:${D}", "shared:${S}"]
volumes:
  data: {}
  shared: {external: true}
`,
  );
  const shared = join(root, 'shared');
  mkdirSync(shared, { recursive: true });
  writeFileSync(join(shared, 'keep.txt'), 'keep\n');
  await core.up(ctx, await core.loadProject({ file }));
  env.track();
  t.ok(await poll(() => existsSync(join(shared, 'ext')) && existsSync(join(root, 'vd_data/mark')), 15_000, 20), 'the program wrote into both volumes');
  t.same(readdirSync(root).sort(), ['shared', 'vd_data'], 'an external volume is <root>/<name>, used as it is');

  // an external volume is not the project's: not in a set
  const cp = await core.checkpoint(ctx, 'vd', 'once', { storeRoot });
  t.same((cp.services[0]?.data ?? []).map((d) => d.volume), ['data'], 'only the project\'s own volume is captured');
  t.same(readdirSync(join(cp.set.dir, '.data/app')), ['data']);

  // nothing written since the cut: a restore needs no --replace
  env.track();
  await core.down(ctx, 'vd', { timeoutMs: 1000 });
  await core.restore(ctx, 'once', { storeRoot });
  env.track();
  t.same((await core.ps(ctx, 'vd')).map((x) => x.state), ['running'], 'an unchanged volume is restored without --replace');
  t.equal(readFileSync(join(root, 'vd_data/mark'), 'utf8'), 'once\n', 'the restored program did not run again');
  t.equal(readFileSync(join(shared, 'ext'), 'utf8'), 'ext\n', 'the external volume is as it was');

  env.track();
  await core.down(ctx, 'vd', { volumes: true, timeoutMs: 1000 });
  t.notOk(existsSync(join(root, 'vd_data')), 'down -v removes the project\'s volume');
  t.same(readdirSync(shared).sort(), ['ext', 'keep.txt'], 'and keeps the external one, content and all');

  rmSync(shared, { recursive: true });
  const missing = await ckptErrorOf(core.up(ctx, await core.loadProject({ file })));
  t.equal(missing?.code, 'SERVICE_START_FAILED', 'a missing external volume refuses up');
  t.match(missing?.message, shared, 'naming its path');
  t.notOk(existsSync(shared), 'and does not make it');
  t.equal(core.readStack(ctx, 'vd'), undefined, 'no stack is left');

  // a long-form bind refuses a missing source unless create_host_path; the short form makes it
  const absent = join(dir, 'absent');
  const long = writeManifest(dir, `name: vdb\nservices:\n  app:\n    command: ["sleep", "1000"]\n    volumes:\n      - {type: bind, source: ${absent}, target: ${join(dir, 'mnt/b')}}\n`, 'long.yaml');
  const refused = await ckptErrorOf(core.up(ctx, await core.loadProject({ file: long })));
  t.equal(refused?.code, 'SERVICE_START_FAILED', 'a long-form bind with a missing source refuses up');
  t.match(refused?.message, `the bind mount's source ${absent} does not exist`);
  t.match(refused?.hint, /create_host_path/);
  t.notOk(existsSync(absent), 'and does not make it');
  t.equal(core.readStack(ctx, 'vdb'), undefined);
  const made = join(dir, 'made');
  const made2 = join(dir, 'made2');
  const ok = writeManifest(
    dir,
    `name: vdb\nservices:\n  app:\n    command: ["sleep", "1000"]\n    volumes:\n      - ${made}:${join(dir, 'mnt/m')}\n      - {type: bind, source: ${made2}, target: ${join(dir, 'mnt/m2')}, bind: {create_host_path: true}}\n`,
    'ok.yaml',
  );
  await core.up(ctx, await core.loadProject({ file: ok }));
  env.track();
  t.ok(statSync(made).isDirectory(), 'the short form makes a missing source');
  t.ok(statSync(made2).isDirectory(), 'so does the long form with create_host_path');

  await env.finish(t);
});

t.test('a tampered file in the set\'s data tree: restore fails with STORE_CORRUPT and the live volume is put back as it was', { timeout: 60_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const env = setup(t, ['ve']);
  const { dir, root, ctx, storeRoot } = env;
  const D = join(dir, 'mnt/data');
  const T = join(dir, 'mnt/tmp');
  writeFileSync(join(dir, 'counter.sh'), COUNTER, { mode: 0o755 });
  const file = writeManifest(dir, `name: ve\nservices:\n  app:\n    command: ["/bin/sh", "${dir}/counter.sh", "${D}", "${T}"]\n    tmpfs: ${T}\n    volumes: ["data:${D}"]\nvolumes:\n  data: {}\n`);
  const vol = join(root, 've_data');
  await core.up(ctx, await core.loadProject({ file }));
  env.track();
  await linesAtLeast(t, join(vol, 'count'), 10);
  const cp = await core.checkpoint(ctx, 've', 'cut', { storeRoot });
  const n = lines(join(cp.set.dir, '.data/app/data/count')).length;
  await linesAtLeast(t, join(vol, 'count'), n + 10);
  env.track();
  await core.down(ctx, 've', { timeoutMs: 1000 });

  // one byte changed, size and mtime kept: only the hash can tell
  const stored = join(cp.set.dir, '.data/app/data/count');
  const ref = join(dir, 'mtime-ref');
  await execa('cp', ['-p', stored, ref]);
  const text = readFileSync(stored, 'utf8');
  t.equal(text[0], '1');
  writeFileSync(stored, `9${text.slice(1)}`);
  await execa('touch', ['-r', ref, stored]);
  const s0 = lstatSync(ref, { bigint: true });
  const s1 = lstatSync(stored, { bigint: true });
  t.same([s1.size, s1.mtimeNs], [s0.size, s0.mtimeNs], 'the tampered file keeps its size and mtime');

  const before = fingerprint(vol);
  const e = await ckptErrorOf(core.restore(ctx, 'cut', { storeRoot, replace: true }));
  t.equal(e?.code, 'STORE_CORRUPT', 'the restore fails: the set is damaged');
  t.match(e?.message, /\.data\/app\/data\/count: content differs from the checkpoint's/, 'naming the damaged file');
  t.same(fingerprint(vol), before, 'the live volume is back, exactly as it was (the same inodes, contents and times)');
  t.same(readdirSync(root), ['ve_data'], 'and the set\'s copy is gone');
  t.equal(core.readStack(ctx, 've'), undefined, 'no stack is left');

  await env.finish(t);
});
