#!/usr/bin/env node
// ckpt vs raw CRIU, side by side in one run (`npm run bench`, as root, after `npm run build`).
//
//   npm run bench                          # sizes 64,256,1024 MiB, 5 measured runs each
//   npm run bench -- --sizes 64,256 --runs 5
//
// For each size, one ckpt process service runs bench/mem-hog.c (N MiB of written, non-zero,
// non-uniform memory) under ckpt-shim, in its own pid/mount/uts/ipc namespaces. Each measured
// iteration then takes, of that same running tree:
//
//   checkpoint  ckpt-cli   `node bin/ckpt.js checkpoint <set> -p <project> --store S --json`, wall time of the process
//               raw        `criu dump` with the options ckpt uses (dist/criu/args.js: dumpArgs, --leave-running,
//                          no --freeze-cgroup: raw CRIU seizes the tree itself), wall time of the criu process
//               ckpt-api   core.checkpoint(ctx, project, set, {storeRoot}), wall time of the call
//   restore     ckpt-cli   `node bin/ckpt.js restore <set> --store S --json` after core.down (not timed)
//               raw        `criu restore` of the raw images with the options ckpt uses (restoreArgs:
//                          --restore-detached --root / --tcp-established --manage-cgroups=ignore --pidfile),
//                          the restored tree is killed afterwards (not timed)
//               ckpt-api   core.restore(ctx, set, {storeRoot}) after core.down (not timed)
//
// The three variants run in a rotating order (ABC, BCA, CAB, …) so drift hits all of them, after
// one unmeasured warm-up iteration; each variant is dumped, restored and deleted before the next (see
// the loop). Page cache is warm on both sides (nothing is dropped); the raw
// images are fsync'd after the timed dump (reported as "raw+fsync", so ckpt's durable commit can be
// compared with a durable raw dump, and so that background writeback is the same for both sides).
// Sets and images are removed after every iteration. The ratios are informational: the exit code
// is 0 unless the benchmark itself broke.
//
// Free memory is primed before every timed step: `mem-hog <1.25×size+128> exit` writes that much
// memory and exits, so each step allocates memory the kernel has just freed. Without it, in a VM
// with free page reporting (virtio-balloon; this one has it) memory freed a while ago has been
// handed back to the host, and whichever step happens to allocate it pays the host's page faults:
// the same `criu restore` of the same images then takes 0.7 s or 1.5 s depending on what ran
// before it. `--no-prime` turns this off.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dirBytes, fmtMs, fmtRatio, fsyncDir, killTree, lastJsonLine, log, median, mustRun, sleep, summary, table } from './lib.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, '..');
const TARGET = 1.15;
/** the signal that interrupted the run, if any */
let interrupted;
const CRIU_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' };

// ---------------------------------------------------------------- options

function parseArgs(argv) {
  const o = { sizes: [64, 256, 1024], runs: 5, warmup: 1, out: join(benchDir, 'results', 'latest.json'), keep: false, prime: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    const flag = a.split('=')[0];
    if (flag === '--sizes') o.sizes = val().split(',').map((s) => Number(s.trim()));
    else if (flag === '--runs') o.runs = Number(val());
    else if (flag === '--warmup') o.warmup = Number(val());
    else if (flag === '--out') o.out = resolve(val());
    else if (flag === '--keep') o.keep = true;
    else if (flag === '--no-prime') o.prime = false;
    else if (flag === '-h' || flag === '--help') usage();
    else usage(`unknown option ${a}`);
  }
  if (!o.sizes.length || o.sizes.some((s) => !Number.isInteger(s) || s <= 0)) usage('--sizes: a comma-separated list of MiB, e.g. 64,256');
  if (!Number.isInteger(o.runs) || o.runs < 1) usage('--runs: a positive integer');
  if (!Number.isInteger(o.warmup) || o.warmup < 0) usage('--warmup: a non-negative integer');
  return o;
}

function usage(err) {
  const text =
    'usage: npm run bench -- [--sizes 64,256,1024] [--runs 5] [--warmup 1] [--out bench/results/latest.json] [--keep] [--no-prime]\n' +
    '  Times `ckpt checkpoint` / raw `criu dump` and `ckpt restore` / raw `criu restore` of the same\n' +
    '  service tree (needs root, the patched CRIU, the cgroup-v1 freezer, and a built dist/).\n';
  if (err) {
    process.stderr.write(`bench: ${err}\n${text}`);
    process.exit(64);
  }
  process.stdout.write(text);
  process.exit(0);
}

function newestMtime(dir, ext) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p, ext));
    else if (e.name.endsWith(ext)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

// ---------------------------------------------------------------- preconditions

function preflight() {
  const problems = [];
  if (process.getuid?.() !== 0) problems.push('must run as root (CRIU and the process runtime need it)');
  if (!existsSync('/usr/local/sbin/criu') && !process.env.CKPT_CRIU) problems.push('the patched CRIU is missing (sudo bash criu-patches/build.sh)');
  if (!existsSync('/sys/fs/cgroup/freezer/cgroup.procs')) problems.push('the cgroup-v1 freezer is not mounted at /sys/fs/cgroup/freezer');
  if (!existsSync(join(root, 'dist/core/index.js')) || !existsSync(join(root, 'native/bin/ckpt-shim'))) problems.push('dist/ is missing: run `npm run build`');
  if (problems.length) {
    for (const p of problems) log(`bench: ${p}`);
    process.exit(69);
  }
  if (newestMtime(join(root, 'src'), '.ts') > newestMtime(join(root, 'dist'), '.js')) {
    log('bench: warning: src/ is newer than dist/ — the numbers are for the last build (`npm run build`)');
  }
}

// ---------------------------------------------------------------- the benchmark

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  preflight();
  const core = await import('../dist/core/index.js');
  const { dumpArgs, restoreArgs, shellQuote } = await import('../dist/criu/args.js');
  const { criuPath } = await import('../dist/criu/probe.js');
  const { readDumpStatsSafe, readRestoreStatsSafe } = await import('../dist/core/stats.js');
  const { treeRssBytes } = await import('../dist/util/proc.js');
  const criu = criuPath();
  const cli = join(root, 'bin/ckpt.js');

  const began = performance.now();
  const tmp = mkdtempSync(join(process.env.CKPT_BENCH_TMP || tmpdir(), 'ckpt-bench-'));
  const stateRoot = join(tmp, 'state');
  const storeRoot = join(tmp, 'store');
  const rawRoot = join(tmp, 'raw');
  mkdirSync(rawRoot);
  const ctx = { stateRoot, events: core.nullSink };
  const cliEnv = { ...process.env, CKPT_STATE_DIR: stateRoot, NO_COLOR: '1' };
  const rawPids = new Set();
  const projects = new Set();

  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const pid of rawPids) await killTree(pid).catch(() => {});
    for (const p of projects) {
      if (core.readStack(ctx, p)) await core.down(ctx, p, { timeoutMs: 1000 }).catch((e) => log(`bench: down ${p}: ${e.message}`));
    }
    if (opts.keep) log(`bench: kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  };
  // A signal stops the run between two steps (a step in flight finishes first), then the finally
  // below cleans up; a second signal leaves at once, naming what may be left behind.
  const checkInterrupted = () => {
    if (interrupted) throw Object.assign(new Error(`interrupted (${interrupted})`), { interrupted: true });
  };
  let firstSignalAt = 0;
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      // (`timeout` and the terminal may deliver one Ctrl-C twice: only a later one forces the exit)
      if (interrupted && Date.now() - firstSignalAt < 1000) return;
      if (interrupted) {
        log(`bench: ${sig} again: leaving without cleaning up ${tmp} (stacks in ${stateRoot}: \`CKPT_STATE_DIR=${stateRoot} ckpt down -p …\`)`);
        process.exit(130);
      }
      interrupted = sig;
      firstSignalAt = Date.now();
      log(`bench: ${sig}: stopping after the current step, then cleaning up`);
    });
  }

  const results = {
    startedAt: new Date().toISOString(),
    machine: machineInfo(criu),
    options: { sizes: opts.sizes, runs: opts.runs, warmup: opts.warmup, prime: opts.prime },
    target: TARGET,
    commands: {},
    startup: {},
    sizes: [],
  };

  try {
    // The workload binary.
    const hog = join(tmp, 'mem-hog');
    execFileSync('cc', ['-O2', '-Wall', '-o', hog, join(benchDir, 'mem-hog.c')], { stdio: 'inherit' });

    // Node startup, for reading the CLI numbers.
    const nodeBare = [];
    const cliVersion = [];
    for (let i = 0; i < 5; i++) {
      nodeBare.push((await mustRun('node', process.execPath, ['-e', '0'])).ms);
      cliVersion.push((await mustRun('ckpt --version', process.execPath, [cli, '--version'], { env: cliEnv })).ms);
    }
    results.startup = { nodeBareMs: summary(nodeBare), cliVersionMs: summary(cliVersion) };
    log(`node startup ${fmtMs(median(nodeBare))}, \`ckpt --version\` ${fmtMs(median(cliVersion))}`);

    for (const mib of opts.sizes) {
      const project = `ckptbench-${mib}`;
      const dir = join(tmp, project);
      mkdirSync(dir);
      const manifest = join(dir, 'ckpt.yaml');
      writeFileSync(
        manifest,
        `name: ${project}\nservices:\n  hog:\n    command: [${JSON.stringify(hog)}, "${mib}"]\n    stop_grace_period: 1s\n`,
      );
      checkInterrupted();
      const proj = await core.loadProject({ file: manifest, projectName: project });
      log(`\n== ${mib} MiB: starting ${project}`);
      projects.add(project);
      await core.up(ctx, proj);
      const rec0 = core.readStack(ctx, project).services.hog;
      for (let i = 0; ; i++) {
        const text = existsSync(rec0.logFile) ? readFileSync(rec0.logFile, 'utf8') : '';
        if (text.includes('ready')) break;
        if (i > 6000) throw new Error(`mem-hog ${mib} MiB did not get ready: ${text}`);
        await sleep(10);
      }
      const rss0 = treeRssBytes(rec0.initPid);
      log(`   ready: tree RSS ${(rss0 / 2 ** 20).toFixed(0)} MiB`);

      const initPid = () => core.readStack(ctx, project).services.hog.initPid;
      const primeMiB = Math.ceil(mib * 1.25) + 128;
      const prime = () => {
        // Dirty pages left by the step before (deleted images, logs) are written back now, not
        // inside the next timed step, where the kernel's dirty throttling would charge them to it.
        execFileSync('sync');
        if (opts.prime) execFileSync(hog, [String(primeMiB), 'exit']);
      };
      const samples = [];

      const total = opts.warmup + opts.runs;
      for (let it = 0; it < total; it++) {
        const warm = it < opts.warmup;
        const tag = `${warm ? 'w' : 'r'}${it}`;
        const s = { iteration: it, warmup: warm, checkpoint: {}, restore: {}, detail: {} };
        const cliSet = `cli-${tag}`;
        const apiSet = `api-${tag}`;
        const rawDir = join(rawRoot, `${project}-${tag}`);
        const rawWork = join(rawRoot, `${project}-${tag}-work`);

        const dumps = {
          'ckpt-cli': async () => {
            const args = [cli, 'checkpoint', cliSet, '-p', project, '--store', storeRoot, '--json'];
            results.commands.checkpointCli ??= shellQuote(['node', ...args]);
            prime();
            const r = await mustRun('ckpt checkpoint', process.execPath, args, { env: cliEnv, cwd: dir });
            const j = lastJsonLine(r.stdout);
            s.checkpoint['ckpt-cli'] = r.ms;
            s.detail.checkpointCli = { wallMs: r.ms, totalMs: j.totalMs, freezeMs: j.freezeMs, frozenMs: j.frozenMs, sizeBytes: j.sizeBytes, service: j.services[0] };
          },
          raw: async () => {
            mkdirSync(rawDir);
            const args = dumpArgs({ pid: initPid(), imagesDir: rawDir, leaveRunning: true });
            results.commands.rawDump ??= shellQuote([criu, ...args]);
            prime();
            const r = await mustRun('criu dump', criu, args, { env: CRIU_ENV });
            s.checkpoint.raw = r.ms;
            const f0 = performance.now();
            fsyncDir(rawDir);
            const fsyncMs = performance.now() - f0;
            s.checkpoint['raw+fsync'] = r.ms + fsyncMs;
            s.detail.rawDump = { wallMs: r.ms, fsyncMs, bytes: dirBytes(rawDir), ...readDumpStatsSafe(rawDir) };
          },
          'ckpt-api': async () => {
            prime();
            const t0 = performance.now();
            const r = await core.checkpoint(ctx, project, apiSet, { storeRoot });
            const ms = performance.now() - t0;
            s.checkpoint['ckpt-api'] = ms;
            s.detail.checkpointApi = { wallMs: ms, totalMs: r.totalMs, freezeMs: r.freezeMs, frozenMs: r.frozenMs, sizeBytes: r.set.sizeBytes, service: r.services[0] };
          },
        };
        const restores = {
          'ckpt-cli': async () => {
            await core.down(ctx, project, { timeoutMs: 1000 });
            const args = [cli, 'restore', cliSet, '--store', storeRoot, '--json'];
            results.commands.restoreCli ??= shellQuote(['node', ...args]);
            prime();
            const r = await mustRun('ckpt restore', process.execPath, args, { env: cliEnv, cwd: dir });
            const j = lastJsonLine(r.stdout);
            s.restore['ckpt-cli'] = r.ms;
            s.detail.restoreCli = { wallMs: r.ms, totalMs: j.totalMs, verifyMs: j.verifyMs, restoreMs: j.restoreMs, service: j.services[0], rssBytes: treeRssBytes(initPid()) };
          },
          raw: async () => {
            const pidFile = join(rawWork, 'init.pid');
            mkdirSync(rawWork);
            const args = restoreArgs({ imagesDir: rawDir, workDir: rawWork, pidFile });
            results.commands.rawRestore ??= shellQuote([criu, ...args]);
            prime();
            const r = await mustRun('criu restore', criu, args, { env: CRIU_ENV });
            const pid = Number(readFileSync(pidFile, 'utf8').trim());
            rawPids.add(pid);
            s.restore.raw = r.ms;
            s.detail.rawRestore = { wallMs: r.ms, rssBytes: treeRssBytes(pid), ...readRestoreStatsSafe(rawWork) };
            await killTree(pid);
            rawPids.delete(pid);
          },
          'ckpt-api': async () => {
            await core.down(ctx, project, { timeoutMs: 1000 });
            prime();
            const t0 = performance.now();
            const r = await core.restore(ctx, apiSet, { storeRoot });
            const ms = performance.now() - t0;
            s.restore['ckpt-api'] = ms;
            s.detail.restoreApi = { wallMs: ms, totalMs: r.totalMs, verifyMs: r.verifyMs, restoreMs: r.restoreMs, service: r.services[0], rssBytes: treeRssBytes(initPid()) };
          },
        };

        // Commit each removal at once (ext4 with -o discard trims freed extents at journal commit,
        // which would otherwise land in the next fsync of whichever step comes first).
        const discard = {
          'ckpt-cli': async () => {
            await core.removeSet(storeRoot, cliSet);
            await core.gc(storeRoot);
            execFileSync('sync');
          },
          raw: async () => {
            rmSync(rawDir, { recursive: true, force: true });
            rmSync(rawWork, { recursive: true, force: true });
            execFileSync('sync');
          },
          'ckpt-api': async () => {
            await core.removeSet(storeRoot, apiSet);
            await core.gc(storeRoot);
            execFileSync('sync');
          },
        };

        const base = ['ckpt-cli', 'raw', 'ckpt-api'];
        const order = base.map((_, k) => base[(k + it) % base.length]);
        // Each variant's images are gone before the next variant starts: on this VM a 1 GiB write
        // takes 0.2 s while earlier images are out of the page cache and 2-3 s when two earlier
        // GiB are still cached (measured with dd), so keeping them would charge whichever step
        // came last.
        for (const v of order) {
          checkInterrupted();
          await dumps[v]();
          checkInterrupted();
          await restores[v]();
          await discard[v]();
        }

        // Every restore must have brought the memory back.
        for (const [k, d] of Object.entries({ cli: s.detail.restoreCli, raw: s.detail.rawRestore, api: s.detail.restoreApi })) {
          if (d.rssBytes < mib * 2 ** 20 * 0.95) throw new Error(`${k} restore of ${mib} MiB left a tree of ${(d.rssBytes / 2 ** 20).toFixed(0)} MiB RSS`);
        }

        const c = s.checkpoint;
        const r = s.restore;
        log(
          `   ${warm ? 'warm-up' : `run ${it - opts.warmup + 1}/${opts.runs}`} [${order.join(' ')}]  ` +
            `checkpoint cli ${fmtMs(c['ckpt-cli'])} api ${fmtMs(c['ckpt-api'])} raw ${fmtMs(c.raw)} (+fsync ${fmtMs(c['raw+fsync'])})  ` +
            `restore cli ${fmtMs(r['ckpt-cli'])} api ${fmtMs(r['ckpt-api'])} raw ${fmtMs(r.raw)}`,
        );
        if (!warm) samples.push(s);
      }
      await core.down(ctx, project, { timeoutMs: 1000 });
      projects.delete(project);
      results.sizes.push(summarize(mib, samples));
    }
    await core.gc(storeRoot);
  } finally {
    await cleanup();
  }

  results.totalSeconds = (performance.now() - began) / 1000;
  results.machine.loadavgEnd = loadavg().map((x) => Number(x.toFixed(2)));
  report(results);
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, JSON.stringify(results, null, 2) + '\n');
  log(`\nresults: ${opts.out}`);
}

function summarize(mib, samples) {
  const col = (side, v) => samples.map((s) => s[side][v]).filter((x) => x !== undefined);
  const det = (k, f) => samples.map((s) => f(s.detail[k])).filter((x) => typeof x === 'number');
  const pair = (side, v) => {
    const ckpt = summary(col(side, v));
    const raw = summary(col(side, 'raw'));
    return { ckpt, raw, ratio: ckpt.median / raw.median };
  };
  return {
    mib,
    checkpoint: {
      cli: pair('checkpoint', 'ckpt-cli'),
      api: pair('checkpoint', 'ckpt-api'),
      rawFsync: summary(col('checkpoint', 'raw+fsync')),
    },
    restore: {
      cli: pair('restore', 'ckpt-cli'),
      api: pair('restore', 'ckpt-api'),
    },
    // Where ckpt's time goes (medians over the runs; API figures, CLI ones from its --json output).
    breakdown: {
      checkpoint: {
        cliStartupAndExitMs: median(det('checkpointCli', (d) => d.wallMs - d.totalMs)),
        apiSetupMs: median(det('checkpointApi', (d) => d.wallMs - d.totalMs)),
        freezeMs: median(det('checkpointApi', (d) => d.freezeMs)),
        criuDumpMs: median(det('checkpointApi', (d) => d.service.dumpWallMs)),
        frozenMs: median(det('checkpointApi', (d) => d.frozenMs)),
        commitMs: median(det('checkpointApi', (d) => d.totalMs - d.frozenMs)),
        ckptCriuFrozenMs: median(det('checkpointApi', (d) => d.service.criuFrozenMs)),
        ckptCriuMemdumpMs: median(det('checkpointApi', (d) => d.service.criuMemdumpMs)),
        ckptCriuMemwriteMs: median(det('checkpointApi', (d) => d.service.criuMemwriteMs)),
        rawCriuFrozenMs: median(det('rawDump', (d) => d.criuFrozenMs)),
        rawCriuMemdumpMs: median(det('rawDump', (d) => d.criuMemdumpMs)),
        rawCriuMemwriteMs: median(det('rawDump', (d) => d.criuMemwriteMs)),
        rawFsyncMs: median(det('rawDump', (d) => d.fsyncMs)),
        setBytes: median(det('checkpointApi', (d) => d.sizeBytes)),
        rawBytes: median(det('rawDump', (d) => d.bytes)),
      },
      restore: {
        cliStartupAndExitMs: median(det('restoreCli', (d) => d.wallMs - d.totalMs)),
        verifyMs: median(det('restoreApi', (d) => d.verifyMs)),
        criuUnderShimMs: median(det('restoreApi', (d) => d.service.restoreWallMs)),
        otherMs: median(det('restoreApi', (d) => d.wallMs - d.verifyMs - d.service.restoreWallMs)),
        ckptCriuRestoreMs: median(det('restoreApi', (d) => d.service.criuRestoreMs)),
        rawCriuRestoreMs: median(det('rawRestore', (d) => d.criuRestoreMs)),
      },
    },
    samples,
  };
}

function machineInfo(criu) {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  };
  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1];
  return {
    kernel: sh('uname', ['-r']),
    cpu,
    cpus: readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length,
    memMiB: Math.round(Number((readFileSync('/proc/meminfo', 'utf8').match(/MemTotal:\s*(\d+)/) ?? [])[1]) / 1024),
    node: process.version,
    loadavgStart: loadavg().map((x) => Number(x.toFixed(2))),
    criu: sh(criu, ['--version'])?.replace(/\n/g, ' '),
    thp: (() => {
      try {
        return readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').trim();
      } catch {
        return undefined;
      }
    })(),
  };
}

// ---------------------------------------------------------------- output

function report(res) {
  const out = (s = '') => process.stdout.write(`${s}\n`);
  out();
  out(`ckpt vs raw CRIU — ${res.machine.cpus} CPU, ${res.machine.memMiB} MiB, kernel ${res.machine.kernel}, ${res.machine.node}, criu ${res.machine.criu}`);
  out(
    `medians of ${res.options.runs} runs (after ${res.options.warmup} warm-up), page cache warm on both sides, ` +
      `free memory ${res.options.prime ? 'primed' : 'NOT primed'} before each step; min..max in brackets`,
  );
  out(`load average at start ${res.machine.loadavgStart.join(' ')}, at end ${res.machine.loadavgEnd.join(' ')} (other work on this machine adds noise)`);
  out(`node startup: bare ${fmtMs(res.startup.nodeBareMs.median)}, \`ckpt --version\` ${fmtMs(res.startup.cliVersionMs.median)}`);
  out();
  out('commands (first run):');
  for (const [k, v] of Object.entries(res.commands)) out(`  ${k}: ${v}`);
  const mm = (s) => `[${fmtMs(s.min)}..${fmtMs(s.max)}]`;
  const verdict = (r) => (r <= res.target ? 'PASS' : 'OVER');
  const lines = [];
  for (const z of res.sizes) {
    out();
    out(`== ${z.mib} MiB`);
    const rows = [
      ['checkpoint (CLI)', z.checkpoint.cli],
      ['checkpoint (API)', z.checkpoint.api],
      ['restore (CLI)', z.restore.cli],
      ['restore (API)', z.restore.api],
    ].map(([name, p]) => [name, fmtMs(p.ckpt.median), mm(p.ckpt), fmtMs(p.raw.median), mm(p.raw), fmtRatio(p.ratio), verdict(p.ratio)]);
    out(table(['operation', 'ckpt', 'ckpt min..max', 'raw criu', 'raw min..max', 'ratio', `≤${res.target}`], rows));
    const b = z.breakdown;
    out(
      `  checkpoint: CLI startup+exit ${fmtMs(b.checkpoint.cliStartupAndExitMs)}, API setup ${fmtMs(b.checkpoint.apiSetupMs)}, ` +
        `freeze ${fmtMs(b.checkpoint.freezeMs)}, criu dump ${fmtMs(b.checkpoint.criuDumpMs)} (raw ${fmtMs(z.checkpoint.api.raw.median)}), ` +
        `store commit ${fmtMs(b.checkpoint.commitMs)}; stack frozen ${fmtMs(b.checkpoint.frozenMs)} (raw CRIU frozen ${fmtMs(b.checkpoint.rawCriuFrozenMs)}); raw dump + fsync ${fmtMs(z.checkpoint.rawFsync.median)} ` +
        `(ckpt API / raw+fsync ${fmtRatio(z.checkpoint.api.ckpt.median / z.checkpoint.rawFsync.median)})`,
    );
    out(
      `  checkpoint, CRIU's own stats (ckpt's criu vs raw): frozen ${fmtMs(b.checkpoint.ckptCriuFrozenMs)} vs raw ${fmtMs(b.checkpoint.rawCriuFrozenMs)}, ` +
        `memdump ${fmtMs(b.checkpoint.ckptCriuMemdumpMs)} vs ${fmtMs(b.checkpoint.rawCriuMemdumpMs)}, ` +
        `memwrite ${fmtMs(b.checkpoint.ckptCriuMemwriteMs)} vs ${fmtMs(b.checkpoint.rawCriuMemwriteMs)}; ` +
        `images ${(b.checkpoint.setBytes / 2 ** 20).toFixed(1)} MiB vs ${(b.checkpoint.rawBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    out(
      `  restore: CLI startup+exit ${fmtMs(b.restore.cliStartupAndExitMs)}, verify (re-hash) ${fmtMs(b.restore.verifyMs)}, ` +
        `criu under ckpt-shim ${fmtMs(b.restore.criuUnderShimMs)} (raw ${fmtMs(z.restore.api.raw.median)}), other ${fmtMs(b.restore.otherMs)}; ` +
        `CRIU restore stage ${fmtMs(b.restore.ckptCriuRestoreMs)} vs raw ${fmtMs(b.restore.rawCriuRestoreMs)}`,
    );
    lines.push(
      `${verdict(z.checkpoint.cli.ratio)} ${z.mib} MiB checkpoint ${fmtRatio(z.checkpoint.cli.ratio)} (CLI; API ${fmtRatio(z.checkpoint.api.ratio)})`,
      `${verdict(z.restore.cli.ratio)} ${z.mib} MiB restore    ${fmtRatio(z.restore.cli.ratio)} (CLI; API ${fmtRatio(z.restore.api.ratio)})`,
    );
  }
  out();
  out(`target: ckpt / raw CRIU ≤ ${res.target} (the CLI figure is the one the issue asks for)`);
  for (const l of lines) out(l);
  out(`bench took ${res.totalSeconds.toFixed(0)} s`);
}

main().catch((e) => {
  // Ctrl-C reaches the whole process group: a child may die of it before our handler runs.
  if (!interrupted && (e?.signal === 'SIGINT' || e?.signal === 'SIGTERM')) interrupted = e.signal;
  if (interrupted) {
    log(`bench: interrupted (${interrupted}); cleaned up${e?.interrupted ? '' : ` (the step in flight failed: ${e?.message ?? e})`}`);
    process.exit(130);
  }
  log(`bench: ${e?.stack ?? e}`);
  process.exit(1);
});
