// A real database in a container built by ckpt from Debian's packages: MariaDB (InnoDB) in an
// image FROM ckpt-debian:bookworm (scripts/build-debian-image.sh, no registry), its data directory
// /var/lib/mysql a named volume, checkpointed under a write load of transfers between accounts.
// The volume is captured at the same cut as the memory, so the restored mariadbd (the same server:
// its uptime and connection counters go on) finds the files it had at that instant: the money is
// all there, the ledger ends at the cut with no gap and is the original's own history, CHECK TABLE
// EXTENDED finds nothing wrong, and nothing written after the cut is left. A plain restore refuses
// to discard the volume's later writes (VOLUME_CHANGED) and leaves it as it is. A clone made
// beside the running original (whose files are still the very inodes the set was dumped with)
// opens the files of a volume of its own, none of the original's; the restored original and the
// clone both take writes, both stay consistent, and they diverge.
//
// InnoDB holds a POSIX write lock on ibdata1 (and Aria one on aria_log_control) against a second
// server on the same files: the checkpoint must dump those locks (CRIU's --file-locks) and a
// restore or a clone take them again, each on its own volume's files; the test checks /proc/locks.
//
// The load runs inside the container, as children of its init (entrypoint.sh), so that it is part
// of the cut: two loaders, each a loop of `mariadb -e "CALL transfer(a, b, amount)"` while the
// file /ctl/load exists. /ctl is a bind mount of the test's directory: a bind mount is the user's
// and is not stored in the set, so removing the file stops the loaders of the original, and a
// restore or a clone (which see the same directory) does not start them again. Later writes go
// through `docker exec` (`transfer N`), never while a checkpoint runs.
import t from 'tap';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { runtimeFor } from '../../src/runtime/index.js';
import { docker } from '../../src/runtime/docker/client.js';
import { LABEL_STATE, stateTag } from '../../src/runtime/docker/container-config.js';
import { freePort, requireIntegration, tempDir, writeManifest } from '../helpers/env.js';
import { hostPort, poll, sleep } from '../fixtures/stack-util.js';
import type { LedgerState } from '../fixtures/ledger.js';

const BASE = 'ckpt-debian:bookworm';
const ACCOUNTS = 50;

// PID 1 of the container: mariadbd and the loaders are its children, so CRIU dumps them all.
const ENTRYPOINT = `#!/bin/bash
set -u
datadir=/var/lib/mysql
# a new (empty) volume: the system tables first; root connects over the unix socket (unix_socket auth)
if [ -z "$(ls -A "$datadir")" ]; then
  mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db >/tmp/install.log 2>&1 || { cat /tmp/install.log; exit 1; }
fi
install -d -o mysql -g mysql /run/mysqld
# --innodb-use-native-aio=0: InnoDB's default here is io_uring, which CRIU cannot dump
# ("Unknown shit 600 (anon_inode:[io_uring])"); with it off, InnoDB does its own I/O threads.
mariadbd --user=mysql --datadir="$datadir" --bind-address=0.0.0.0 --port=3306 --skip-name-resolve \\
  --innodb-use-native-aio=0 &
db=$!
trap 'kill -TERM $db; wait $db; exit 0' TERM INT
for i in 1 2; do
  ( while :; do
      if [ -e /ctl/load ]; then transfer || echo "loader $i: a transfer failed" >>/ctl/errors; else sleep 0.05; fi
    done ) &
done
wait $db
`;

// transfer [N]: N transfers (default 1) between two different random accounts; exits 1 on the first error.
const TRANSFER = `#!/bin/bash
n=${ACCOUNTS}
for ((k = 0; k < \${1:-1}; k++)); do
  a=$((RANDOM % n + 1)); r=$((RANDOM % (n - 1))); b=$(((a + r) % n + 1)); amt=$((RANDOM % 1000 + 1))
  mariadb bank -e "CALL transfer($a, $b, $amt)" || exit 1
done
`;

const dockerfile = (project: string): string => `FROM ${BASE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client >/dev/null \\
 && rm -rf /var/lib/apt/lists/* /var/lib/mysql/*
COPY entrypoint.sh transfer /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
# last, so that the layers above are Docker's cache for the next run; this run's image is its own
LABEL ckpt.test=${project}
`;

const SCHEMA = `
-- any host may open a connection and get the server's greeting (no privilege to do more)
CREATE USER probe@'%';
CREATE DATABASE bank;
USE bank;
CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB;
INSERT INTO accounts SELECT seq, 0 FROM seq_1_to_${ACCOUNTS};
CREATE TABLE ledger (
  seq BIGINT AUTO_INCREMENT PRIMARY KEY, src INT NOT NULL, dst INT NOT NULL, amount INT NOT NULL,
  at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), KEY (src), KEY (dst)
) ENGINE=InnoDB;
DELIMITER //
-- one transaction per transfer; the two rows are locked by one statement in key order (no
-- deadlock, so no rollback burns a sequence number and the ledger has no gap)
CREATE PROCEDURE transfer(a INT, b INT, amt INT)
BEGIN
  START TRANSACTION;
  UPDATE accounts SET balance = balance + IF(id = a, -amt, amt) WHERE id IN (a, b);
  INSERT INTO ledger (src, dst, amount) VALUES (a, b, amt);
  COMMIT;
END //
DELIMITER ;
`;

/** What must hold in any state the database can be in (each value is checked exactly). */
const INVARIANTS = `SELECT JSON_OBJECT(
  'accounts', (SELECT COUNT(*) FROM accounts),
  'sum', (SELECT CAST(COALESCE(SUM(balance), 0) AS SIGNED) FROM accounts),
  'rows', (SELECT COUNT(*) FROM ledger),
  'min', (SELECT COALESCE(MIN(seq), 0) FROM ledger),
  'max', (SELECT COALESCE(MAX(seq), 0) FROM ledger),
  'unbalanced', (SELECT COUNT(*) FROM accounts a WHERE a.balance <>
      COALESCE((SELECT SUM(amount) FROM ledger WHERE dst = a.id), 0) - COALESCE((SELECT SUM(amount) FROM ledger WHERE src = a.id), 0)))`;

type State = LedgerState;

/** The server's version from the greeting it sends a new TCP client (no client library needed). */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => (s.destroy(), reject(new Error(`no greeting on ${port}`))), 5000);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readUIntLE(0, 3)) return;
      clearTimeout(timer);
      s.destroy();
      // packet: 3 bytes length, 1 byte sequence; payload: protocol 10, version NUL-terminated
      resolve(buf[4] === 10 ? buf.subarray(5, buf.indexOf(0, 5)).toString() : `protocol ${buf[4]}`);
    });
    s.on('error', (e) => (clearTimeout(timer), reject(e)));
  });
}

/** The pids holding a POSIX write lock on the file (from /proc/locks). */
function lockHolders(path: string): number[] {
  const st = lstatSync(path);
  const dev = `${((st.dev >> 8) & 0xfff).toString(16).padStart(2, '0')}:${(st.dev & 0xff).toString(16).padStart(2, '0')}:${st.ino}`;
  return readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === 'POSIX' && f[3] === 'WRITE' && f[5] === dev)
    .map((f) => Number(f[4]));
}

/** Bytes of the distinct files under a directory (what it takes on disk, about). */
function diskBytes(root: string): number {
  const seen = new Set<number>();
  let n = 0;
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const st = lstatSync(join(dir, e));
      if (st.isDirectory()) walk(join(dir, e));
      else if (!seen.has(st.ino)) (seen.add(st.ino), (n += st.size));
    }
  };
  walk(root);
  return n;
}

/** Every entry of a tree with its inode, size and mtime: equal only if nothing in it was touched. */
function fingerprint(root: string): string {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const n of readdirSync(join(root, rel)).sort()) {
      const p = join(rel, n);
      const st = lstatSync(join(root, p));
      out.push(`${p} ${st.ino} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  return out.join('\n');
}

t.test('mariadb: a container built from Debian packages, its volume and memory at one cut under a write load; restore and clone stay consistent', { timeout: 400_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true, docker: true })) return;
  const base = await docker().getImage(BASE).inspect().catch(() => undefined);
  if (!base) {
    t.fail(`the base image ${BASE} is missing: build it with sudo bash scripts/build-debian-image.sh (scripts/bootstrap.sh does)`);
    return;
  }
  const t0 = performance.now();
  const dir = tempDir(t);
  const project = `mdb${process.pid}`;
  const clone = `${project}c`;
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  const ctl = join(dir, 'ctl');
  const app = join(dir, 'app');
  mkdirSync(ctl);
  mkdirSync(app);
  writeFileSync(join(app, 'Dockerfile'), dockerfile(project));
  writeFileSync(join(app, 'entrypoint.sh'), ENTRYPOINT, { mode: 0o755 });
  writeFileSync(join(app, 'transfer'), TRANSFER, { mode: 0o755 });
  writeFileSync(join(ctl, 'schema.sql'), SCHEMA);
  const port = await freePort();
  const file = writeManifest(
    dir,
    `
name: ${project}
services:
  db:
    build: ./app
    volumes: ["data:/var/lib/mysql", "./ctl:/ctl"]
    ports: ["127.0.0.1:${port}:3306"]
    stop_grace_period: 10s
volumes:
  data: {}
`,
    'compose.yaml',
  );
  const image = `${project}-db`;
  const ours = async () => ({
    containers: (await docker().listContainers({ all: true, filters: { label: [`${LABEL_STATE}=${stateTag(ctx.stateRoot)}`] } })).map((c) => c.Names[0]!),
    volumes: ((await docker().listVolumes()).Volumes ?? []).map((v) => v.Name).filter((n) => n.startsWith(project)).sort(),
    networks: (await docker().listNetworks()).map((n) => n.Name).filter((n) => n.startsWith(project)),
  });
  t.teardown(async () => {
    for (const p of [clone, project]) if (core.readStack(ctx, p)) await core.down(ctx, p, { timeoutMs: 1000, volumes: true }).catch(() => undefined);
    const left = await ours().catch(() => ({ containers: [], volumes: [], networks: [] }));
    for (const c of left.containers) await docker().getContainer(c.slice(1)).remove({ force: true }).catch(() => undefined);
    for (const v of left.volumes) await docker().getVolume(v).remove().catch(() => undefined);
    for (const n of left.networks) await docker().getNetwork(n).remove().catch(() => undefined);
    // noprune: the layers under this run's label stay as Docker's build cache
    await docker().getImage(image).remove({ force: true, noprune: true }).catch(() => undefined);
  });

  const exec = async (p: string, argv: string[], timeoutMs = 30_000) => {
    const rec = core.readStack(ctx, p)!.services['db']!;
    return runtimeFor('docker').exec(rec, argv, timeoutMs);
  };
  const sql = async (p: string, query: string, db = 'bank'): Promise<string> => {
    const r = await exec(p, ['mariadb', '-N', '-B', ...(db ? [db] : []), '-e', query]);
    if (r.exitCode !== 0) throw new Error(`mariadb -e ${query.slice(0, 60)}…: exit ${r.exitCode}: ${r.stderr.trim()}`);
    return r.stdout.trim();
  };
  const state = async (p: string): Promise<State> => JSON.parse(await sql(p, INVARIANTS)) as State;
  const status = async (p: string): Promise<{ uptime: number; connections: number; at: number }> => {
    const rows = new Map((await sql(p, "SHOW GLOBAL STATUS WHERE Variable_name IN ('Uptime', 'Connections')")).split('\n').map((l) => l.split('\t') as [string, string]));
    return { uptime: Number(rows.get('Uptime')), connections: Number(rows.get('Connections')), at: Date.now() };
  };
  const ledger = async (p: string): Promise<string[]> => (await sql(p, 'SELECT seq, src, dst, amount FROM ledger ORDER BY seq')).split('\n');
  /** no mariadb client is running in the container (the loaders are idle, restored statements done) */
  const settled = (p: string) =>
    poll(async () => (await exec(p, ['bash', '-c', 'n=0; for f in /proc/[0-9]*/comm; do read -r c <"$f" 2>/dev/null && [ "$c" = mariadb ] && n=$((n+1)); done; echo $n'])).stdout.trim() === '0', 15_000, 100);
  const check = async (p: string) => {
    const r = await exec(p, ['mariadb-check', '--all-databases', '--extended']);
    const lines = r.stdout.trim().split('\n');
    return { ok: r.exitCode === 0 && lines.length > 2 && lines.every((l) => /\sOK$/.test(l)) && lines.some((l) => /^bank\.ledger\s/.test(l)), out: `${r.stdout}${r.stderr}`.trim() };
  };
  /** the host pid of the service's mariadbd: the child of its init named so */
  const mariadbd = (p: string): number | undefined => {
    const init = core.readStack(ctx, p)!.services['db']!.initPid!;
    const pid = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .find((d) => {
        try {
          const st = readFileSync(`/proc/${d}/status`, 'utf8');
          return /^Name:\s+mariadbd$/m.test(st) && new RegExp(`^PPid:\\s+${init}$`, 'm').test(st);
        } catch {
          return false;
        }
      });
    return pid === undefined ? undefined : Number(pid);
  };
  /** InnoDB's lock on its system tablespace, which stops a second server on the same files */
  const holdsLock = async (p: string): Promise<boolean> => {
    const ibdata = join((await docker().getVolume(`${p}_data`).inspect()).Mountpoint, 'ibdata1');
    return lockHolders(ibdata).includes(mariadbd(p) ?? -1);
  };
  /**
   * The regular files mariadbd has open on its volume's filesystem: in its own volume (`own`),
   * and any other (`foreign`: another container's volume, or a file that is gone).
   */
  const filesOpen = async (p: string): Promise<{ own: number; foreign: string[] }> => {
    const vol = (await docker().getVolume(`${p}_data`).inspect()).Mountpoint;
    const dev = statSync(vol).dev;
    const mine = new Set(
      fingerprint(vol)
        .split('\n')
        .map((l) => l.split(' ')[1]),
    );
    const fds = `/proc/${mariadbd(p)}/fd`;
    const open = readdirSync(fds)
      .map((fd) => {
        try {
          const st = statSync(join(fds, fd));
          return st.isFile() && st.dev === dev ? { fd, ino: String(st.ino), links: st.nlink } : undefined;
        } catch {
          return undefined;
        }
      })
      .filter((x) => x !== undefined);
    return { own: open.filter((f) => mine.has(f.ino)).length, foreign: open.filter((f) => !mine.has(f.ino)).map((f) => `fd ${f.fd}: inode ${f.ino}${f.links ? '' : ' (deleted)'}`) };
  };
  /** the invariant, and no gap in the ledger: every transfer committed, none burnt a number */
  const consistent = (s: State, what: string): void => {
    t.same(
      { accounts: s.accounts, sum: s.sum, unbalanced: s.unbalanced, min: s.min, gapless: s.rows === s.max - s.min + 1 },
      { accounts: ACCOUNTS, sum: 0, unbalanced: 0, min: 1, gapless: true },
      `${what}: ${ACCOUNTS} accounts summing to 0, each balance its ledger's, ledger 1…${s.max} without gaps (${s.rows} rows)`,
    );
  };

  // up: ckpt builds the image (Docker's cache has the apt layer after the first run), then the
  // entrypoint initialises the empty volume
  const built: string[] = [];
  const upCtx: core.CoreContext = { ...ctx, events: (e) => e.type === 'build' && e.phase === 'built' && built.push(String(e.detail?.['image'])) };
  const u0 = performance.now();
  await core.up(upCtx, await core.loadProject({ file }));
  t.same(built, [image], 'ckpt built the service\'s image');
  t.equal((await docker().getImage(image).inspect()).Config.Labels?.['ckpt.test'], project, 'from the test\'s Dockerfile');
  t.ok(await poll(async () => (await sql(project, 'SELECT 1', '')) === '1', 60_000, 200), 'mariadbd answers');
  t.comment(`up (build + install-db + start) ${(performance.now() - u0).toFixed(0)} ms`);
  t.equal(await sql(project, 'SELECT @@datadir', ''), '/var/lib/mysql/', 'its data directory is the volume');
  t.equal((await exec(project, ['stat', '-c', '%U', '/var/lib/mysql/ibdata1'])).stdout.trim(), 'mysql', 'mariadb-install-db wrote it, as mysql');
  t.ok(await holdsLock(project), 'mariadbd holds InnoDB\'s lock on ibdata1');
  const schema = await exec(project, ['bash', '-c', 'mariadb < /ctl/schema.sql']);
  t.equal(schema.exitCode, 0, `the schema ${schema.stderr}`.trim());
  t.match(await greeting(port), /^(5\.5\.5-)?10\.11\.\d+-MariaDB/, `it listens on the published port ${port}`);

  // the load; the cut lands inside it
  writeFileSync(join(ctl, 'load'), '');
  t.ok(await poll(async () => (await state(project)).rows >= 300, 20_000, 100), 'the loaders are writing');
  const beforeCut = await state(project);
  const s0 = await status(project);
  const cp = await core.checkpoint(ctx, project, 'loaded', { storeRoot });
  const bound = Number(await sql(project, 'SELECT MAX(seq) FROM ledger'));
  t.same(cp.set.services, ['db'], 'the set holds the service');
  const data = cp.services[0]!.data ?? [];
  t.same(data.map((d) => d.volume), [`${project}_data (/var/lib/mysql)`], 'the set holds the volume, captured at the cut (not the bind mount /ctl)');
  t.comment(
    `checkpoint ${(cp.set.sizeBytes / 1048576).toFixed(1)} MiB (${(diskBytes(cp.set.dir) / 1048576).toFixed(1)} MiB on disk with the volume's tree), frozen ${cp.frozenMs.toFixed(0)} ms, total ${cp.totalMs.toFixed(0)} ms; ` +
      `data: ${data.map((d) => `${d.volume} ${d.method} ${d.ms.toFixed(0)} ms (${d.why})`).join(', ')}; ledger at the checkpoint ${beforeCut.max}…${bound}`,
  );
  // the load goes on after the checkpoint, then stops; what it wrote is in the live volume only
  t.ok(await poll(async () => (await state(project)).max > bound + 500, 20_000, 100), 'the loaders write on after the checkpoint');
  unlinkSync(join(ctl, 'load'));
  t.ok(await settled(project), 'and stop');
  t.notOk(existsSync(join(ctl, 'errors')), `no transfer failed, through the checkpoint either ${existsSync(join(ctl, 'errors')) ? readFileSync(join(ctl, 'errors'), 'utf8') : ''}`.trim());
  const beforeDown = await state(project);
  consistent(beforeDown, 'the original before down');
  const history = await ledger(project);

  // A clone beside the running original, whose files are still the very ones the set was dumped
  // with: the clone must open its own copies, never the original's (two servers on one set of
  // InnoDB files would corrupt it).
  const c = await core.restore(ctx, 'loaded', { storeRoot, as: clone });
  t.comment(`clone ${c.totalMs.toFixed(0)} ms; volumes: ${JSON.stringify(c.services.flatMap((x) => x.data ?? []))}`);
  const clonePort = hostPort(await core.ps(ctx, clone), 'db');
  t.not(clonePort, port, 'the clone publishes 3306 on a host port of its own');
  t.match(await greeting(clonePort), /MariaDB/, 'where it answers');
  t.same((await ours()).volumes, [`${project}_data`, `${clone}_data`], 'it has a volume of its own');
  const cloneFiles = await filesOpen(clone);
  t.same({ foreign: cloneFiles.foreign, some: cloneFiles.own >= 3 }, { foreign: [], some: true }, `its mariadbd has its data files open in that volume (${cloneFiles.own}), none of the original's`);
  t.ok(await holdsLock(clone), 'and holds the lock on its own ibdata1');
  t.ok(await holdsLock(project), 'while the original keeps its own');
  const sc0 = await status(clone);
  t.ok(sc0.uptime >= s0.uptime + Math.floor((sc0.at - s0.at) / 1000) - 1, `the clone is the set's mariadbd: its uptime goes on from the cut (${s0.uptime} s → ${sc0.uptime} s)`);
  t.ok(await settled(clone), 'its transfers running at the cut finish');
  const cloned = await state(clone);
  consistent(cloned, 'the clone');
  t.ok(cloned.max >= beforeCut.max && cloned.max <= bound, `at the cut (${beforeCut.max} ≤ ${cloned.max} ≤ ${bound})`);
  consistent(await state(project), 'the original beside it');
  t.equal((await state(project)).max, beforeDown.max, 'untouched by the clone');

  await core.down(ctx, project, { timeoutMs: 10_000 });
  t.same((await ours()).containers, [`/${clone}-db-1`], 'down removed the original\'s container');
  const live = (await docker().getVolume(`${project}_data`).inspect()).Mountpoint;
  const liveBefore = fingerprint(live);

  await t.rejects(core.restore(ctx, 'loaded', { storeRoot }), { code: 'VOLUME_CHANGED', message: new RegExp(`${project}_data .*changed since the cut`) }, 'a plain restore refuses to discard what the volume got after the cut');
  t.equal(fingerprint(live), liveBefore, 'and leaves every file of the volume as it was');
  t.equal(core.readStack(ctx, project), undefined, 'starting nothing');
  t.same((await ours()).containers, [`/${clone}-db-1`], 'with no container made');

  const r = await core.restore(ctx, 'loaded', { storeRoot, replace: true });
  t.comment(`restore --replace ${r.totalMs.toFixed(0)} ms (verify ${r.verifyMs.toFixed(0)} ms); volumes: ${JSON.stringify(r.services.flatMap((x) => x.data ?? []))}`);
  const s1 = await status(project);
  t.ok(s1.uptime >= s0.uptime + Math.floor((s1.at - s0.at) / 1000) - 1, `the same mariadbd answers: its uptime went on (${s0.uptime} s before the checkpoint, ${s1.uptime} s ${((s1.at - s0.at) / 1000).toFixed(1)} s later)`);
  t.ok(s1.connections > s0.connections, `and its connection counter (${s0.connections} → ${s1.connections})`);
  t.ok(await settled(project), 'the transfers running at the cut finish');
  const restored = await state(project);
  consistent(restored, 'restored');
  t.ok(restored.max >= beforeCut.max, `everything committed before the checkpoint is there (${restored.max} ≥ ${beforeCut.max})`);
  t.ok(restored.max <= bound, `the ledger ends at the cut (${restored.max} ≤ ${bound}, the ledger right after the checkpoint)`);
  t.ok(restored.max < beforeDown.max, `rows written after the cut are gone (${restored.max} < ${beforeDown.max})`);
  // Its history is the original's: each loader had at most one transfer under way at the cut,
  // which the restored one finishes; only those two may have taken their numbers in another order.
  const again = await ledger(project);
  t.same(again.slice(0, -2), history.slice(0, again.length - 2), `the restored ledger is the original's, row for row (${again.length} rows)`);
  t.same(restored, cloned, 'the same state as the clone\'s: one cut');
  const c1 = await check(project);
  t.ok(c1.ok, `mariadb-check --all-databases --extended: every table OK${c1.ok ? '' : `\n${c1.out}`}`);
  t.match(await greeting(port), /MariaDB/, 'it listens on its port again');
  const ownFiles = await filesOpen(project);
  t.same({ foreign: ownFiles.foreign, some: ownFiles.own >= 3 }, { foreign: [], some: true }, `its files open are those of the replaced volume (${ownFiles.own}), none of what was there before`);
  t.ok(await holdsLock(project), 'and it holds its lock on ibdata1 again');

  // the restored original and the clone: both take writes, each its own
  const [wo, wc] = await Promise.all([exec(project, ['transfer', '200'], 120_000), exec(clone, ['transfer', '500'], 120_000)]);
  t.same([wo.exitCode, wc.exitCode], [0, 0], `both take writes at once ${wo.stderr}${wc.stderr}`.trim());
  const [so, sc] = [await state(project), await state(clone)];
  consistent(so, 'the original after its writes');
  consistent(sc, 'the clone after its writes');
  t.same([so.rows, sc.rows], [restored.rows + 200, cloned.rows + 500], 'each has exactly its own transfers: none crossed over');
  const sums = await Promise.all([project, clone].map((p) => sql(p, 'CHECKSUM TABLE accounts')));
  t.not(sums[0], sums[1], `they diverge (accounts: ${sums.map((x) => x.split('\t')[1]).join(' vs ')})`);
  const [co, cc] = await Promise.all([check(project), check(clone)]);
  t.same([co.ok, cc.ok], [true, true], `mariadb-check passes on both${co.ok && cc.ok ? '' : `\n${co.out}\n${cc.out}`}`);

  await core.down(ctx, clone, { timeoutMs: 10_000, volumes: true });
  t.ok((await status(project)).uptime >= s1.uptime, 'the original runs on after the clone is gone');
  await core.down(ctx, project, { timeoutMs: 10_000, volumes: true });
  await sleep(100);
  t.same(await ours(), { containers: [], volumes: [], networks: [] }, 'no container, volume or network left');
  t.comment(`whole test ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});
