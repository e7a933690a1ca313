// readImageDir, inspectImages and renderInspectTree on a hand-made images directory (every image
// kind ckpt reads, written byte by byte by fixtures/images.ts), the container format, and damaged
// images: each gives STORE_CORRUPT naming the file.
import t, { type Test } from 'tap';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CkptError } from '../../../src/errors.js';
import {
  inspectImages, parseImage, readDumpStats, readImageDir, readRestoreStats, renderInspectTree, treeLines, MAGIC,
} from '../../../src/criu/images/index.js';
import { tempDir } from '../../helpers/env.js';
import { cat, image, ip4, len, msg, packed, s, SERVICE, str, u, write } from './fixtures/images.js';

const PAGE = 4096;

// status bits and flags, spelled out as the kernel/CRIU numbers
const REGULAR = 1;
const VDSO = 1 << 3;
const FILE_PRIVATE = 1 << 6;
const FILE_SHARED = 1 << 7;
const ANON_SHARED = 1 << 8;
const ANON_PRIVATE = 1 << 9;
const VVAR = 1 << 12;
const VSYSCALL = 1 << 2;
const MAP_SHARED = 1;
const MAP_PRIVATE = 2;
const MAP_ANON = 0x20;
const MAP_GROWSDOWN = 0x100;

const fown = msg(5, u(1, 0), u(2, 0), u(3, 0), u(4, 0), u(5, 0));
const ids = (vm: number, net: number): Uint8Array =>
  cat(u(1, vm), u(2, vm), u(3, vm), u(4, vm), u(5, 10), u(6, net), u(7, 13), u(8, 14), u(9, 12), u(10, 15), u(11, 16), u(12, 17));
const vma = (start: bigint, end: bigint, shmid: number, prot: number, flags: number, status: number): Uint8Array =>
  msg(14, u(1, start), u(2, end), u(3, 0), u(4, shmid), u(5, prot), u(6, flags), u(7, status), s(8, -1));
const reg = (id: number, name: string, mode: number, size?: number, flags = 2): Uint8Array =>
  cat(u(1, 1), u(2, id), msg(3, u(1, id), u(2, flags), u(3, 0), fown, str(6, name), ...(size === undefined ? [] : [u(8, size)]), u(10, mode), packed(11, [1, 2, 3, 4, 5])));
const fd = (fdn: number, id: number, type: number): Uint8Array => cat(u(1, id), u(2, 0), u(3, type), u(4, fdn));

interface Fixture {
  dir: string;
  files: string;
}

/** A two-process checkpoint: a server (2 threads) with a zombie child. */
function makeImages(t: Test): Fixture {
  const root = tempDir(t, 'ckpt-images-');
  const dir = join(root, 'images');
  const files = join(root, 'fs');
  mkdirSync(dir);
  mkdirSync(files);
  chmodSync(files, 0o755);
  writeFileSync(join(files, 'exe'), Buffer.alloc(100));
  chmodSync(join(files, 'exe'), 0o755);
  writeFileSync(join(files, 'data.bin'), Buffer.alloc(65536));
  chmodSync(join(files, 'data.bin'), 0o600); // recorded 0644: changed mode
  writeFileSync(join(files, 'held.txt'), 'hello\nworld!\n'); // recorded 6 bytes: changed size
  chmodSync(join(files, 'held.txt'), 0o640);
  // missing.txt is recorded but never created: missing

  write(dir, 'inventory.img', image(MAGIC.INVENTORY, [
    cat(u(1, 2), u(2, true), msg(3, ids(1, 11)), u(4, true), u(5, 1), u(6, 0), u(10, false), u(11, 1), msg(12), str(13, 'run-1')),
  ], null));
  write(dir, 'pstree.img', image(MAGIC.PSTREE, [
    cat(u(1, 100), u(2, 0), u(3, 100), u(4, 100), packed(5, [100, 101])),
    cat(u(1, 102), u(2, 100), u(3, 100), u(4, 100), u(5, 102)),
  ]));
  const tc = (state: number, exit: number, comm: string): Uint8Array =>
    msg(3, u(1, state), u(2, exit), u(3, 0), u(4, 0x400000), u(5, 0), str(6, comm), u(14, -1000));
  const creds = msg(10, u(1, 1000), u(2, 1001), u(3, 1000), u(4, 1001), u(5, 0), u(6, 0), u(7, 0), u(8, 0), u(13, 0));
  write(dir, 'core-100.img', image(MAGIC.CORE, [cat(u(1, 1), tc(1, 0, 'server'), msg(5, u(1, 0), u(2, 0), creds, str(13, 'server')))]));
  write(dir, 'core-101.img', image(MAGIC.CORE, [cat(u(1, 1), msg(5, u(1, 0), u(2, 0), str(13, 'worker')))]));
  write(dir, 'core-102.img', image(MAGIC.CORE, [cat(u(1, 1), tc(6, 3, 'child'))]));
  write(dir, 'ids-100.img', image(MAGIC.IDS, [ids(2, 99)]));
  write(dir, 'fs-100.img', image(MAGIC.FS, [cat(u(1, 20), u(2, 21), u(3, 0o22))]));
  write(dir, 'mm-100.img', image(MAGIC.MM, [cat(
    u(1, 0x400000), u(2, 0x401000), u(3, 0), u(4, 0), u(5, 0x7ffc00020000n), u(6, 0), u(7, 0), u(8, 0), u(9, 0), u(10, 0), u(11, 0), u(12, 1),
    packed(13, [33, 1, 0, 0]),
    vma(0x400000n, 0x401000n, 1, 5, MAP_PRIVATE, REGULAR | FILE_PRIVATE),
    vma(0x7f0000000000n, 0x7f0000010000n, 2, 3, MAP_SHARED, REGULAR | FILE_SHARED),
    vma(0x7f0000100000n, 0x7f0000300000n, 0, 3, MAP_PRIVATE | MAP_ANON, REGULAR | ANON_PRIVATE),
    vma(0x7f0000400000n, 0x7f0000401000n, 555, 3, MAP_SHARED | MAP_ANON, REGULAR | ANON_SHARED),
    vma(0x7ffc00000000n, 0x7ffc00021000n, 0, 3, MAP_PRIVATE | MAP_ANON | MAP_GROWSDOWN, REGULAR | ANON_PRIVATE),
    vma(0x7ffc10000000n, 0x7ffc10002000n, 0, 5, MAP_PRIVATE | MAP_ANON, REGULAR | VDSO | ANON_PRIVATE),
    vma(0x7ffc10002000n, 0x7ffc10006000n, 0, 1, MAP_PRIVATE | MAP_ANON, REGULAR | VVAR | ANON_PRIVATE),
    vma(0xffffffffff600000n, 0xffffffffff601000n, 0, 4, MAP_PRIVATE | MAP_ANON, VSYSCALL | ANON_PRIVATE),
  )]));
  write(dir, 'pagemap-100.img', image(MAGIC.PAGEMAP, [
    u(1, 1),
    cat(u(1, 0x7f0000100000n), u(2, 100), u(4, 4)),
    cat(u(1, 0x7f0000200000n), u(2, 10), u(4, 4 | 2)),
    cat(u(1, 0x7f0000250000n), u(2, 5), u(4, 1)),
    cat(u(1, 0x7f0000260000n), u(2, 3)), // before pagemap flags: present
    cat(u(1, 0x7f0000270000n), u(2, 2), u(3, true)), // before pagemap flags: in parent
  ]));
  write(dir, 'pages-1.img', new Uint8Array(113 * PAGE));
  write(dir, 'pagemap-shmem-555.img', image(MAGIC.PAGEMAP, [u(1, 2), cat(u(1, 0), u(2, 1), u(4, 4))]));
  write(dir, 'pages-2.img', new Uint8Array(PAGE));
  write(dir, 'fdinfo-2.img', image(MAGIC.FDINFO, [
    fd(0, 3, 1), fd(3, 4, 1), fd(4, 9, 4), fd(5, 5, 4), fd(6, 6, 5), fd(7, 7, 2), fd(8, 8, 6), fd(9, 40, 1), fd(10, 10, 1), fd(11, 12, 1),
  ]));
  const sk = msg(14, u(1, 0), u(2, 0), u(3, 0), u(4, 0), u(5, 0), u(6, 0)); // sk_opts_entry: skipped
  write(dir, 'files.img', image(MAGIC.FILES, [
    reg(1, join(files, 'exe'), 0o100755, 100, 0),
    reg(2, join(files, 'data.bin'), 0o100644, 65536),
    reg(3, '/dev/null', 0o20666, undefined, 0),
    reg(4, join(files, 'held.txt'), 0o100640, 6),
    cat(u(1, 4), u(2, 5), msg(4, u(1, 5), u(2, 7001), u(3, 10), u(4, 1), u(5, 6), u(6, 1), u(7, 40000), u(8, 443), u(9, 2), u(10, 0),
      packed(11, [0, 0, 0, 0x01000000]), packed(12, [0xb80d0120, 0, 0, 0x01000000]), msg(13, u(1, 0)), sk)),
    cat(u(1, 5), u(2, 6), msg(16, u(1, 6), u(2, 7002), u(3, 1), u(4, 10), u(5, 0), u(6, 0), u(7, 16), u(8, 0), msg(9, u(1, 0)), sk,
      len(11, [0, ...new TextEncoder().encode('ckpt-test')]))),
    cat(u(1, 2), u(2, 7), msg(18, u(1, 7), u(2, 7003), u(3, 0), msg(4, u(1, 0)))),
    cat(u(1, 6), u(2, 8), msg(8, u(1, 8), u(2, 0), msg(3, u(1, 0)), u(4, 42))),
    cat(u(1, 4), u(2, 9), msg(4, u(1, 9), u(2, 7004), u(3, 2), u(4, 1), u(5, 6), u(6, 10), u(7, 8080), u(8, 0), u(9, 0), u(10, 128),
      u(11, ip4('127.0.0.1')), u(12, 0), msg(13, u(1, 0)), sk)),
    reg(10, join(files, 'gone.txt'), 0o100644, 5),
    reg(12, join(files, 'missing.txt'), 0o100644, 1),
    reg(20, files, 0o40755, undefined, 0),
    reg(21, '/', statSync('/').mode, undefined, 0),
  ]));
  write(dir, 'remap-fpath.img', image(MAGIC.REMAP_FPATH, [cat(u(1, 10), u(2, 11), u(3, 1))]));
  write(dir, 'stats-dump', image(MAGIC.STATS, [msg(1, u(1, 396), u(2, 38306), u(3, 12105), u(4, 8787), u(5, 4189), u(6, 0), u(7, 4159), u(8, 0), u(9, 0), u(10, 16))], SERVICE));
  write(dir, 'stats-restore', image(MAGIC.STATS, [msg(2, u(1, 0), u(2, 0), u(3, 5123), u(4, 90210), u(5, 4159))], SERVICE));
  return { dir, files };
}

t.test('readImageDir: the typed model', async (t) => {
  const { dir, files } = makeImages(t);
  const img = await readImageDir(dir);
  t.match(img.inventory, { imgVersion: 2, fdinfoPerId: true, nsPerId: true, lsm: 'none', networkLockMethod: 'nftables', criuRunId: 'run-1', plugins: [], tcpClose: false });
  t.match(img.inventory.rootIds, { vmId: 1, netNsId: 11, mntNsId: 12 });

  t.equal(img.processes.length, 2);
  const [server, child] = img.processes as [typeof img.processes[0], typeof img.processes[0]];
  t.match(server, { pid: 100, ppid: 0, pgid: 100, sid: 100 });
  t.same(server.threads, [{ tid: 100, comm: 'server' }, { tid: 101, comm: 'worker' }]);
  t.match(server.core, { arch: 'x86_64', state: 'alive', exitCode: 0, comm: 'server', oomScoreAdj: -1000, creds: { uid: 1000, gid: 1001 } });
  t.match(server.ids, { vmId: 2, filesId: 2, netNsId: 99 });
  t.same(server.fs, { cwdId: 20, rootId: 21, umask: 0o22 });
  t.match(child, { pid: 102, ppid: 100, core: { state: 'zombie', exitCode: 3, comm: 'child' }, fds: [] });
  t.equal(child.mm, undefined, 'a zombie has no mm image');

  const vmas = server.mm!.vmas;
  t.same(vmas.map((v) => v.kind), ['file-private', 'file-shared', 'anon-private', 'anon-shared', 'stack', 'vdso', 'vvar', 'vsyscall']);
  t.equal(vmas[7]!.start, 0xffffffffff600000n, 'addresses above 2^53 are exact (bigint)');
  t.equal(vmas[7]!.size, PAGE);
  t.equal(vmas[0]!.fd, -1, 'sint64 fd');
  t.equal(server.mm!.exeFileId, 1);

  t.match(server.pagemap, { pagesId: 1, presentPages: 113, lazyPages: 10, parentPages: 7, pagesFile: 'pages-1.img', pagesFileBytes: 113 * PAGE });
  t.same(server.pagemap!.runs.map((r) => r.flags), [4, 6, 1, 4, 1], 'old entries get PE_PRESENT or PE_PARENT');
  t.match(img.shmem, [{ file: 'pagemap-shmem-555.img', presentPages: 1, pagesFileBytes: PAGE }]);

  t.same(server.fds.map((f) => [f.fd, f.fileId, f.type]), [
    [0, 3, 'REG'], [3, 4, 'REG'], [4, 9, 'INETSK'], [5, 5, 'INETSK'], [6, 6, 'UNIXSK'], [7, 7, 'PIPE'], [8, 8, 'EVENTFD'], [9, 40, 'REG'], [10, 10, 'REG'], [11, 12, 'REG'],
  ]);
  const byId = new Map(img.files.map((f) => [f.id, f]));
  t.match(byId.get(4), { kind: 'reg', path: join(files, 'held.txt'), size: 6, mode: 0o100640, flags: 2, external: false });
  t.equal((byId.get(3) as { size?: number }).size, undefined, 'no size recorded for /dev/null');
  t.match(byId.get(5), { kind: 'inet', family: 'INET6', sockType: 'STREAM', proto: 'TCP', state: 'ESTABLISHED', src: '::1', srcPort: 40000, dst: '2001:db8::1', dstPort: 443 });
  t.match(byId.get(9), { kind: 'inet', family: 'INET', state: 'LISTEN', src: '127.0.0.1', srcPort: 8080, backlog: 128 });
  t.match(byId.get(6), { kind: 'unix', sockType: 'STREAM', state: 'LISTEN', name: '@ckpt-test' });
  t.match(byId.get(7), { kind: 'pipe', pipeId: 7003 });
  t.match(byId.get(8), { kind: 'eventfd', counter: 42 });
  t.same(img.remaps, [{ origId: 10, remapId: 11, type: 'ghost' }]);

  t.same(img.dumpStats, {
    freezingTime: 396, frozenTime: 38306, memdumpTime: 12105, memwriteTime: 8787, irmapResolveTime: 0,
    pagesScanned: 4189, pagesSkippedParent: 0, pagesWritten: 4159, pagesLazy: 0, pagePipes: 16,
  });
  t.same(img.restoreStats, { pagesCompared: 0, pagesSkippedCow: 0, forkingTime: 5123, restoreTime: 90210, pagesRestored: 4159 });
  t.same(readDumpStats(dir), img.dumpStats);
  t.same(readRestoreStats(dir), img.restoreStats);
  t.equal(readDumpStats(files), undefined, 'no stats-dump: undefined');
  t.equal(readRestoreStats(files), undefined, 'no stats-restore: undefined');
});

t.test('inspectImages: the report', async (t) => {
  const { dir, files } = makeImages(t);
  const r = await inspectImages(dir);
  t.same(r.namespaces, ['net'], 'the tree has its own network namespace');
  t.equal(r.pageSize, PAGE);
  t.equal(r.filesChecked, false);
  t.same(r.processes.map((p) => [p.pid, p.comm, p.state, p.threads]), [[100, 'server', 'alive', 2], [102, 'child', 'zombie', 1]]);
  const [server] = r.processes as [typeof r.processes[0]];
  t.match(server, { exe: join(files, 'exe'), cwd: files, root: '/', uid: 1000, children: [102], threadIds: [100, 101], pagesImage: 'pages-1.img' });
  t.same(server.memory, {
    vmaBytes: 0x1000 + 0x10000 + 0x200000 + 0x1000 + 0x21000 + 0x2000 + 0x4000 + 0x1000,
    privateAnonBytes: 0x200000 + 0x21000,
    sharedAnonBytes: 0x1000,
    fileSharedBytes: 0x10000,
    filePrivateBytes: 0x1000,
    pagesDumped: 113,
    pagesBytes: 113 * PAGE,
    pagesLazy: 10,
    pagesInParent: 7,
    pagesImageBytes: 113 * PAGE,
  });
  t.match(r.totals, { processes: 2, threads: 3, pagesDumped: 114, pagesBytes: 114 * PAGE, pagesImageBytes: 114 * PAGE });

  t.same(server.openFiles.map((f) => [f.fd, f.kind, f.desc]), [
    [0, 'reg', '/dev/null'],
    [3, 'reg', join(files, 'held.txt')],
    [4, 'inet', 'TCP LISTEN 127.0.0.1:8080'],
    [5, 'inet', 'TCP6 ESTABLISHED [::1]:40000 → [2001:db8::1]:443'],
    [6, 'unix', 'unix STREAM LISTEN @ckpt-test'],
    [7, 'pipe', 'pipe:[7003]'],
    [8, 'eventfd', 'eventfd (counter 42)'],
    [9, 'missing', 'REG file #40 (not in files.img)'],
    [10, 'reg', `${join(files, 'gone.txt')} (copy in the set)`],
    [11, 'reg', join(files, 'missing.txt')],
  ]);
  t.equal(server.openFiles[1]!.access, 'rw');
  t.same(server.mappings.map((m) => [m.path, m.shared, m.prot, m.size, m.start]), [
    [join(files, 'exe'), false, 'r-x', 0x1000, '0x400000'],
    [join(files, 'data.bin'), true, 'rw-', 0x10000, '0x7f0000000000'],
  ]);
  t.same(r.sockets.map((s) => [s.family, s.state, s.local, s.localPort, s.remote, s.remotePort, s.users]), [
    ['INET', 'LISTEN', '127.0.0.1', 8080, undefined, undefined, [{ pid: 100, fd: 4 }]],
    ['INET6', 'ESTABLISHED', '::1', 40000, '2001:db8::1', 443, [{ pid: 100, fd: 5 }]],
    ['UNIX', 'LISTEN', '@ckpt-test', undefined, undefined, undefined, [{ pid: 100, fd: 6 }]],
  ]);
  t.same(r.files.map((f) => f.path), ['/', '/dev/null', files, ...['data.bin', 'exe', 'gone.txt', 'held.txt', 'missing.txt'].map((n) => join(files, n))].sort());
  const exe = r.files.find((f) => f.path === join(files, 'exe'))!;
  t.same(exe.uses, [{ pid: 100, as: 'mmap-private' }, { pid: 100, as: 'exe' }]);
  t.ok(r.files.every((f) => f.status === undefined), 'nothing checked unless asked');
  t.match(r.notes, [/7 pages are in the parent checkpoint/]);
  t.same(JSON.parse(JSON.stringify(r)).processes[0].mappings[1].start, '0x7f0000000000', 'the report is plain JSON (no bigint)');
});

t.test('inspectImages checkFiles: same, changed (size or mode), missing', async (t) => {
  const { dir, files } = makeImages(t);
  const r = await inspectImages(dir, { checkFiles: true });
  t.equal(r.filesChecked, true);
  const st = Object.fromEntries(r.files.map((f) => [f.path, [f.status, f.changes]]));
  t.same(st[join(files, 'exe')], ['same', undefined]);
  t.same(st[join(files, 'held.txt')], ['changed', ['size 6B → 13B']]);
  t.same(st[join(files, 'data.bin')], ['changed', ['mode 0644 → 0600']]);
  t.same(st[join(files, 'missing.txt')], ['missing', undefined]);
  t.same(st[join(files, 'gone.txt')], [undefined, undefined], 'a ghost-remapped file is not checked: it was already deleted at dump');
  t.same(st['/dev/null'], ['same', undefined]);
  t.same(st[files], ['same', undefined], 'directories compare by mode');
  t.equal(r.files.find((f) => f.path === join(files, 'gone.txt'))!.remap, 'ghost');
});

t.test('renderInspectTree', async (t) => {
  const { dir, files } = makeImages(t);
  const r = await inspectImages(dir, { checkFiles: true });
  const out = renderInspectTree(r);
  t.notMatch(out, /\x1b\[/, 'no escapes unless asked');
  t.notOk(out.endsWith('\n'));
  const lines = out.split('\n');
  t.equal(lines[0], dir);
  t.match(out, /├── CRIU images v2 · x86_64 · run run-1/);
  t.match(out, /├── own namespaces: net/);
  t.match(out, /├── processes: 2 \(3 threads\)/);
  t.match(out, /│   ├── freezing 396µs · frozen 38ms · memdump 12ms · memwrite 9ms/);
  t.match(out, /├── restore statistics\n│   ├── forking 5ms · restore 90ms\n│   └── pages compared 0 · skipped \(COW\) 0 · restored 4159/);
  t.match(out, /│   └── 100 server\n│       ├── 2 threads · exe /);
  t.match(out, /│       └── 102 child \(zombie, exit code 3\)/);
  t.match(out, /5 → TCP6 ESTABLISHED \[::1\]:40000 → \[2001:db8::1\]:443/);
  t.match(out, new RegExp(`${join(files, 'data.bin')}  shared rw- 64KiB  0x7f0000000000-0x7f0000010000`));
  t.match(out, /referenced files \(8, checked now: 4 same, 0 renamed, 2 changed, 1 missing\)/);
  t.match(out, /held\.txt  file 6B 0640 · fd  changed: size 6B → 13B/);
  t.match(out, /missing\.txt  file 1B 0644 · fd  missing/);
  t.match(out, /gone\.txt  file 5B 0644 · fd  copy in the set \(ghost: copy_files, or deleted at dump\)/);
  t.match(lines.at(-1), /^    └── 7 pages are in the parent checkpoint/);
  if (process.env.CKPT_SHOW_TREE) console.log(out);
  const colored = renderInspectTree(r, { color: true });
  t.match(colored, /\x1b\[31mmissing\x1b\[0m/);
  t.match(colored, /\x1b\[32msame\x1b\[0m/);
});

t.test('treeLines draws nested trees', async (t) => {
  t.same(
    treeLines({ label: 'root', children: [{ label: 'a', children: [{ label: 'a1' }, { label: 'a2\nmore' }] }, { label: 'b', children: [{ label: 'b1' }] }] }),
    ['root', '├── a', '│   ├── a1', '│   └── a2', '│       more', '└── b', '    └── b1'],
  );
});

// ---------------------------------------------------------------------------------------------
// The container format and damaged images

function corruptError(t: Test, e: unknown, file: string, re: RegExp): void {
  t.ok(e instanceof CkptError, 'a CkptError');
  t.equal((e as CkptError).code, 'STORE_CORRUPT');
  t.equal((e as CkptError).exitCode, 74);
  t.match((e as Error).message, file, 'names the file');
  t.match((e as Error).message, re);
  t.ok((e as CkptError).hint, 'with a hint');
}

async function rejects(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return undefined;
}

t.test('parseImage: heads, magics and entry sizes', async (t) => {
  const e1 = cat(u(1, 1));
  const e2 = cat(u(1, 2), u(2, 3));
  t.match(parseImage(image(MAGIC.PSTREE, [e1, e2]), 'x', MAGIC.PSTREE), { magic: MAGIC.PSTREE, head: 0x54564319, entries: [e1, e2], offsets: [12, 18] });
  t.match(parseImage(image(MAGIC.STATS, [e1], SERVICE), 'x', MAGIC.STATS), { head: SERVICE, entries: [e1] });
  const inv = parseImage(image(MAGIC.INVENTORY, [e1], null), 'x', MAGIC.INVENTORY);
  t.equal(inv.head, undefined, 'inventory has no head magic');
  t.same(parseImage(image(MAGIC.FDINFO, []), 'x', MAGIC.FDINFO).entries, [], 'magic alone: no entries');
  t.same(parseImage(image(MAGIC.FDINFO, [new Uint8Array()]), 'x', MAGIC.FDINFO).entries, [new Uint8Array()], 'an empty entry');

  const bad = (buf: Uint8Array, re: RegExp): void => {
    try {
      parseImage(buf, '/ck/some.img', MAGIC.PSTREE);
      t.fail('no error');
    } catch (e) {
      corruptError(t, e, '/ck/some.img', re);
    }
  };
  bad(new Uint8Array(), /0 bytes, too short/);
  bad(Uint8Array.from([0x19, 0x43, 0x56, 0x54]), /truncated after its first magic/);
  bad(image(MAGIC.CORE, [e1]), /magic 0x55053847 \(CORE\), expected 0x50273030 \(PSTREE\)/);
  bad(image(0x12345678, [e1], null), /magic 0x12345678, expected 0x50273030 \(PSTREE\)/);
  bad(image(MAGIC.PSTREE, [e1]).subarray(0, 13), /truncated: entry 0 at offset 8 has size 2 but only 1 bytes follow/);
  bad(cat(image(MAGIC.PSTREE, [e1]), [1, 0]), /2 stray bytes at offset 14/);
});

t.test('damaged images give STORE_CORRUPT naming the file', async (t) => {
  const { dir } = makeImages(t);
  const copy = (): string => {
    const d = tempDir(t, 'ckpt-images-bad-');
    for (const f of readdirSync(dir)) copyFileSync(join(dir, f), join(d, f));
    return d;
  };

  let d = copy();
  const pstree = readFileSync(join(d, 'pstree.img'));
  writeFileSync(join(d, 'pstree.img'), pstree.subarray(0, pstree.length - 3));
  corruptError(t, await rejects(readImageDir(d)), join(d, 'pstree.img'), /truncated: entry 1 at offset \d+ has size \d+ but only \d+ bytes follow/);

  d = copy();
  const mm = readFileSync(join(d, 'mm-100.img'));
  mm[4] = mm[4]! ^ 0xff;
  writeFileSync(join(d, 'mm-100.img'), mm);
  corruptError(t, await rejects(readImageDir(d)), join(d, 'mm-100.img'), /magic 0x\w+, expected 0x57492820 \(MM\)/);

  d = copy();
  // a files.img entry of the right size full of 0xff: an over-long varint
  const files = readFileSync(join(d, 'files.img'));
  const size = files.readUInt32LE(8);
  files.fill(0xff, 12, 12 + size);
  writeFileSync(join(d, 'files.img'), files);
  corruptError(t, await rejects(inspectImages(d)), join(d, 'files.img'), /entry 0 \(file_entry\) at offset 12: varint longer than 10 bytes/);

  d = copy();
  // a core entry without its required comm
  write(d, 'core-100.img', image(MAGIC.CORE, [cat(u(1, 1), msg(3, u(1, 1), u(2, 0), u(3, 0), u(4, 0)))]));
  corruptError(t, await rejects(readImageDir(d)), join(d, 'core-100.img'), /core_entry\.tc: required field comm \(6\) is missing/);

  d = copy();
  write(d, 'pagemap-100.img', image(MAGIC.PAGEMAP, []));
  corruptError(t, await rejects(readImageDir(d)), join(d, 'pagemap-100.img'), /no pagemap_head entry/);

  d = copy();
  write(d, 'stats-dump', image(MAGIC.STATS, [msg(2, u(1, 0))], SERVICE));
  try {
    readDumpStats(d);
    t.fail('no error');
  } catch (e) {
    corruptError(t, e, join(d, 'stats-dump'), /stats_entry\.restore: required field pages_skipped_cow/);
  }
  write(d, 'stats-dump', image(MAGIC.STATS, [msg(2, u(1, 0), u(2, 0), u(3, 0), u(4, 0))], SERVICE));
  try {
    readDumpStats(d);
    t.fail('no error');
  } catch (e) {
    corruptError(t, e, join(d, 'stats-dump'), /no dump member/);
  }

  const empty = tempDir(t, 'ckpt-images-empty-');
  const e = await rejects(readImageDir(empty));
  t.match(e, { code: 'STORE_CORRUPT', message: /is not a CRIU images directory: it has no inventory\.img/ });
  t.match(await rejects(readImageDir(join(empty, 'nope'))), { code: 'STORE_CORRUPT', message: /is not a CRIU images directory/ });
});
