// ckpt dying mid-checkpoint (SIGKILL at freeze, dump or commit; CKPT_FAULT) and a store that runs
// out of space: the sets already taken stay intact and restorable, no partial set appears, the
// stack is thawed and keeps running, and the next checkpoint works.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { freezerState } from '../../src/runtime/process/freezer.js';
import { isAlive } from '../../src/util/proc.js';
import { requireIntegration, tempDir, writeManifest } from '../helpers/env.js';
import { alive, cgroupPids, cgroupsOf, ckptCli, poll, sleep, stackTracker } from '../fixtures/stack-util.js';

// A counter that prints 1, 2, 3, … (20 a second) into its log; `$$` is a literal `$` in a manifest.
// One perl process, no children: a shell loop running `sleep` would be caught mid-vfork now and
// then, which CRIU cannot dump (a separate ckpt bug, not what this file tests).
const COUNTER = `["perl", "-e", "$$|=1; while (1) { print ++$$i, $$/; select(undef, undef, undef, 0.05) }"]`;

/** The last number a counter service printed into its log (NaN when none yet). */
function lastCount(logFile: string): number {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return NaN;
  }
  const nums = text.split('\n').filter((l) => /^\d+$/.test(l));
  return nums.length ? Number(nums.at(-1)) : NaN;
}

/** Every service of the stack prints a bigger number than it did `ms` ago. */
async function progressing(ctx: core.CoreContext, project: string, services: string[], ms = 400): Promise<Record<string, [number, number]>> {
  const st = core.readStack(ctx, project)!;
  const before = Object.fromEntries(services.map((s) => [s, lastCount(st.services[s]!.logFile)]));
  await sleep(ms);
  return Object.fromEntries(services.map((s) => [s, [before[s]!, lastCount(st.services[s]!.logFile)] as [number, number]]));
}

/** Waits (up to timeoutMs) until every cgroup is THAWED; returns the states seen last. */
async function waitThawed(cgroups: string[], timeoutMs = 5000): Promise<{ states: string[]; ms: number }> {
  const t0 = Date.now();
  await poll(() => cgroups.every((c) => freezerState(c) === 'THAWED'), timeoutMs, 20);
  return { states: cgroups.map(freezerState), ms: Date.now() - t0 };
}

/**
 * The freezer state each service's CRIU found when it started (its dump.log in the set): FROZEN
 * when ckpt's consistent cut held, THAWED when something had thawed the service meanwhile.
 */
function cutSeenByCriu(setDir: string, services: string[]): Record<string, string> {
  return Object.fromEntries(
    services.map((s) => {
      try {
        return [s, /freezer\.state=(\w+)/.exec(readFileSync(join(setDir, s, 'dump.log'), 'utf8'))?.[1] ?? 'no freezer line'];
      } catch {
        return [s, 'no dump.log'];
      }
    }),
  );
}

/** pids of CRIU processes working in this store (a dump the killed ckpt left running). */
function criusIn(storeRoot: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (/criu$/.test(argv[0] ?? '') && argv.some((a) => a.startsWith(storeRoot)) && isAlive(Number(d))) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Teardown: stop what is still up and kill any process of the stack or CRIU left behind. */
async function cleanUp(ctx: core.CoreContext, projects: Iterable<string>, seen: Iterable<number>, storeRoot: string): Promise<void> {
  for (const p of projects) if (core.readStack(ctx, p)) await core.down(ctx, p, { timeoutMs: 1000 }).catch(() => {});
  for (const p of alive([...seen, ...criusIn(storeRoot)])) process.kill(p, 'SIGKILL');
}

t.test('ckpt SIGKILLed at freeze, dump and commit: no partial set, stack thawed, old set intact', { timeout: 180_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const project = 'faults';
  const file = writeManifest(dir, `name: ${project}\nservices:\n  a:\n    command: ${COUNTER}\n  b:\n    command: ${COUNTER}\n`);
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  const cliEnv = { CKPT_STATE_DIR: ctx.stateRoot };
  const { seen, cgroups: cgroupsSeen, track } = stackTracker(ctx, project);
  const projects = new Set<string>([project]);
  t.teardown(() => cleanUp(ctx, projects, seen, storeRoot));

  await core.up(ctx, await core.loadProject({ file }));
  track(project);
  const cgroups = cgroupsOf(core.readStack(ctx, project));
  t.equal(cgroups.length, 2);
  t.ok(await poll(() => Object.values(core.readStack(ctx, project)!.services).every((r) => lastCount(r.logFile) >= 3), 10_000), 'both counters count');

  await core.checkpoint(ctx, project, 'good', { storeRoot });
  const expected = ['good'];

  // CKPT_FAULT kills ckpt right after it starts the first CRIU; `mid-dump` kills it from outside
  // once a CRIU has seized its frozen cgroup (that CRIU puts the cgroup back to FROZEN when done).
  for (const fault of ['freeze', 'dump', 'commit', 'mid-dump'] as const) {
    await t.test(fault === 'mid-dump' ? 'SIGKILL while CRIU dumps' : `CKPT_FAULT=${fault}`, async (t) => {
      const args = ['checkpoint', 'bad', '-p', project, '--store', storeRoot];
      let r;
      if (fault === 'mid-dump') {
        const old = new Set(readdirSync(join(storeRoot, 'tmp')));
        const child = ckptCli(args, cliEnv);
        const seized = await poll(() => {
          for (const id of readdirSync(join(storeRoot, 'tmp')).filter((x) => !old.has(x))) {
            const log = join(storeRoot, 'tmp', id, 'a', 'dump.log');
            if (existsSync(log) && readFileSync(log, 'utf8').includes('freezer.state=FROZEN')) return true;
          }
          return undefined;
        }, 20_000, 2);
        t.ok(seized, 'a CRIU has seized the frozen service');
        child.kill('SIGKILL');
        t.comment(`killed ckpt while ${criusIn(storeRoot).length} CRIU(s) ran`);
        r = await child;
      } else {
        r = await ckptCli(args, { ...cliEnv, CKPT_FAULT: fault });
      }
      t.equal(r.signal, 'SIGKILL', `ckpt died by SIGKILL (exit ${r.exitCode}, signal ${r.signal}) ${r.stderr}`);

      const died = Date.now();
      const left = criusIn(storeRoot);
      t.comment(`CRIU still running after ckpt died: ${left.length ? left.join(' ') : 'none'}`);
      // A CRIU the dead ckpt had started finishes its dump (holding its tree seized meanwhile) and
      // then puts the cgroup back as it found it (FROZEN): the guard must thaw once it is gone.
      t.ok(await poll(() => criusIn(storeRoot).length === 0, 30_000, 20), `no CRIU left running in the store (${criusIn(storeRoot).join(' ')})`);
      const thawed = await waitThawed(cgroups);
      t.same(thawed.states, ['THAWED', 'THAWED'], `every service is thawed (${thawed.ms} ms after the last CRIU ended, ${Date.now() - died} ms after ckpt died)`);
      const p = await progressing(ctx, project, ['a', 'b']);
      for (const [s, [b4, now]] of Object.entries(p)) t.ok(now > b4, `${s} keeps counting (${b4} → ${now})`);
      t.same((await waitThawed(cgroups, 0)).states, ['THAWED', 'THAWED'], 'and stays thawed');

      t.same(core.listSets(storeRoot).map((s) => s.name), expected, 'no partial set is listed');
      await t.rejects(core.verifySet(storeRoot, 'bad'), { code: 'SET_NOT_FOUND' }, '`bad` does not exist');
      const v = await core.verifySet(storeRoot, 'good');
      t.ok(v.files > 0, `good still verifies (${v.files} files)`);

      // good restores (as a clone: the counters have no ports, so it runs beside the stack)
      const clone = `clone-${fault}`;
      projects.add(clone);
      const rr = await core.restore(ctx, 'good', { storeRoot, as: clone });
      track(clone);
      t.same(Object.keys(rr.state.services).sort(), ['a', 'b']);
      t.ok(await poll(() => Object.values(core.readStack(ctx, clone)!.services).every((x) => lastCount(x.logFile) > 0), 5000), 'the clone counts');
      const cp = await progressing(ctx, clone, ['a', 'b']);
      for (const [s, [b4, now]] of Object.entries(cp)) t.ok(now > b4, `clone ${s} keeps counting (${b4} → ${now})`);
      track(clone);
      await core.down(ctx, clone, { timeoutMs: 1000 });

      // and the next checkpoint works
      const name = `after-${fault}`;
      const ok = await ckptCli(['checkpoint', name, '-p', project, '--store', storeRoot], cliEnv);
      t.equal(ok.exitCode, 0, `a following checkpoint works: ${ok.stdout.trim()} ${ok.stderr.trim()}`);
      expected.push(name);
      t.same(core.listSets(storeRoot).map((s) => s.name), expected);
      t.same((await waitThawed(cgroups, 1000)).states, ['THAWED', 'THAWED'], 'thawed after it');
    });
  }

  // The dead ckpt's CRIU goes on dumping for a while, and its guard waits for that CRIU to be gone
  // and then thaws once more. Neither may disturb the checkpoints that follow.
  const guardPids = (): number[] =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
          return /ckpt-shim$/.test(argv[0] ?? '') && argv[1] === 'guard' && isAlive(Number(d));
        } catch {
          return false;
        }
      })
      .map(Number);
  const rapid = async (t: Test, ms: number): Promise<void> => {
    // (a checkpoint whose CRIU finds a service THAWED still succeeds: CRIU freezes it itself, but
    // the services were then not stopped at one moment)
    const failures: string[] = [];
    let n = 0;
    const t0 = Date.now();
    for (const until = t0 + ms; Date.now() < until; ) {
      const name = `rapid-${++n}`;
      const s0 = Date.now() - t0;
      try {
        const cp = await core.checkpoint(ctx, project, name, { storeRoot });
        const cut = cutSeenByCriu(cp.set.dir, ['a', 'b']);
        if (cut.a !== 'FROZEN' || cut.b !== 'FROZEN') failures.push(`${name} (started at +${s0} ms): CRIU found the services ${JSON.stringify(cut)}, not FROZEN by ckpt`);
        await core.removeSet(storeRoot, name);
      } catch (e) {
        failures.push(`${name} (started at +${s0} ms, failed at +${Date.now() - t0} ms): ${(e as Error).message} | ${((e as core.CkptError).details ?? []).join(' | ')}`);
      }
    }
    t.same(failures, [], `${n} checkpoint(s) in a row: all succeed, each from a cut ckpt froze`);
    const thawed = await waitThawed(cgroups);
    t.same(thawed.states, ['THAWED', 'THAWED'], 'thawed');
    const p = await progressing(ctx, project, ['a', 'b']);
    for (const [s, [b4, now]] of Object.entries(p)) t.ok(now > b4, `${s} keeps counting (${b4} → ${now})`);
    t.same(core.listSets(storeRoot).map((s) => s.name), expected, 'only the sets taken before');
  };

  await t.test('checkpoints back to back once the killed ckpt\'s CRIU has ended (its guard may still wait)', async (t) => {
    const before = new Set(guardPids());
    const r = await ckptCli(['checkpoint', 'bad', '-p', project, '--store', storeRoot], { ...cliEnv, CKPT_FAULT: 'dump' });
    t.equal(r.signal, 'SIGKILL', 'ckpt died by SIGKILL');
    const died = Date.now();
    const guards = guardPids().filter((p) => !before.has(p));
    t.ok(await poll(() => criusIn(storeRoot).length === 0, 30_000, 5), 'its CRIU has ended');
    t.comment(`CRIU ended ${Date.now() - died} ms after ckpt died; its guard (${guards.join(' ') || 'gone'}) is ${alive(guards).length ? 'still waiting' : 'gone'}`);
    await rapid(t, 4000);
    t.comment(`the guard ${alive(guards).length ? 'is still there' : 'was gone'} at the end`);
  });

  // leftovers of the killed checkpoints are in tmp/ until gc
  const g = await core.gc(storeRoot);
  t.comment(`gc: ${JSON.stringify(g)}`);
  t.equal(g.removedTmp, 5, `gc removed the leftovers of the 5 killed checkpoints (${g.removedTmp})`);
  t.same(readdirSync(join(storeRoot, 'tmp')), [], 'tmp/ is empty after gc');
  for (const s of expected) t.ok((await core.verifySet(storeRoot, s)).files > 0, `${s} verifies after gc`);

  track(project);
  await core.down(ctx, project, { timeoutMs: 1000 });
  t.same(alive(seen), [], 'nothing left running');
  t.same([...cgroupsSeen].flatMap(cgroupPids), [], 'no process left in the service cgroups');
  t.same(criusIn(storeRoot), [], 'no CRIU left running');
});

t.test('a checkpoint right after a killed one, while its CRIU still dumps', { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const project = 'overlap';
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  const { seen, cgroups: cgroupsSeen, track } = stackTracker(ctx, project);
  t.teardown(() => cleanUp(ctx, [project], seen, storeRoot));
  // `a` holds 64 MiB, so the CRIU the killed ckpt leaves behind dumps for a second or so
  const file = writeManifest(
    dir,
    `
name: ${project}
services:
  a:
    command: ["node", "-e", "const b = require('crypto').randomBytes(64 * 1024 * 1024); let i = 0; setInterval(() => { b[0]++; console.log(++i); }, 50)"]
  b:
    command: ${COUNTER}
`,
  );
  await core.up(ctx, await core.loadProject({ file }));
  track();
  const cgroups = cgroupsOf(core.readStack(ctx, project));
  t.ok(await poll(() => Object.values(core.readStack(ctx, project)!.services).every((r) => lastCount(r.logFile) >= 3), 10_000), 'both count');

  for (let round = 1; round <= 2; round++) {
    const r = await ckptCli(['checkpoint', 'bad', '-p', project, '--store', storeRoot], { CKPT_STATE_DIR: ctx.stateRoot, CKPT_FAULT: 'dump' });
    t.equal(r.signal, 'SIGKILL', `round ${round}: ckpt died by SIGKILL`);
    const left = criusIn(storeRoot);
    t.comment(`round ${round}: CRIU of the killed ckpt still running: ${left.join(' ') || 'none'}`);
    const t0 = Date.now();
    const name = `next-${round}`;
    const err = await core.checkpoint(ctx, project, name, { storeRoot }).then(
      (cp) => {
        const cut = cutSeenByCriu(cp.set.dir, ['a', 'b']);
        t.same(cut, { a: 'FROZEN', b: 'FROZEN' }, `round ${round}: each CRIU found its service frozen by ckpt (the cut held; the dead ckpt's guard did not thaw it)`);
        return undefined;
      },
      (e: unknown) => e as core.CkptError,
    );
    t.equal(err, undefined, `round ${round}: the checkpoint works (${Date.now() - t0} ms${err ? `: ${err.message} | ${(err.details ?? []).join(' | ')}` : ''})`);
    t.ok(await poll(() => criusIn(storeRoot).length === 0, 30_000, 20), `round ${round}: no CRIU left running`);
    const thawed = await waitThawed(cgroups);
    t.same(thawed.states, ['THAWED', 'THAWED'], `round ${round}: thawed`);
    const p = await progressing(ctx, project, ['a', 'b']);
    for (const [s, [b4, now]] of Object.entries(p)) t.ok(now > b4, `round ${round}: ${s} keeps counting (${b4} → ${now})`);
  }

  track();
  await core.down(ctx, project, { timeoutMs: 1000 });
  t.same(alive(seen), [], 'nothing left running');
  t.same([...cgroupsSeen].flatMap(cgroupPids), [], 'no process left in the service cgroups');
});

t.test('a full store: STORE_UNWRITABLE, the set that fits is intact, space back after gc', { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const project = 'fullstore';
  const storeRoot = join(dir, 'small-store');
  mkdirSync(storeRoot);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', storeRoot]);
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const { seen, cgroups: cgroupsSeen, track } = stackTracker(ctx, project);
  // teardowns run in reverse order: down, then umount, then (tempDir's) rm -r
  t.teardown(() => {
    try {
      execFileSync('umount', [storeRoot]);
    } catch {
      execFileSync('umount', ['-l', storeRoot]);
    }
  });
  t.teardown(() => cleanUp(ctx, [project], seen, storeRoot));

  const file = writeManifest(
    dir,
    `
name: ${project}
services:
  small:
    command: ${COUNTER}
  big:
    command: ["node", "-e", "const b = require('crypto').randomBytes(32 * 1024 * 1024); console.log('holding', b.length); setInterval(() => { b[0]++; }, 200)"]
`,
  );
  await core.up(ctx, await core.loadProject({ file }));
  track();
  const cgroups = cgroupsOf(core.readStack(ctx, project));
  const bigRec = core.readStack(ctx, project)!.services.big!;
  t.ok(await poll(() => readFileSync(bigRec.logFile, 'utf8').includes('holding'), 10_000), 'big holds its 32 MiB');
  t.ok(await poll(() => lastCount(core.readStack(ctx, project)!.services.small!.logFile) >= 3, 10_000), 'small counts');

  const free = (): number => {
    const s = statfsSync(storeRoot);
    return s.bavail * s.bsize;
  };
  const small = await core.checkpoint(ctx, project, 'small', { storeRoot, services: ['small'] });
  t.ok(small.set.sizeBytes < 8 * 1024 * 1024, `the small set fits (${small.set.sizeBytes} bytes)`);
  const freeBefore = free();
  t.comment(`free in the store after the small set: ${freeBefore} bytes`);

  // core API
  const err = await core.checkpoint(ctx, project, 'big', { storeRoot, services: ['big'] }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof core.CkptError, `checkpoint of big fails with a CkptError (${String(err)})`);
  const ce = err as core.CkptError;
  t.equal(ce?.code, 'STORE_UNWRITABLE', `code STORE_UNWRITABLE (got ${ce?.code}: ${ce?.message}; details: ${ce?.details?.join(' | ')})`);
  t.match(ce?.message, /no space/i, 'the message says no space is left');
  if (ce?.logFile) t.ok(existsSync(ce.logFile), `the log the error points at exists (${ce.logFile})`);

  const checkAfterFailure = async (what: string): Promise<void> => {
    t.same(core.listSets(storeRoot).map((s) => s.name), ['small'], `${what}: no partial set is listed`);
    t.ok((await core.verifySet(storeRoot, 'small')).files > 0, `${what}: the small set still verifies`);
    const th = await waitThawed(cgroups);
    t.same(th.states, ['THAWED', 'THAWED'], `${what}: the stack is thawed (${th.ms} ms)`);
    const p = await progressing(ctx, project, ['small']);
    t.ok(p.small![1] > p.small![0], `${what}: small keeps counting (${p.small!.join(' → ')})`);
    t.ok(isAlive(bigRec.initPid!) && core.readStack(ctx, project) !== undefined, `${what}: big still runs`);
  };
  await checkAfterFailure('core');

  // the CLI: exit 74, says so on stderr
  const r = await ckptCli(['checkpoint', 'big', 'big', '-p', project, '--store', storeRoot], { CKPT_STATE_DIR: ctx.stateRoot });
  t.equal(r.exitCode, 74, `the CLI exits 74 (store) (got ${r.exitCode}: ${r.stderr.trim()})`);
  t.match(r.stderr, /no space/i, 'stderr says no space is left');
  await checkAfterFailure('cli');

  const g = await core.gc(storeRoot);
  t.comment(`gc: ${JSON.stringify(g)}; free ${free()} bytes (was ${freeBefore})`);
  t.ok(free() >= freeBefore, `after gc the space is back (${free()} ≥ ${freeBefore} bytes free)`);
  t.same(existsSync(join(storeRoot, 'tmp')) ? readdirSync(join(storeRoot, 'tmp')) : [], [], 'tmp/ is empty');
  t.ok((await core.verifySet(storeRoot, 'small')).files > 0, 'the small set still verifies after gc');

  track();
  await core.down(ctx, project, { timeoutMs: 1000 });
  t.same(alive(seen), [], 'nothing left running');
  t.same([...cgroupsSeen].flatMap(cgroupPids), [], 'no process left in the service cgroups');
});
