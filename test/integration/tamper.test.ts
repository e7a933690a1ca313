// A set whose files were changed after the checkpoint is never restored: a flipped byte, a
// truncated or deleted image, an edited set.json — restore fails with STORE_CORRUPT naming the
// file (CLI: exit 74), and nothing of the stack is started.
import t from 'tap';
import { chmodSync, closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { serviceCgroup } from '../../src/runtime/process/freezer.js';
import { isAlive } from '../../src/util/proc.js';
import { requireIntegration, tempDir, writeManifest } from '../helpers/env.js';
import { alive, cgroupPids, ckptCli, sleep, stackTracker } from '../fixtures/stack-util.js';

const SERVICES = ['app', 'ticker'];

/**
 * A file of the set matching `re` that no other set shares (its inode has exactly two names: the
 * set's and objects/'), largest first — so damaging it damages this set only.
 */
function exclusiveFile(setDir: string, service: string, re: RegExp, minSize = 2): string | undefined {
  const dir = join(setDir, service);
  return readdirSync(dir)
    .filter((f) => re.test(f))
    .map((f) => ({ f, st: statSync(join(dir, f)) }))
    .filter(({ st }) => st.nlink === 2 && st.size >= minSize)
    .sort((a, b) => b.st.size - a.st.size)[0]?.f;
}

/** pids of processes whose command line mentions `needle` (a CRIU restoring from the set, say). */
function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle) && isAlive(Number(d))) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

t.test('tampered sets: STORE_CORRUPT naming the file, exit 74, nothing started', { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const project = 'tamper';
  const file = writeManifest(
    dir,
    `
name: ${project}
services:
  app:
    command: ["node", "-e", "const m = new Map(); let n = 0; setInterval(() => { m.set(n, 'value-' + n); n++; }, 5)"]
  ticker:
    command: ["perl", "-e", "$$|=1; while (1) { print ++$$i, $$/; select(undef, undef, undef, 0.05) }"]
`,
  );
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  const cliEnv = { CKPT_STATE_DIR: ctx.stateRoot };
  const { seen, cgroups, track } = stackTracker(ctx, project);
  t.teardown(async () => {
    if (core.readStack(ctx, project)) await core.down(ctx, project, { timeoutMs: 1000 }).catch(() => {});
    for (const p of alive(seen)) process.kill(p, 'SIGKILL');
  });

  await core.up(ctx, await core.loadProject({ file }));
  track();
  await sleep(300);
  const sets: Record<string, core.CheckpointResult['set']> = {};
  for (const name of ['flip', 'trunc', 'del', 'edit', 'control']) {
    sets[name] = (await core.checkpoint(ctx, project, name, { storeRoot })).set;
    await sleep(150); // let the services' memory change between sets
  }
  track();
  await core.down(ctx, project, { timeoutMs: 1000 });
  t.same(alive(seen), [], 'the stack is down');

  /** restore (core, then CLI) must fail with STORE_CORRUPT naming `names`, and start nothing */
  const expectCorrupt = async (set: string, names: string[], what: string): Promise<void> => {
    const err = await core.restore(ctx, set, { storeRoot }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const ce = err as core.CkptError | undefined;
    t.ok(ce instanceof core.CkptError, `${what}: core.restore throws a CkptError`);
    t.equal(ce?.code, 'STORE_CORRUPT', `${what}: code STORE_CORRUPT (${ce?.code}: ${ce?.message})`);
    const text = [ce?.message ?? '', ...(ce?.details ?? [])].join('\n');
    for (const n of names) t.match(text, new RegExp(escapeRe(n)), `${what}: the error names ${n}`);
    const nothing = (how: string): void => {
      t.equal(core.readStack(ctx, project), undefined, `${what} (${how}): no stack state`);
      t.notOk(existsSync(join(ctx.stateRoot, 'projects', project)), `${what} (${how}): no project directory`);
      t.same(SERVICES.flatMap((s) => cgroupPids(serviceCgroup(ctx.stateRoot, project, s))), [], `${what} (${how}): no process in the service cgroups`);
      t.same(processesMentioning(sets[set]!.dir), [], `${what} (${how}): no process uses the set`);
    };
    nothing('core');

    const r = await ckptCli(['restore', set, '--store', storeRoot], cliEnv);
    t.equal(r.exitCode, 74, `${what}: the CLI exits 74 (${r.exitCode}: ${r.stderr.trim().split('\n')[0]})`);
    for (const n of names) t.match(r.stderr, new RegExp(escapeRe(n)), `${what}: stderr names ${n}`);
    t.notMatch(r.stderr, /\n\s+at .+:\d+:\d+\)?\n/, `${what}: no stack trace`);
    nothing('cli');
  };

  // 1. a flipped byte in a pages image
  {
    const setDir = sets.flip!.dir;
    const f = exclusiveFile(setDir, 'app', /^pages-\d+\.img$/, 4096);
    t.ok(f, `flip: a pages image of app only this set holds (${f})`);
    const path = join(setDir, 'app', f!);
    const size = statSync(path).size;
    chmodSync(path, 0o600);
    const fd = openSync(path, 'r+');
    const b = Buffer.alloc(1);
    const at = Math.floor(size / 2);
    readSync(fd, b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    writeSync(fd, b, 0, 1, at);
    closeSync(fd);
    chmodSync(path, 0o400);
    t.equal(statSync(path).size, size, 'same size, one byte changed');
    await expectCorrupt('flip', [`app/${f}`], 'flipped byte');
  }

  // 2. a truncated image (another kind of file)
  {
    const setDir = sets.trunc!.dir;
    const svc = exclusiveFile(setDir, 'ticker', /^(mm|core|pagemap|pages)-\d+\.img$/) ? 'ticker' : 'app';
    const f = exclusiveFile(setDir, svc, /^(mm|core|pagemap|pages)-\d+\.img$/);
    t.ok(f, `trunc: an image only this set holds (${svc}/${f})`);
    const path = join(setDir, svc, f!);
    const size = statSync(path).size;
    chmodSync(path, 0o600);
    truncateSync(path, Math.floor(size / 2));
    chmodSync(path, 0o400);
    await expectCorrupt('trunc', [`${svc}/${f}`], 'truncated file');
  }

  // 3. a deleted image
  {
    const setDir = sets.del!.dir;
    const f = readdirSync(join(setDir, 'ticker')).find((x) => /^pages-\d+\.img$/.test(x))!;
    unlinkSync(join(setDir, 'ticker', f));
    await expectCorrupt('del', [`ticker/${f}`], 'deleted file');
  }

  // 4. set.json edited by hand (still valid JSON)
  {
    const path = join(sets.edit!.dir, 'set.json');
    const text = readFileSync(path, 'utf8');
    const edited = text.replace(/"project": "tamper"/, '"project": "tampered"');
    t.not(edited, text, 'edit: set.json changed');
    chmodSync(path, 0o600);
    writeFileSync(path, edited);
    chmodSync(path, 0o400);
    await expectCorrupt('edit', [path], 'edited set.json');
  }

  // the untouched set still verifies and restores: the failures above were the damage
  t.ok((await core.verifySet(storeRoot, 'control')).files > 0, 'control still verifies');
  t.same(
    core.listSets(storeRoot).map((s) => s.name),
    ['flip', 'trunc', 'del', 'control'],
    'sets: the one with a damaged set.json is left out of the list',
  );
  const r = await core.restore(ctx, 'control', { storeRoot });
  track();
  t.same(Object.keys(r.state.services).sort(), SERVICES, 'control restores');
  const rows = await core.ps(ctx, project);
  t.same(rows.map((x) => x.state), ['running', 'running']);

  track();
  await core.down(ctx, project, { timeoutMs: 1000 });
  t.same(alive(seen), [], 'nothing left running');
  t.same([...cgroups].flatMap(cgroupPids), [], 'no process left in the service cgroups');
});
