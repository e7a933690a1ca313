// A real database with its data in a named volume: PostgreSQL 15 as a process service (user
// postgres, PGDATA in the volume pgdata) is checkpointed under a pgbench write load. The volume is
// captured at the same cut as the memory, so the restored postmaster (the same process: its start
// time is unchanged) finds the files it had at that instant: the money is all there, the ledger
// ends at the cut with no gap, pg_amcheck finds nothing wrong, and nothing written after the cut
// is left. A clone beside it gets a copy of the volume of its own: both take writes, both stay
// consistent, and they diverge.
import t from 'tap';
import { chmodSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import * as core from '../../src/core/index.js';
import { requireIntegration, tempDir, writeManifest, freePort, volumesDir } from '../helpers/env.js';
import { alive, cgroupPids, hostPort, poll, sleep, stackTracker } from '../fixtures/stack-util.js';
import type { LedgerState } from '../fixtures/ledger.js';

const BIN = '/usr/lib/postgresql/15/bin';
const ACCOUNTS = 100;
const PROJECT = 'pgck';
const CLONE = 'pgck2';

/** The service: initdb on first start, then postgres on 5432 inside the stack's namespace. */
const startScript = (target: string): string => `#!/bin/sh
set -e
if [ ! -s ${target}/data/PG_VERSION ]; then
  ${BIN}/initdb -D ${target}/data -U postgres --auth=trust --no-sync -E UTF8 --locale=C
fi
mkdir -p ${target}/run
# dynamic shared memory in the service's own IPC namespace (CRIU dumps it): the default, posix,
# would be a file in the host's /dev/shm, outside the set and shared with every clone
exec ${BIN}/postgres -D ${target}/data -k ${target}/run -p 5432 \\
  -c listen_addresses=127.0.0.1 -c dynamic_shared_memory_type=sysv
`;

const SCHEMA = `
CREATE EXTENSION amcheck;
CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO accounts SELECT g, 0 FROM generate_series(1, ${ACCOUNTS}) g;
CREATE TABLE ledger (seq bigserial PRIMARY KEY, src int NOT NULL, dst int NOT NULL, amount int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE INDEX ledger_dst ON ledger (dst);
-- one transfer, one statement: rows are locked in id order (no deadlock, so no retry and no
-- sequence number burnt), and no transaction is ever left open waiting for its client
CREATE FUNCTION transfer(a int, b int, amt int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF a < b THEN
    UPDATE accounts SET balance = balance - amt WHERE id = a;
    UPDATE accounts SET balance = balance + amt WHERE id = b;
  ELSE
    UPDATE accounts SET balance = balance + amt WHERE id = b;
    UPDATE accounts SET balance = balance - amt WHERE id = a;
  END IF;
  INSERT INTO ledger (src, dst, amount) VALUES (a, b, amt);
END $$;
`;

// b is never a: 1 + (a + r) % N equals a only for r = N - 1
const PGBENCH_SCRIPT = `\\set a random(1, ${ACCOUNTS})
\\set r random(0, ${ACCOUNTS - 2})
\\set b 1 + (:a + :r) % ${ACCOUNTS}
\\set amt random(1, 1000)
SELECT transfer(:a, :b, :amt);
`;

/** What must hold in any state the database can be in (each value is checked exactly). */
const INVARIANTS = `SELECT json_build_object(
  'accounts', (SELECT count(*) FROM accounts),
  'sum', (SELECT coalesce(sum(balance), 0) FROM accounts),
  'rows', (SELECT count(*) FROM ledger),
  'min', (SELECT coalesce(min(seq), 0) FROM ledger),
  'max', (SELECT coalesce(max(seq), 0) FROM ledger),
  'unbalanced', (SELECT count(*) FROM accounts a WHERE a.balance <>
      coalesce((SELECT sum(amount) FROM ledger WHERE dst = a.id), 0) - coalesce((SELECT sum(amount) FROM ledger WHERE src = a.id), 0))
)`;

type State = LedgerState;

t.test('postgres: a volume and the memory at one cut, under a write load; restore and clone stay consistent', { timeout: 180_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const t0 = performance.now();
  const dir = tempDir(t);
  // postgres must reach the mount point and the script inside the test's directory
  chmodSync(dir, 0o755);
  const volumes = volumesDir(t, dir);
  // A mount point of this run's own: the one `up` makes on the host stays there, and a later new
  // volume at that target is seeded from it (root's, 0755) instead of belonging to postgres.
  const target = join(dir, 'pg');
  const script = join(dir, 'pg.sh');
  writeFileSync(script, startScript(target), { mode: 0o755 });
  const bench = join(dir, 'transfer.sql');
  writeFileSync(bench, PGBENCH_SCRIPT);
  const port = await freePort();
  const file = writeManifest(
    dir,
    `
name: ${PROJECT}
volumes:
  pgdata: {}
services:
  db:
    user: postgres
    command: ["sh", "${script}"]
    volumes: ["pgdata:${target}"]
    ports: ["127.0.0.1:${port}:5432"]
    x-ckpt:
      network: stack
    stop_grace_period: 3s
    healthcheck:
      test: ${BIN}/pg_isready -q -h 127.0.0.1 -p 5432 -U postgres
      interval: 200ms
      retries: 150
`,
  );
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  const { seen, cgroups, track } = stackTracker(ctx, PROJECT);
  // every process of this test's postgres: its working directory is the data directory
  const strays = (): number[] =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return readlinkSync(`/proc/${d}/cwd`).startsWith(target);
        } catch {
          return false;
        }
      })
      .map(Number);
  t.teardown(async () => {
    for (const p of [CLONE, PROJECT]) if (core.readStack(ctx, p)) await core.down(ctx, p, { timeoutMs: 1000, volumes: true }).catch(() => undefined);
    for (const p of new Set([...alive(seen), ...strays(), ...[...cgroups].flatMap(cgroupPids)])) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });

  const psql = async (p: number, sql: string, db = 'postgres'): Promise<string> =>
    (await execa(`${BIN}/psql`, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(p), '-U', 'postgres', '-d', db, '-c', sql], { env: { PGCONNECT_TIMEOUT: '10' } })).stdout.trim();
  const state = async (p: number): Promise<State> => JSON.parse(await psql(p, INVARIANTS)) as State;
  const startTime = (p: number): Promise<string> => psql(p, 'SELECT pg_postmaster_start_time()');
  const lastSeq = async (p: number): Promise<number> => Number(await psql(p, 'SELECT last_value FROM ledger_seq_seq'));
  const pgbench = (p: number, load: string[]) =>
    execa(`${BIN}/pgbench`, ['-n', '-c', '2', '-j', '2', '-h', '127.0.0.1', '-p', String(p), '-U', 'postgres', '-f', bench, ...load, 'postgres'], { reject: false });
  /** restored backends finish the statements they were running at the cut: wait for them */
  const settled = (p: number) => poll(async () => (await psql(p, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()")) === '0', 10_000, 100);
  const amcheck = (p: number) => execa(`${BIN}/pg_amcheck`, ['--all', '--heapallindexed', '-h', '127.0.0.1', '-p', String(p), '-U', 'postgres'], { reject: false, all: true });
  /**
   * The files a stack's postgres has open on the volumes' filesystem, and those of them that are
   * not, by inode, the file now at that path of the stack's own volume (a restored process must
   * write into the restored copy, not into the tree it replaced, nor a clone into the original's).
   */
  const openFiles = (project: string): { checked: number; elsewhere: string[] } => {
    const own = join(volumes, `${project}_pgdata`);
    const dev = statSync(own).dev;
    const out = { checked: 0, elsewhere: [] as string[] };
    for (const pid of cgroupPids(core.readStack(ctx, project)?.services.db?.cgroup)) {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        let link: string;
        let st: ReturnType<typeof statSync>;
        try {
          link = readlinkSync(`/proc/${pid}/fd/${fd}`);
          st = statSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          continue; // closed meanwhile
        }
        if (!st.isFile() || st.dev !== dev) continue;
        out.checked++;
        let there: ReturnType<typeof statSync> | undefined;
        try {
          there = link.startsWith(`${target}/`) ? statSync(join(own, link.slice(target.length))) : undefined;
        } catch {
          there = undefined;
        }
        if (there?.ino !== st.ino) out.elsewhere.push(`pid ${pid} fd ${fd}: ${link} (inode ${st.ino}, ${own}${link.slice(target.length)} is ${there?.ino ?? 'missing'})`);
      }
    }
    return out;
  };
  const ownFiles = (tt: Pick<typeof t, 'ok' | 'same'>, project: string, what: string): void => {
    const f = openFiles(project);
    tt.ok(f.checked > 0, `${what}: postgres has ${f.checked} files of the volume open`);
    tt.same(f.elsewhere.slice(0, 5), [], `${what}: each is the file of its own volume (${f.elsewhere.length} are not)`);
  };
  /** the invariant, and no gap in the ledger: every transfer committed, none burnt a number */
  const consistent = (tt: Pick<typeof t, 'same'>, s: State, what: string): void => {
    tt.same(
      { accounts: s.accounts, sum: s.sum, unbalanced: s.unbalanced, min: s.min, gapless: s.rows === s.max - s.min + 1 },
      { accounts: ACCOUNTS, sum: 0, unbalanced: 0, min: 1, gapless: true },
      `${what}: ${ACCOUNTS} accounts summing to 0, each balance its ledger's, ledger 1…${s.max} without gaps (${s.rows} rows)`,
    );
  };

  // up: initdb into the new volume, which belongs to the service's user
  const u0 = performance.now();
  await core.up(ctx, await core.loadProject({ file }), { wait: true });
  track();
  t.comment(`up (initdb + start) ${(performance.now() - u0).toFixed(0)} ms`);
  const live = join(volumes, `${PROJECT}_pgdata`);
  const uid = Number((await execa('id', ['-u', 'postgres'])).stdout);
  t.equal(statSync(live).uid, uid, 'the new volume belongs to the service user postgres');
  t.equal(statSync(join(live, 'data', 'PG_VERSION')).uid, uid, 'and initdb wrote PGDATA into it');
  t.equal(await psql(port, 'SELECT current_setting(\'data_directory\')'), join(target, 'data'), 'postgres runs on the volume');
  await psql(port, SCHEMA);
  await psql(port, 'CREATE EXTENSION amcheck', 'template1');
  const started = await startTime(port);

  // the load; the cut lands inside it
  const load = pgbench(port, ['-T', '7']);
  t.ok(await poll(async () => (await state(port)).rows >= 500, 10_000, 100), 'pgbench is writing');
  const beforeCut = await state(port);
  const cp = await core.checkpoint(ctx, PROJECT, 'loaded', { storeRoot });
  const bound = await lastSeq(port);
  t.same(cp.set.services, ['db'], 'the set holds the service');
  const data = cp.services[0]!.data ?? [];
  t.same(data.map((d) => d.volume), ['pgdata'], 'the set holds the volume pgdata, captured at the cut');
  t.comment(
    `checkpoint ${(cp.set.sizeBytes / 1048576).toFixed(1)} MiB, frozen ${cp.frozenMs.toFixed(0)} ms, total ${cp.totalMs.toFixed(0)} ms; ` +
      `data: ${data.map((d) => `${d.volume} ${d.method} ${d.ms.toFixed(0)} ms (${d.why})`).join(', ')}; ledger at the checkpoint ${beforeCut.max}…${bound}`,
  );
  const ran = await load;
  t.equal(ran.exitCode, 0, `pgbench ran through the checkpoint without an error ${ran.stderr.trim()}`.trim());
  t.comment(`pgbench across the checkpoint: ${/^tps = .*$/m.exec(ran.stdout)?.[0] ?? ran.stdout.trim().split('\n').slice(-1)[0]}`);
  t.match(ran.stdout, /number of failed transactions: 0 /, 'and no transaction failed');
  const beforeDown = await state(port);
  consistent(t, beforeDown, 'the original before down');
  t.ok(beforeDown.max > bound, `the load wrote on after the checkpoint (ledger up to ${beforeDown.max})`);

  track();
  await core.down(ctx, PROJECT, { timeoutMs: 3000 });
  t.same(alive(seen), [], 'down left nothing running');
  t.same(strays(), [], 'no postgres process is left');

  // the live volume holds what was written after the cut (and the shutdown checkpoint)
  await t.rejects(core.restore(ctx, 'loaded', { storeRoot }), { code: 'VOLUME_CHANGED' }, 'a plain restore refuses to discard the changed volume');
  t.equal(core.readStack(ctx, PROJECT), undefined, 'and starts nothing');
  t.ok(statSync(join(live, 'data', 'PG_VERSION')).isFile(), 'and leaves the volume in place');

  const r = await core.restore(ctx, 'loaded', { storeRoot, replace: true });
  track();
  t.comment(`restore ${r.totalMs.toFixed(0)} ms (verify ${r.verifyMs.toFixed(0)} ms)`);
  t.equal(await startTime(port), started, 'the same postmaster answers: restored, not restarted');
  ownFiles(t, PROJECT, 'restored');
  t.ok(await settled(port), 'the statements running at the cut finish');
  const restored = await state(port);
  consistent(t, restored, 'restored');
  t.ok(restored.max >= beforeCut.max, `everything committed before the checkpoint is there (${restored.max} ≥ ${beforeCut.max})`);
  t.ok(restored.max <= bound, `the ledger ends at the cut (${restored.max} ≤ ${bound}, the sequence right after the checkpoint)`);
  t.ok(restored.max < beforeDown.max, `rows written after the cut are gone (${restored.max} < ${beforeDown.max})`);
  const checked = await amcheck(port);
  t.same([checked.exitCode, checked.all.trim()], [0, ''], 'pg_amcheck --all --heapallindexed checks every database and finds nothing wrong');
  t.same(readdirSync(volumes).sort(), [`${PROJECT}_pgdata`], 'the replaced volume is gone, nothing set aside is left');

  // a clone beside it: same port inside, its own host port and its own copy of the volume
  const c = await core.restore(ctx, 'loaded', { storeRoot, as: CLONE });
  track(CLONE);
  t.comment(`clone ${c.totalMs.toFixed(0)} ms`);
  const clonePort = hostPort(await core.ps(ctx, CLONE), 'db');
  t.not(clonePort, port, 'the clone publishes 5432 on a host port of its own');
  t.equal(await startTime(clonePort), started, "the clone is the set's postmaster too");
  ownFiles(t, CLONE, 'the clone');
  ownFiles(t, PROJECT, 'the original beside it');
  t.ok(await settled(clonePort), "the clone's statements running at the cut finish");
  const cloned = await state(clonePort);
  t.same(cloned, restored, 'the clone starts from the same cut');
  t.same(readdirSync(volumes).sort(), [`${PROJECT}_pgdata`, `${CLONE}_pgdata`].sort(), 'the clone has a volume of its own');

  const [wo, wc] = await Promise.all([pgbench(port, ['-t', '150']), pgbench(clonePort, ['-t', '400'])]);
  t.same([wo.exitCode, wc.exitCode], [0, 0], 'both take writes at once');
  const [so, sc] = [await state(port), await state(clonePort)];
  consistent(t, so, 'the original after its writes');
  consistent(t, sc, 'the clone after its writes');
  t.same([so.rows, sc.rows], [restored.rows + 300, restored.rows + 800], 'each has exactly its own transfers: none crossed over');
  t.not(so.max, sc.max, `they diverge (${so.max} vs ${sc.max})`);
  const [ao, ac] = await Promise.all([amcheck(port), amcheck(clonePort)]);
  t.same([ao.exitCode, ao.all.trim(), ac.exitCode, ac.all.trim()], [0, '', 0, ''], 'pg_amcheck passes on both');

  track();
  track(CLONE);
  await core.down(ctx, CLONE, { timeoutMs: 3000, volumes: true });
  t.equal(await startTime(port), started, 'the original runs on after the clone is gone');
  await core.down(ctx, PROJECT, { timeoutMs: 3000, volumes: true });
  await sleep(100);
  t.same(alive(seen), [], 'nothing left running');
  t.same([...cgroups].flatMap(cgroupPids), [], 'no process left in the service cgroups');
  t.same(strays(), [], 'no postgres process is left');
  t.same(readdirSync(volumes), [], 'down -v removed both volumes');
  t.comment(`whole test ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});
