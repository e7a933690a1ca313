// The image reader on a real dump: a tiny C program (test/fixtures/criu-images/imgtest.c) that
// holds a file open, maps one file shared and one private, fills some MiB of heap, listens on TCP
// and forks, is dumped by real CRIU; the decoded images must say exactly that. Then checked
// against crit (when its Python protobuf module is there), restored once for stats-restore, and
// its files changed and deleted for the checkFiles statuses. Needs root and CRIU; skips without
// them (fails under CI=true).
import t from 'tap';
import { execa } from 'execa';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { criuPath } from '../../../src/criu/probe.js';
import { inspectImages, readDumpStats, readImageDir, readRestoreStats, renderInspectTree, type InspectReport } from '../../../src/criu/images/index.js';
import { isAlive } from '../../../src/util/proc.js';
import { waitFor } from '../../../src/util/time.js';
import { packageRoot } from '../../../src/paths.js';
import { inCI, requireIntegration, tempDir } from '../../helpers/env.js';

const MIB = 8;
const SOURCE = join(packageRoot, 'test/fixtures/criu-images/imgtest.c');
const CRIU_SRC = join(process.env.CKPT_CRIU_CACHE || '/var/cache/ckpt/criu', 'current');
const SYS_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

function logErrors(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => /Error|Warn/.test(l)).slice(-20).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

t.test('images of a real CRIU dump', { timeout: 180_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const cc = await execa('cc', ['--version'], { reject: false });
  if (cc.exitCode !== 0) {
    if (inCI) t.fail('needs a C compiler (cc) under CI');
    else t.skip('needs a C compiler (cc)', () => {});
    return;
  }

  const root = tempDir(t, 'ckpt-imgdump-');
  const work = join(root, 'work');
  const images = join(root, 'images');
  const restoredImages = join(root, 'images-restore');
  for (const d of [work, images, restoredImages]) await execa('mkdir', ['-p', d]);
  const exe = join(root, 'imgtest');
  const build = await execa('cc', ['-O1', '-o', exe, SOURCE], { reject: false, all: true });
  t.equal(build.exitCode, 0, `compiled imgtest${build.exitCode ? ':\n' + build.all : ''}`);
  if (build.exitCode) return;

  // imgtest runs in a session of its own (setsid), stdio to a file, so CRIU needs no --shell-job;
  // its parent is a reaper (imgtest --reaper) that frees both pids as soon as CRIU kills them
  const ready = join(root, 'ready');
  const log = join(root, 'imgtest.log');
  const out = openSync(log, 'a');
  const reaper = spawn(exe, ['--reaper', work, String(MIB), ready], { cwd: work, stdio: ['ignore', out, out] });
  closeSync(out);
  const reaped = new Promise<string>((resolve) => reaper.once('exit', (code, signal) => resolve(signal ?? `exit code ${code}`)));
  const started: number[] = [reaper.pid!];
  t.teardown(async () => {
    for (const p of started) if (isAlive(p)) process.kill(p, 'SIGKILL');
    const gone = await waitFor(() => (started.some((p) => isAlive(p)) ? undefined : true), { timeoutMs: 5000, intervalMs: 20 });
    if (!gone) throw new Error(`processes still running after the test: ${started.filter((p) => isAlive(p)).join(' ')}`);
  });
  const line = await waitFor(() => (existsSync(ready) ? readFileSync(ready, 'utf8') : undefined), { timeoutMs: 10_000, intervalMs: 20 });
  t.ok(line, `imgtest is ready${line ? '' : ` (log: ${readFileSync(log, 'utf8')}, exit ${reaper.exitCode})`}`);
  if (!line) return;
  const [port, pid, childPid] = line.trim().split(' ').map(Number) as [number, number, number];
  started.push(pid, childPid);

  const dump = await execa(criuPath(), ['dump', '-t', String(pid), '-D', images, '-o', 'dump.log', '-v4'], { reject: false, all: true });
  t.equal(dump.exitCode, 0, `criu dump succeeded${dump.exitCode ? ':\n' + dump.all + '\n' + logErrors(join(images, 'dump.log')) : ''}`);
  if (dump.exitCode) return;
  t.notOk(isAlive(pid), 'the dumped tree is gone');
  // reaped: a zombie would keep its pid from the restore below
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([reaped, new Promise((r) => (timer = setTimeout(() => r('still not reaped after 10s'), 10_000)))]);
  clearTimeout(timer);
  t.equal(outcome, 'exit code 0', 'both dumped processes were reaped');

  const img = await readImageDir(images);
  const report = await inspectImages(images, { checkFiles: true });
  const proc = (r: InspectReport, p: number) => r.processes.find((x) => x.pid === p)!;

  await t.test('process tree', async (t) => {
    t.equal(img.inventory.imgVersion, 2);
    t.ok(img.inventory.rootIds, 'the inventory has CRIU\'s own ids');
    t.same(report.namespaces, [], 'the tree shares every namespace with the host');
    t.same(report.processes.map((p) => [p.pid, p.ppid, p.comm, p.state, p.threads]), [
      [pid, 0, 'ckpt-imgtest', 'alive', 1],
      [childPid, pid, 'ckpt-imgchild', 'alive', 1],
    ]);
    t.same(proc(report, pid).children, [childPid]);
    t.equal(proc(report, pid).sid, pid, 'its own session (setsid)');
    t.equal(proc(report, pid).pgid, pid);
    t.equal(proc(report, pid).exe, exe);
    t.equal(proc(report, pid).cwd, work);
    if (process.arch === 'x64') t.equal(img.processes[0]!.core!.arch, 'x86_64');
  });

  await t.test('memory', async (t) => {
    const m = proc(report, pid).memory;
    const written = MIB << 20;
    t.ok(m.privateAnonBytes >= written, `private anon ${m.privateAnonBytes} ≥ the ${MIB} MiB written`);
    t.ok(m.pagesBytes >= written && m.pagesBytes < written + (2 << 20), `pages dumped ${m.pagesBytes} ≈ ${written} written (+ stack, libc data, …)`);
    t.equal(m.pagesImageBytes, m.pagesBytes, 'pages-N.img holds exactly the dumped pages');
    t.equal(m.fileSharedBytes, 65536, 'the shared file mapping');
    t.ok(m.filePrivateBytes >= 32768, 'private file mappings (the file, the program, libc)');
    t.equal(report.pageSize, 4096);
    const d = readDumpStats(images)!;
    t.equal(d.pagesWritten, report.totals.pagesDumped, 'stats-dump counts the same pages the pagemaps do');
  });

  await t.test('mappings', async (t) => {
    const maps = proc(report, pid).mappings;
    const shared = maps.filter((m) => m.path === join(work, 'shared.dat'));
    t.same(shared.map((m) => [m.shared, m.prot, m.size, m.kind]), [[true, 'rw-', 65536, 'file-shared']]);
    const priv = maps.filter((m) => m.path === join(work, 'private.dat'));
    t.same(priv.map((m) => [m.shared, m.prot, m.size, m.kind]), [[false, 'rw-', 32768, 'file-private']]);
    t.ok(maps.some((m) => m.path === exe && m.prot === 'r-x'), 'the program text');
    const kinds = new Set(img.processes[0]!.mm!.vmas.map((v) => v.kind));
    for (const k of ['stack', 'heap', 'vdso', 'anon-private'] as const) t.ok(kinds.has(k), `has a ${k} vma`);
  });

  await t.test('open files and sockets', async (t) => {
    const fds = proc(report, pid).openFiles;
    t.match(fds.find((f) => f.fd === 1), { kind: 'reg', path: log, access: 'w' }, 'stdout is the log');
    t.match(fds.find((f) => f.fd === 3), { kind: 'reg', path: join(work, 'held.txt'), access: 'rw' }, 'the held file');
    t.match(fds.find((f) => f.fd === 4), { kind: 'inet', desc: `TCP LISTEN 127.0.0.1:${port}` });
    t.same(proc(report, childPid).openFiles.map((f) => f.desc), fds.map((f) => f.desc), 'the child shares the same open files');
    t.same(report.sockets.map((s) => [s.family, s.type, s.proto, s.state, s.local, s.localPort]), [['INET', 'STREAM', 'TCP', 'LISTEN', '127.0.0.1', port]]);
    t.same(report.sockets[0]!.users, [{ pid, fd: 4 }, { pid: childPid, fd: 4 }]);
  });

  await t.test('referenced files, as dumped', async (t) => {
    const f = (name: string) => report.files.find((x) => x.path === join(work, name));
    t.match(f('held.txt'), { type: 'file', size: 6, mode: 0o100640, status: 'same', uses: [{ pid, as: 'fd', fd: 3 }, { pid: childPid, as: 'fd', fd: 3 }] });
    t.match(f('shared.dat'), { size: 65536, mode: 0o100600, status: 'same' });
    t.match(f('private.dat'), { size: 32768, mode: 0o100644, status: 'same' });
    t.ok(report.files.every((x) => x.path.startsWith('/')), 'paths are absolute');
    t.ok(report.files.every((x) => x.status === 'same'), 'nothing changed yet');
  });

  await t.test('stats-dump', async (t) => {
    const d = readDumpStats(images);
    t.ok(d, 'present');
    t.same(img.dumpStats, d);
    t.ok(d!.frozenTime > 0 && d!.frozenTime < 60e6, `frozen ${d!.frozenTime}µs`);
    t.ok(d!.freezingTime < 60e6, `freezing ${d!.freezingTime}µs`);
    t.ok(d!.memdumpTime > 0 && d!.memdumpTime <= d!.frozenTime, `memdump ${d!.memdumpTime}µs, within the frozen time`);
    t.ok(d!.pagesScanned >= d!.pagesWritten, 'scanned ≥ written');
    t.equal(d!.pagesSkippedParent, 0, 'no parent');
    t.equal(readRestoreStats(images), undefined, 'no stats-restore before a restore');
  });

  await t.test('renderInspectTree', async (t) => {
    const tree = renderInspectTree(report);
    if (process.env.CKPT_SHOW_TREE) console.log(tree);
    t.match(tree, new RegExp(`└── ${pid} ckpt-imgtest\\n`));
    t.match(tree, new RegExp(`    └── ${childPid} ckpt-imgchild\\n`));
    t.match(tree, `4 → TCP LISTEN 127.0.0.1:${port}`);
    t.match(tree, `${join(work, 'shared.dat')}  shared rw- 64KiB`);
    t.match(tree, /├── dump statistics\n│   ├── freezing \d/);
  });

  const py = await execa('/usr/bin/python3', ['-c', 'import google.protobuf'], { reject: false, env: SYS_ENV, extendEnv: false });
  const noCrit = py.exitCode !== 0 || !existsSync(join(CRIU_SRC, 'lib/pycriu/images/images.py'))
    ? 'the crit cross-check (optional) needs /usr/bin/python3 with google.protobuf and the CRIU source tree'
    : false;
  await t.test('crit agrees', { skip: noCrit }, async (t) => {
    const script = join(root, 'crit-summary.py');
    writeFileSync(script, CRIT_SUMMARY);
    const r = await execa('/usr/bin/python3', [script, join(CRIU_SRC, 'lib'), images], { reject: false, env: SYS_ENV, extendEnv: false });
    t.equal(r.exitCode, 0, `crit summary${r.exitCode ? ':\n' + r.stderr : ''}`);
    if (r.exitCode) return;
    const crit = JSON.parse(r.stdout) as CritSummary;
    t.same(crit.pstree, img.processes.map((p) => [p.pid, p.ppid, p.pgid, p.sid, p.threads.map((x) => x.tid)]), 'pstree');
    for (const p of img.processes) {
      const c = crit.procs[String(p.pid)]!;
      t.equal(c.comm, p.core!.comm, `${p.pid} comm`);
      t.equal(c.state, 1, `${p.pid} state`);
      t.equal(c.exe, p.mm!.exeFileId, `${p.pid} exe_file_id`);
      t.same(c.vmas, p.mm!.vmas.map((v) => [`0x${v.start.toString(16)}`, `0x${v.end.toString(16)}`, v.status, v.shmid, v.prot, v.flags, Number(v.pgoff)]), `${p.pid} vmas`);
      t.equal(c.pagesId, p.pagemap!.pagesId, `${p.pid} pages_id`);
      t.same(c.runs, p.pagemap!.runs.map((x) => [`0x${x.vaddr.toString(16)}`, x.nrPages, x.flags]), `${p.pid} pagemap`);
      t.same(c.fds, p.fds.map((f) => [f.fd, f.fileId, f.type]), `${p.pid} fdinfo`);
    }
    t.same(
      crit.reg,
      img.files.flatMap((f) => (f.kind === 'reg' ? [[f.id, f.path, f.size ?? null, f.mode ?? null, f.flags, f.pos]] : [])),
      'reg file entries',
    );
    t.same(crit.inet, img.files.flatMap((f) => (f.kind === 'inet' ? [[f.id, f.src, f.srcPort, f.state]] : [])), 'inet sockets');
    const d = img.dumpStats!;
    t.same(crit.stats, [d.freezingTime, d.frozenTime, d.memdumpTime, d.memwriteTime, d.pagesScanned, d.pagesSkippedParent, d.pagesWritten], 'stats-dump');
  });

  await t.test('stats-restore after a real restore', async (t) => {
    for (const f of await execa('ls', [images]).then((r) => r.stdout.split('\n'))) {
      if (f) await execa('cp', ['-a', join(images, f), restoredImages]);
    }
    const pidfile = join(root, 'restored.pid');
    const restore = await execa(
      criuPath(),
      ['restore', '-D', restoredImages, '-d', '--pidfile', pidfile, '-o', 'restore.log', '-v4'],
      { reject: false, all: true },
    );
    t.equal(restore.exitCode, 0, `criu restore succeeded${restore.exitCode ? ':\n' + restore.all + '\n' + logErrors(join(restoredImages, 'restore.log')) : ''}`);
    if (restore.exitCode) return;
    const restoredPid = Number(readFileSync(pidfile, 'utf8'));
    started.push(restoredPid);
    t.equal(restoredPid, pid, 'restored with its pid');
    t.ok(isAlive(restoredPid) && isAlive(childPid), 'both processes run again');
    const rs = readRestoreStats(restoredImages);
    t.ok(rs, 'stats-restore present');
    t.ok(rs!.forkingTime > 0 && rs!.restoreTime >= rs!.forkingTime, `forking ${rs!.forkingTime}µs, restore ${rs!.restoreTime}µs`);
    t.ok((rs!.pagesRestored ?? 0) > 0, `pages restored: ${rs!.pagesRestored}`);
    t.same((await readImageDir(restoredImages)).restoreStats, rs);
    for (const p of [childPid, restoredPid]) process.kill(p, 'SIGKILL');
    const gone = await waitFor(() => (isAlive(restoredPid) || isAlive(childPid) ? undefined : true), { timeoutMs: 5000, intervalMs: 20 });
    t.ok(gone, 'the restored processes are stopped again');
  });

  await t.test('checkFiles after the files changed', async (t) => {
    appendFileSync(join(work, 'held.txt'), 'more\n');
    rmSync(join(work, 'shared.dat'));
    await execa('chmod', ['0600', join(work, 'private.dat')]);
    const r = await inspectImages(images, { checkFiles: true });
    const f = (name: string) => r.files.find((x) => x.path === join(work, name))!;
    t.match(f('held.txt'), { status: 'changed', changes: ['size 6B → 11B'], now: { size: 11 } });
    t.match(f('shared.dat'), { status: 'missing' });
    t.match(f('private.dat'), { status: 'changed', changes: ['mode 0644 → 0600'] });
    t.match(f('held.txt').changes, ['size 6B → 11B', /^mtime /], 'an append moves the mtime too (the dump recorded it: patched CRIU)');
    t.match(r.files.find((x) => x.path === exe), { status: 'same' });
    const tree = renderInspectTree(r);
    t.match(tree, /held\.txt  file 6B 0640 · fd  changed: size 6B → 11B/);
    t.match(tree, /shared\.dat  file 64KiB 0600 · mmap-shared  missing/);
    const plain = await inspectImages(images);
    t.ok(plain.files.every((x) => x.status === undefined), 'without checkFiles nothing is stat()ed');
  });
});

interface CritSummary {
  pstree: [number, number, number, number, number[]][];
  procs: Record<string, { comm: string; state: number; exe: number; vmas: unknown[]; pagesId: number; runs: unknown[]; fds: unknown[] }>;
  reg: unknown[];
  inet: unknown[];
  stats: number[];
}

// Reads the same images with crit's pycriu (protobuf's own decoder) and prints what we compare.
const CRIT_SUMMARY = String.raw`
import json, os, sys
sys.path.insert(0, sys.argv[1])
from pycriu import images
d = sys.argv[2]

def load(name, pretty=False):
    with open(os.path.join(d, name), 'rb') as f:
        return images.load(f, pretty)['entries']

out = {'procs': {}}
tree = load('pstree.img')
out['pstree'] = [[e['pid'], e['ppid'], e['pgid'], e['sid'], e.get('threads', [])] for e in tree]
for e in tree:
    pid = e['pid']
    core = load('core-%d.img' % pid)[0]
    ids = load('ids-%d.img' % pid)[0]
    mm = load('mm-%d.img' % pid)[0]
    pm = load('pagemap-%d.img' % pid)
    fds = load('fdinfo-%d.img' % ids['files_id'])
    out['procs'][str(pid)] = {
        'comm': core['tc']['comm'],
        'state': core['tc']['task_state'],
        'exe': mm['exe_file_id'],
        'vmas': [[hex(v['start']), hex(v['end']), v['status'], v['shmid'], v['prot'], v['flags'], v['pgoff']] for v in mm['vmas']],
        'pagesId': pm[0]['pages_id'],
        'runs': [[hex(x['vaddr']), x['nr_pages'], x.get('flags', 0)] for x in pm[1:]],
        'fds': sorted([[f['fd'], f['id'], f['type']] for f in fds]),
    }
files = load('files.img')
out['reg'] = [[f['id'], f['reg']['name'], f['reg'].get('size'), f['reg'].get('mode'), f['reg']['flags'], f['reg']['pos']] for f in files if f['type'] == 'REG']
pretty = load('files.img', True)
out['inet'] = [[f['id'], f['isk']['src_addr'][0], f['isk']['src_port'], f['isk']['state']] for f in pretty if f['type'] == 'INETSK']
s = load('stats-dump')[0]['dump']
out['stats'] = [s['freezing_time'], s['frozen_time'], s['memdump_time'], s['memwrite_time'], s['pages_scanned'], s['pages_skipped_parent'], s['pages_written']]
print(json.dumps(out))
`;
