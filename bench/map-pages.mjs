#!/usr/bin/env node
// Restore by mapping pages from the checkpoint (patched CRIU --map-pages, ckpt --pages map)
// against copying them, with stock CRIU 4.1.1 in the same run (`npm run bench`, as root).
//
//   node bench/map-pages.mjs [--sizes 64,256,1024] [--runs 5] [--clones 8] [--clone-size 1024]
//
// For each size, one ckpt process service runs bench/mem-hog.c (N MiB of written, non-zero,
// all-different memory); it is dumped once with the patched CRIU (raw images) and once by
// `ckpt checkpoint` (a set). Each measured run then restores it, in rotating order:
//
//   stock copy    stock CRIU 4.1.1 (criu-patches/build.sh --stock), `criu restore` with ckpt's options
//   copy          the patched CRIU, same options
//   map           the patched CRIU, + --map-pages
//   ckpt copy     core.restore(…, {as, pages: 'copy'}) of the set (a clone; verify included)
//   ckpt map      core.restore(…, {as, pages: 'map'})
//   ckpt map CLI  `node bin/ckpt.js clone <set> --as X --pages map --json`, process wall time
//
// and records: the restore's wall time; the restored program's memory right after (Rss, Pss,
// Anonymous from smaps_rollup); then the deferred cost, timed inside the program: reading one
// word of every page, then writing one word of every page (mem-hog's SIGUSR1 / SIGUSR2).
// A ckpt service is a tree in its own pid, mount, uts and ipc namespaces, and CRIU spends about
// 100 ms here recreating them whatever the memory size. So each size is also measured as a plain
// process (`unshare --pid --fork setsid mem-hog N`: a pid namespace only, no mounts to rebuild),
// with raw CRIU and its default options (no network lock): stock copy, copy, map — the floor a
// map restore reaches.
// Then, for --clones copies of one --clone-size image restored at once with the patched CRIU
// (copy, then map): the wall time of all of them, and their memory (the sum of their Pss, which
// counts a page that several share once in all, and of their Anonymous pages) right after and
// after each has read every page. Targets (issue 6): a 1 GiB map restore ≤ 1/50 of stock; 8
// map clones of 1 GiB ≤ 1.5 GiB of memory. Informational: exit 0 unless the benchmark broke.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmtMs, killTree, lastJsonLine, log, median, mustRun, sleep, summary, table } from './lib.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, '..');
const STOCK = process.env.CKPT_STOCK_CRIU || '/var/cache/ckpt/criu/stock-4.1.1/criu/criu';
const CRIU_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' };
const MAP_TARGET = 50;
const CLONES_TARGET_MIB = 1536;
const MiB = 2 ** 20;

function parseArgs(argv) {
  const o = { sizes: [64, 256, 1024], runs: 5, clones: 8, cloneSize: 1024, out: join(benchDir, 'results', 'map-pages.json') };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=');
    const val = () => inline ?? argv[++i];
    if (flag === '--sizes') o.sizes = val().split(',').map(Number);
    else if (flag === '--runs') o.runs = Number(val());
    else if (flag === '--clones') o.clones = Number(val());
    else if (flag === '--clone-size') o.cloneSize = Number(val());
    else if (flag === '--out') o.out = resolve(val());
    else {
      process.stderr.write('usage: node bench/map-pages.mjs [--sizes 64,256,1024] [--runs 5] [--clones 8] [--clone-size 1024] [--out FILE]\n');
      process.exit(flag === '-h' || flag === '--help' ? 0 : 64);
    }
  }
  return o;
}

/** smaps_rollup of one process, in bytes */
function memOf(pid) {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k) => Number((new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t) ?? [])[1] ?? 0) * 1024;
  return { rss: kb('Rss'), pss: kb('Pss'), anon: kb('Anonymous') };
}

/** The mem-hog under a restored tree: the shim's init is the tree's root, the program its child. */
function hogOf(initPid) {
  for (let i = 0; i < 200; i++) {
    const kids = readFileSync(`/proc/${initPid}/task/${initPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    if (kids.length) return kids[0];
    execFileSync('sleep', ['0.01']);
  }
  throw new Error(`no program under ${initPid}`);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root');
  const core = await import('../dist/core/index.js');
  const { dumpArgs, restoreArgs, shellQuote } = await import('../dist/criu/args.js');
  const { criuPath } = await import('../dist/criu/probe.js');
  const criu = criuPath();
  const hasStock = existsSync(STOCK);
  if (!hasStock) log(`bench: no stock CRIU at ${STOCK} (bash criu-patches/build.sh --stock): its column stays empty`);
  if (!execFileSync(criu, ['--help'], { encoding: 'utf8' }).includes('--map-pages')) throw new Error(`${criu} lacks --map-pages: bash criu-patches/build.sh`);

  const tmp = mkdtempSync(join(process.env.CKPT_BENCH_TMP || tmpdir(), 'ckpt-bench-map-'));
  const ctx = { stateRoot: join(tmp, 'state'), events: core.nullSink };
  const storeRoot = join(tmp, 'store');
  const report = join(tmp, 'report');
  const hog = join(tmp, 'mem-hog');
  const cli = join(root, 'bin/ckpt.js');
  const cliEnv = { ...process.env, CKPT_STATE_DIR: ctx.stateRoot, NO_COLOR: '1' };
  execFileSync('cc', ['-O2', '-Wall', '-o', hog, join(benchDir, 'mem-hog.c')], { stdio: 'inherit' });
  const raw = new Set();
  const projects = new Set();
  const results = { startedAt: new Date().toISOString(), criu: execFileSync(criu, ['--version'], { encoding: 'utf8' }).replace(/\n/g, ' ').trim(), loadavgStart: loadavg(), options: o, commands: {}, sizes: [], plain: [], clones: [] };

  /** Signals the program and waits for its report line: the touch time in ms. */
  const touch = async (pid, sig, what) => {
    rmSync(report, { force: true });
    process.kill(pid, sig);
    for (let i = 0; i < 6000; i++) {
      const line = existsSync(report) ? readFileSync(report, 'utf8').split('\n').find((l) => l.startsWith(what)) : undefined;
      if (line) return Number(line.split(' ')[1]) / 1000;
      await sleep(5);
    }
    throw new Error(`no ${what} report from ${pid}`);
  };

  const start = async (mib, name) => {
    const dir = join(tmp, name);
    mkdirSync(dir);
    const manifest = join(dir, 'ckpt.yaml');
    writeFileSync(manifest, `name: ${name}\nservices:\n  hog:\n    command: [${JSON.stringify(hog)}, "${mib}"]\n    environment: {MEMHOG_REPORT: ${JSON.stringify(report)}}\n    stop_grace_period: 1s\n`);
    projects.add(name);
    await core.up(ctx, await core.loadProject({ file: manifest, projectName: name }));
    const rec = core.readStack(ctx, name).services.hog;
    for (let i = 0; !(existsSync(rec.logFile) && readFileSync(rec.logFile, 'utf8').includes('ready')); i++) {
      if (i > 6000) throw new Error(`mem-hog ${mib} MiB did not get ready`);
      await sleep(10);
    }
    return rec;
  };

  // Stock CRIU on this VM (where /run is no tmpfs) deletes CRIU's kernel-probe cache on every
  // run and leaves /run/criu.kdat.tmp behind (patch 0014 fixes both): put the cache back before
  // each timed step, so every variant, stock included, starts with it.
  const warmKdat = () => {
    if (existsSync('/run/criu.kdat')) return;
    rmSync('/run/criu.kdat.tmp', { force: true });
    execFileSync(criu, ['check'], { stdio: 'ignore' });
  };

  /** `plain`: CRIU's defaults (no --root, --tcp-established: no network lock to take), for the plain processes */
  const rawRestore = async (binary, images, mapPages, tag, plain = false) => {
    const work = join(tmp, `work-${tag}`);
    mkdirSync(work);
    const pidFile = join(work, 'init.pid');
    const args = plain
      ? ['restore', '--images-dir', images, '--work-dir', work, '--log-file', 'restore.log', '-v4', '--restore-detached', '--pidfile', pidFile, ...(mapPages ? ['--map-pages'] : [])]
      : restoreArgs({ imagesDir: images, workDir: work, pidFile, mapPages });
    const key = `${plain ? 'plain' : ''}${binary === STOCK ? 'stock' : 'patched'}${mapPages ? 'Map' : 'Copy'}`;
    warmKdat();
    results.commands[key] ??= shellQuote([binary, ...args]);
    const r = await mustRun(`${key} restore`, binary, args, { env: CRIU_ENV });
    const init = Number(readFileSync(pidFile, 'utf8').trim());
    raw.add(init);
    return { ms: r.ms, init, done: async () => (await killTree(init), raw.delete(init), rmSync(work, { recursive: true, force: true })) };
  };

  try {
    for (const mib of o.sizes) {
      const name = `maps-${mib}`;
      log(`\n== ${mib} MiB`);
      const rec = await start(mib, name);
      const images = join(tmp, `raw-${mib}`);
      mkdirSync(images);
      await mustRun('criu dump', criu, dumpArgs({ pid: rec.initPid, imagesDir: images, leaveRunning: true }), { env: CRIU_ENV });
      await core.checkpoint(ctx, name, `set-${mib}`, { storeRoot });
      await core.down(ctx, name, { timeoutMs: 1000 });
      projects.delete(name);

      let clone = 0;
      const ckptRestore = (pages) => async () => {
        const as = `${name}-${pages}-${clone++}`;
        projects.add(as);
        const t0 = performance.now();
        warmKdat();
        const r = await core.restore(ctx, `set-${mib}`, { storeRoot, as, pages });
        const ms = performance.now() - t0;
        return { ms, verifyMs: r.verifyMs, init: r.state.services.hog.initPid, done: async () => (await core.down(ctx, as, { timeoutMs: 1000 }), projects.delete(as)) };
      };
      const variants = {
        'stock copy': hasStock ? (k) => rawRestore(STOCK, images, false, k) : undefined,
        copy: (k) => rawRestore(criu, images, false, k),
        map: (k) => rawRestore(criu, images, true, k),
        'ckpt copy': ckptRestore('copy'),
        'ckpt map': ckptRestore('map'),
        'ckpt map CLI': async () => {
          const as = `${name}-cli-${clone++}`;
          projects.add(as);
          const args = [cli, 'clone', `set-${mib}`, '--as', as, '--pages', 'map', '--store', storeRoot, '--json'];
          results.commands.ckptMapCli ??= shellQuote(['node', ...args]);
          warmKdat();
          const r = await mustRun('ckpt clone', process.execPath, args, { env: cliEnv });
          const j = lastJsonLine(r.stdout);
          return { ms: r.ms, verifyMs: j.verifyMs, init: core.readStack(ctx, as).services.hog.initPid, done: async () => (await core.down(ctx, as, { timeoutMs: 1000 }), projects.delete(as)) };
        },
      };
      const names = Object.keys(variants).filter((v) => variants[v]);
      const samples = Object.fromEntries(names.map((v) => [v, []]));
      for (let run = 0; run <= o.runs; run++) {
        const order = names.map((_, k) => names[(k + run) % names.length]);
        for (const v of order) {
          execFileSync('sync');
          const r = await variants[v](`${mib}-${run}-${v.replace(/ /g, '_')}`);
          const pid = hogOf(r.init);
          const mem = memOf(pid);
          const readMs = await touch(pid, 'SIGUSR1', 'read');
          const writeMs = await touch(pid, 'SIGUSR2', 'write');
          const after = memOf(pid);
          await r.done();
          if (run > 0) samples[v].push({ ms: r.ms, verifyMs: r.verifyMs, ...mem, readMs, writeMs, anonAfter: after.anon });
        }
        if (run > 0) log(`   run ${run}/${o.runs}: ` + names.map((v) => `${v} ${fmtMs(samples[v].at(-1).ms)}`).join(', '));
      }
      rmSync(images, { recursive: true, force: true });
      await core.removeSet(storeRoot, `set-${mib}`);
      await core.gc(storeRoot);
      const med = (v, k) => median(samples[v].map((s) => s[k]));
      results.sizes.push({ mib, variants: Object.fromEntries(names.map((v) => [v, { ms: summary(samples[v].map((s) => s.ms)), rss: med(v, 'rss'), pss: med(v, 'pss'), anon: med(v, 'anon'), readMs: med(v, 'readMs'), writeMs: med(v, 'writeMs'), verifyMs: med(v, 'verifyMs') }])) });
    }

    // The same sizes as plain processes: a pid namespace of their own, nothing else.
    for (const mib of o.sizes) {
      log(`\n== ${mib} MiB, plain process`);
      const logFile = join(tmp, `plain-${mib}.log`);
      const fd = openSync(logFile, 'w');
      const child = spawn('unshare', ['--pid', '--fork', 'setsid', hog, String(mib)], { stdio: ['ignore', fd, fd], env: { ...CRIU_ENV, MEMHOG_REPORT: report } });
      closeSync(fd);
      try {
        for (let i = 0; !readFileSync(logFile, 'utf8').includes('ready'); i++) {
          if (i > 6000) throw new Error(`plain mem-hog ${mib} MiB did not get ready`);
          await sleep(10);
        }
        const init = hogOf(child.pid);
        const images = join(tmp, `plain-${mib}`);
        mkdirSync(images);
        await mustRun('criu dump', criu, ['dump', '--tree', String(init), '--images-dir', images, '--log-file', 'dump.log', '-v4', '--leave-running'], { env: CRIU_ENV });
        const variants = { 'stock copy': hasStock ? STOCK : undefined, copy: criu, map: criu };
        const names = Object.keys(variants).filter((v) => variants[v]);
        const times = Object.fromEntries(names.map((v) => [v, []]));
        for (let run = 0; run <= o.runs; run++) {
          for (const v of names.map((_, k) => names[(k + run) % names.length])) {
            execFileSync('sync');
            const r = await rawRestore(variants[v], images, v === 'map', `plain-${mib}-${run}-${v.replace(/ /g, '_')}`, true);
            const m = memOf(r.init);
            if (v !== 'map' && m.rss < mib * MiB * 0.9) throw new Error(`${v} restore of ${mib} MiB has ${(m.rss / MiB).toFixed(0)} MiB RSS`);
            await r.done();
            if (run > 0) times[v].push(r.ms);
          }
        }
        rmSync(images, { recursive: true, force: true });
        results.plain.push({ mib, variants: Object.fromEntries(names.map((v) => [v, { ms: summary(times[v]) }])) });
        log(`   ` + names.map((v) => `${v} ${fmtMs(median(times[v]))}`).join(', '));
      } finally {
        // The program is pid 1 of its namespace: killing it ends the namespace (unshare alone
        // would leave it running, with its memory).
        const init = (() => {
          try {
            return hogOf(child.pid);
          } catch {
            return undefined;
          }
        })();
        if (init) await killTree(init);
        child.kill('SIGKILL');
      }
    }

    // N copies of one image at once.
    {
      const mib = o.cloneSize;
      const name = `clones-${mib}`;
      log(`\n== ${o.clones} clones of ${mib} MiB`);
      const rec = await start(mib, name);
      const images = join(tmp, `raw-clones`);
      mkdirSync(images);
      await mustRun('criu dump', criu, dumpArgs({ pid: rec.initPid, imagesDir: images, leaveRunning: true }), { env: CRIU_ENV });
      await core.down(ctx, name, { timeoutMs: 1000 });
      projects.delete(name);
      for (const mapPages of [false, true]) {
        execFileSync('sync');
        warmKdat();
        const t0 = performance.now();
        const copies = await Promise.all(Array.from({ length: o.clones }, (_, k) => rawRestore(criu, images, mapPages, `clone-${mapPages}-${k}`)));
        const allMs = performance.now() - t0;
        const pids = copies.map((c) => hogOf(c.init));
        const sum = () => pids.map(memOf).reduce((a, m) => ({ pss: a.pss + m.pss, anon: a.anon + m.anon, rss: a.rss + m.rss }), { pss: 0, anon: 0, rss: 0 });
        const right = sum();
        for (const p of pids) await touch(p, 'SIGUSR1', 'read');
        const read = sum();
        for (const c of copies) await c.done();
        const row = { mode: mapPages ? 'map' : 'copy', clones: o.clones, mib, allMs, right, afterRead: read };
        results.clones.push(row);
        log(`   ${row.mode}: ${o.clones} restores in ${fmtMs(allMs)}; Σ Pss ${(right.pss / MiB).toFixed(0)} MiB right after, ${(read.pss / MiB).toFixed(0)} MiB after reading every page`);
      }
      rmSync(images, { recursive: true, force: true });
    }
  } finally {
    for (const pid of raw) await killTree(pid).catch(() => {});
    for (const p of projects) if (core.readStack(ctx, p)) await core.down(ctx, p, { timeoutMs: 1000 }).catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
  }
  results.loadavgEnd = loadavg();
  print(results);
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, JSON.stringify(results, null, 2) + '\n');
  log(`\nresults: ${o.out}`);
}

function print(res) {
  const out = (s = '') => process.stdout.write(`${s}\n`);
  const mib = (b) => (b === undefined ? '-' : `${(b / MiB).toFixed(b < 10 * MiB ? 1 : 0)}`);
  out();
  out(`restore: map vs copy — criu ${res.criu}; medians of ${res.options.runs} runs; load ${res.loadavgStart.map((x) => x.toFixed(1)).join(' ')} → ${res.loadavgEnd.map((x) => x.toFixed(1)).join(' ')}`);
  out('commands:');
  for (const [k, v] of Object.entries(res.commands)) out(`  ${k}: ${v}`);
  const verdicts = [];
  for (const z of res.sizes) {
    out();
    out(`== ${z.mib} MiB`);
    const stock = z.variants['stock copy']?.ms.median;
    const rows = Object.entries(z.variants).map(([v, d]) => [
      v,
      fmtMs(d.ms.median),
      `[${fmtMs(d.ms.min)}..${fmtMs(d.ms.max)}]`,
      stock ? (stock / d.ms.median).toFixed(1) : '-',
      d.verifyMs === undefined ? '' : fmtMs(d.verifyMs),
      mib(d.rss),
      mib(d.pss),
      mib(d.anon),
      fmtMs(d.readMs),
      fmtMs(d.writeMs),
    ]);
    out(table(['restore', 'wall', 'min..max', 'stock/x', 'verify', 'RSS MiB', 'PSS MiB', 'anon MiB', 'read all', 'write all'], rows));
    const map = z.variants.map?.ms.median;
    if (stock && map) verdicts.push(`${stock / map >= MAP_TARGET ? 'PASS' : 'OVER'} ${z.mib} MiB map restore of a ckpt service is 1/${(stock / map).toFixed(0)} of stock (target ≥ ${MAP_TARGET}×)`);
  }
  out();
  for (const z of res.plain) {
    const stock = z.variants['stock copy']?.ms.median;
    out(
      `${z.mib} MiB plain process (pid namespace only), raw CRIU: ` +
        Object.entries(z.variants)
          .map(([v, d]) => `${v} ${fmtMs(d.ms.median)} [${fmtMs(d.ms.min)}..${fmtMs(d.ms.max)}]${stock ? ` (stock/x ${(stock / d.ms.median).toFixed(1)})` : ''}`)
          .join(', '),
    );
    const map = z.variants.map?.ms.median;
    if (stock && map) verdicts.push(`${stock / map >= MAP_TARGET ? 'PASS' : 'OVER'} ${z.mib} MiB map restore of a plain process is 1/${(stock / map).toFixed(0)} of stock (target ≥ ${MAP_TARGET}×)`);
  }
  out();
  for (const c of res.clones) {
    out(
      `${c.clones} × ${c.mib} MiB, ${c.mode}: all restored in ${fmtMs(c.allMs)}; Σ Pss ${mib(c.right.pss)} MiB (anon ${mib(c.right.anon)}) right after, ` +
        `${mib(c.afterRead.pss)} MiB (anon ${mib(c.afterRead.anon)}) after each read every page`,
    );
    if (c.mode === 'map') {
      const worst = Math.max(c.right.pss, c.afterRead.pss) / MiB;
      verdicts.push(`${worst <= CLONES_TARGET_MIB ? 'PASS' : 'OVER'} ${c.clones} map clones of ${c.mib} MiB hold ${worst.toFixed(0)} MiB (target ≤ ${CLONES_TARGET_MIB} MiB)`);
    }
  }
  out();
  for (const v of verdicts) out(v);
}

main().catch((e) => {
  log(`bench: ${e?.stack ?? e}`);
  process.exit(1);
});
