#!/usr/bin/env node
// ckpt vs plain Docker checkpointing of a container, side by side in one run
// (`npm run bench:docker`, as root, with dockerd from scripts/dockerd.sh and the image from
// scripts/build-devcontainer-image.sh).
//
//   node bench/docker.mjs [--sizes 64,256] [--runs 3]
//
// For each size, two containers of ckpt-devcontainer:1 run bench/mem-hog.c (compiled static and
// bind-mounted; N MiB of written, non-zero, non-uniform memory):
//   - one as a ckpt stack (a service with image:), run by ckpt's docker runtime;
//   - one started with `docker run`, Docker's default runtime (runc).
// Each measured iteration times, as wall time of the command a user types:
//   checkpoint  ckpt     `node bin/ckpt.js checkpoint <set> -p P --store S` (leaves it running)
//               docker   `docker checkpoint create --leave-running C <name>`
//   restore     ckpt     `node bin/ckpt.js restore <set> --store S` after `ckpt down` (not timed),
//                        through ckpt-runc (the default), the same with --pages map, and through
//                        Docker's start --checkpoint (CKPT_DOCKER_RESTORE=docker), each into a
//                        new container
//               docker   `docker start --checkpoint <name> C` after `docker stop C` (not timed),
//                        into the same container (Docker's own flow; a new one would need a copy)
// At the largest size, after the iterations: four clones of one set at once, with pages copied
// and with pages mapped (--pages map), timed together and their memory summed (Pss).
// Variants rotate order per iteration; one unmeasured warm-up iteration per size; free memory is
// primed before every timed step (see bench/README.md); checkpoints are removed after each
// iteration and `sync` runs, so earlier images do not weigh on later steps. The docker CLI is
// /usr/bin/docker from docker.io (20.10, API 1.41). At the end: the copies `docker start
// --checkpoint` left in /tmp/ctrd-checkpoint* (counted, then removed: they are this run's) and
// the ones ckpt left (should be 0).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, table } from './lib.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, '..');
const DOCKER = '/usr/bin/docker';
const IMAGE = 'ckpt-devcontainer:1';
const ENV = { ...process.env, DOCKER_API_VERSION: '1.41' };

function parseArgs(argv) {
  const o = { sizes: [64, 256], runs: 3, warmup: 1 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=');
    const val = () => inline ?? argv[++i];
    if (flag === '--sizes') o.sizes = val().split(',').map(Number);
    else if (flag === '--runs') o.runs = Number(val());
    else if (flag === '--warmup') o.warmup = Number(val());
    else if (flag === '--help' || flag === '-h') {
      console.log('usage: node bench/docker.mjs [--sizes 64,256] [--runs 3] [--warmup 1]');
      process.exit(0);
    } else {
      console.error(`unknown option ${argv[i]}`);
      process.exit(64);
    }
  }
  return o;
}

function sh(file, args, env = ENV, { allowFail = false } = {}) {
  const r = spawnSync(file, args, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0 && !allowFail) {
    throw new Error(`${file} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  }
  return r;
}

/** wall time of one command, in ms (and what it printed) */
function timed(file, args, env = ENV) {
  const t0 = performance.now();
  const r = sh(file, args, env);
  const ms = performance.now() - t0;
  return Object.assign(new Number(ms), { out: r.stdout });
}

const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
const ctrdCopies = () => readdirSync('/tmp').filter((n) => n.startsWith('ctrd-checkpoint'));
/** MiB under dir, each inode once (the store hard-links a set's files to its objects) */
const dirMiB = (dir, seen = new Set()) => {
  let n = 0;
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, f.name);
    if (f.isDirectory()) n += dirMiB(p, seen) * 1048576;
    else if (f.isFile()) {
      const st = statSync(p);
      if (!seen.has(st.ino)) (seen.add(st.ino), (n += st.size));
    }
  }
  return n / 1048576;
};
/** Pss of one process, in MiB (its share of pages it shares with others) */
const pssMiBOf = (pid) => Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) / 1024;
/** the result object ckpt --json prints last */
const lastJson = (out) => JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{"set"')).pop());

async function waitReady(container, mib) {
  for (let i = 0; i < 3000; i++) {
    const r = sh(DOCKER, ['logs', container], ENV, { allowFail: true });
    if (r.stdout.includes(`ready ${mib} `)) return;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`mem-hog in ${container} did not get ready`);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid() !== 0) throw new Error('run as root');
  if (!existsSync(join(root, 'dist/cli/main.js'))) throw new Error('build first: npm run build');
  sh(DOCKER, ['image', 'inspect', IMAGE]);
  const tmp = mkdtempSync(join(process.env.CKPT_BENCH_TMP || tmpdir(), 'ckpt-bench-docker-'));
  const hogDir = join(tmp, 'hog');
  mkdirSync(hogDir);
  // static: the image's libc is the host's, but a static binary needs none
  execFileSync('cc', ['-O2', '-static', '-o', join(hogDir, 'mem-hog'), join(benchDir, 'mem-hog.c')], { stdio: 'inherit' });
  const hostHog = join(hogDir, 'mem-hog');
  const ckptEnv = { ...ENV, CKPT_STATE_DIR: join(tmp, 'state'), CKPT_STORE: join(tmp, 'store') };
  const ckpt = (args, extra = {}) => [process.execPath, [join(root, 'bin/ckpt.js'), ...args], { ...ckptEnv, ...extra }];
  const copiesBefore = new Set(ctrdCopies());
  const results = [];
  const cloneRuns = [];
  const cleanups = [];
  let dockerLeft = 0;
  let dockerLeftMiB = 0;
  let ckptLeft = 0;

  const prime = (mib) => sh(hostHog, [String(Math.round(mib * 1.25 + 128)), 'exit'], ENV, { allowFail: true });

  try {
    for (const mib of o.sizes) {
      const project = `bench${mib}`;
      const base = `bench-docker-${mib}`;
      const manifest = join(tmp, `${project}.yaml`);
      writeFileSync(
        manifest,
        `name: ${project}\nservices:\n  hog:\n    image: ${IMAGE}\n    command: ["/hog/mem-hog", "${mib}"]\n    volumes: ["${hogDir}:/hog:ro"]\n    stop_grace_period: 1s\n`,
      );
      sh(...ckpt(['up', '-d', '-f', manifest]));
      cleanups.push(() => sh(...ckpt(['down', '-p', project, '-t', '1']), { allowFail: true }));
      await waitReady(`${project}-hog-1`, mib);
      sh(DOCKER, ['rm', '-f', base], ENV, { allowFail: true });
      sh(DOCKER, ['run', '-d', '--name', base, '-v', `${hogDir}:/hog:ro`, IMAGE, '/hog/mem-hog', String(mib)]);
      cleanups.push(() => sh(DOCKER, ['rm', '-f', base], ENV, { allowFail: true }));
      await waitReady(base, mib);

      const samples = {
        ckptCheckpoint: [],
        ckptCheckpointApi: [],
        ckptFrozen: [],
        ckptDump: [],
        dockerCheckpoint: [],
        dockerCheckpointSynced: [],
        ckptRestore: [],
        ckptRestoreApi: [],
        ckptVerify: [],
        ckptRestoreDockerPath: [],
        ckptRestoreMap: [],
        dockerRestore: [],
      };
      const sizes = { ckpt: 0, docker: 0 };
      const variants = {
        ckpt: (measure, i) => {
          const set = `s${i}`;
          prime(mib);
          const c = timed(...ckpt(['checkpoint', set, '-p', project, '--json']));
          const cj = lastJson(c.out);
          sizes.ckpt = dirMiB(join(tmp, 'store'));
          sh(...ckpt(['down', '-p', project, '-t', '1']));
          prime(mib);
          const before = ctrdCopies().length;
          const r = timed(...ckpt(['restore', set, '--json']));
          const rj = lastJson(r.out);
          sh(...ckpt(['down', '-p', project, '-t', '1']));
          prime(mib);
          const rm = timed(...ckpt(['restore', set, '--pages', 'map']));
          sh(...ckpt(['down', '-p', project, '-t', '1']));
          prime(mib);
          const r2 = timed(...ckpt(['restore', set], { CKPT_DOCKER_RESTORE: 'docker' }));
          ckptLeft += ctrdCopies().length - before;
          sh(...ckpt(['rm', set]));
          sh(...ckpt(['gc']), ckptEnv, { allowFail: true });
          if (measure) {
            samples.ckptCheckpoint.push(+c);
            samples.ckptCheckpointApi.push(cj.totalMs);
            samples.ckptFrozen.push(cj.frozenMs);
            samples.ckptDump.push(cj.services[0].dumpWallMs);
            samples.ckptRestore.push(+r);
            samples.ckptRestoreApi.push(rj.totalMs);
            samples.ckptVerify.push(rj.verifyMs);
            samples.ckptRestoreDockerPath.push(+r2);
            samples.ckptRestoreMap.push(+rm);
          }
        },
        docker: (measure, i) => {
          const name = `cp${i}`;
          prime(mib);
          const c = timed(DOCKER, ['checkpoint', 'create', '--leave-running', base, name]);
          const id = sh(DOCKER, ['inspect', '--format', '{{.Id}}', base]).stdout.trim();
          // Docker leaves its images in the page cache; ckpt's set is on disk when the command ends
          const synced = timed('sync', ['-f', `/var/lib/docker/containers/${id}/checkpoints/${name}`]);
          sizes.docker = dirMiB(`/var/lib/docker/containers/${id}/checkpoints/${name}`);
          sh(DOCKER, ['stop', '-t', '1', base]);
          prime(mib);
          const before = new Set(ctrdCopies());
          const r = timed(DOCKER, ['start', '--checkpoint', name, base]);
          for (const n of ctrdCopies().filter((x) => !before.has(x))) {
            dockerLeft++;
            dockerLeftMiB += dirMiB(join('/tmp', n));
            rmSync(join('/tmp', n), { recursive: true, force: true });
          }
          sh(DOCKER, ['checkpoint', 'rm', base, name]);
          if (measure) {
            samples.dockerCheckpoint.push(+c);
            samples.dockerCheckpointSynced.push(+c + +synced);
            samples.dockerRestore.push(+r);
          }
        },
      };
      const names = Object.keys(variants);
      for (let i = 0; i < o.warmup + o.runs; i++) {
        const order = names.map((_, k) => names[(i + k) % names.length]);
        for (const v of order) {
          variants[v](i >= o.warmup, i);
          sh('sync', []);
        }
        process.stderr.write(`  ${mib} MiB: iteration ${i + 1}/${o.warmup + o.runs}${i < o.warmup ? ' (warm-up)' : ''}\n`);
      }
      const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
      results.push({ mib, medians: m, samples, imagesMiB: sizes });
      // The dev-container case: several copies of one warmed container at once, copied or mapped.
      if (mib === Math.max(...o.sizes)) {
        sh(...ckpt(['checkpoint', 'clones', '-p', project]));
        for (const pages of ['copy', 'map']) {
          const names = [1, 2, 3, 4].map((k) => `${project}${pages}${k}`);
          cleanups.push(() => names.forEach((as) => sh(...ckpt(['down', '-p', as, '-t', '1']), { allowFail: true })));
          prime(mib * 4);
          const t0 = performance.now();
          for (const as of names) sh(...ckpt(['clone', 'clones', '--as', as, '--pages', pages]));
          const ms = performance.now() - t0;
          const pssMiB = names.reduce((sum, as) => sum + pssMiBOf(JSON.parse(sh(...ckpt(['ps', '-p', as, '--json'])).stdout)[0].pid), 0);
          cloneRuns.push({ mib, pages, ms, pssMiB });
          for (const as of names) sh(...ckpt(['down', '-p', as, '-t', '1']), ckptEnv, { allowFail: true });
        }
        sh(...ckpt(['rm', 'clones']));
        sh(...ckpt(['gc']), ckptEnv, { allowFail: true });
      }
      sh(...ckpt(['down', '-p', project, '-t', '1']), ckptEnv, { allowFail: true });
      sh(DOCKER, ['rm', '-f', base], ENV, { allowFail: true });
    }
  } finally {
    for (const c of cleanups.reverse()) c();
    for (const n of ctrdCopies().filter((x) => !copiesBefore.has(x))) rmSync(join('/tmp', n), { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }

  console.log(`\nckpt vs Docker ${sh(DOCKER, ['version', '--format', '{{.Server.Version}}']).stdout.trim()} checkpointing, medians of ${o.runs} (wall time of the CLI command)\n`);
  const cols = ['size', 'ckpt checkpoint', 'docker checkpoint create', 'ratio', 'docker + sync', 'ratio', '|', 'ckpt restore', 'ckpt restore --pages map', 'ckpt restore (docker path)', 'docker start --checkpoint', 'ratio', 'ratio (map)'];
  const rows = results.map(({ mib, medians: m }) => [
    `${mib} MiB`,
    fmt(m.ckptCheckpoint),
    fmt(m.dockerCheckpoint),
    `${(m.dockerCheckpoint / m.ckptCheckpoint).toFixed(1)}×`,
    fmt(m.dockerCheckpointSynced),
    `${(m.dockerCheckpointSynced / m.ckptCheckpoint).toFixed(1)}×`,
    '|',
    fmt(m.ckptRestore),
    fmt(m.ckptRestoreMap),
    fmt(m.ckptRestoreDockerPath),
    fmt(m.dockerRestore),
    `${(m.dockerRestore / m.ckptRestore).toFixed(1)}×`,
    `${(m.dockerRestore / m.ckptRestoreMap).toFixed(1)}×`,
  ]);
  console.log(table(cols, rows));
  console.log('(ckpt restore: through ckpt-runc, pages copied, the default; ratios: Docker\'s median over ckpt\'s;')
  console.log(' docker + sync: the checkpoint, then its images flushed to disk as ckpt flushes a set before it returns)');
  // The target: a checkpoint at least 10× faster than docker checkpoint create at 256 MiB.
  for (const { mib, medians: m } of results.filter((r) => r.mib === 256)) {
    const ratio = m.dockerCheckpoint / m.ckptCheckpoint;
    console.log(`${ratio >= 10 ? 'PASS' : 'OVER'} ${mib} MiB checkpoint is ${ratio.toFixed(1)}× faster than docker checkpoint create (target ≥ 10×)`);
  }
  console.log('\nwhere ckpt\'s time goes (medians):');
  for (const r of results) {
    const m = r.medians;
    console.log(
      `${String(r.mib).padStart(4)} MiB checkpoint: CLI ${fmt(m.ckptCheckpoint)} = API ${fmt(m.ckptCheckpointApi)} (runc+CRIU dump ${fmt(m.ckptDump)}, stack frozen ${fmt(m.ckptFrozen)}, then hashing/fsync/commit) + node start-up; ` +
        `restore: CLI ${fmt(m.ckptRestore)} = API ${fmt(m.ckptRestoreApi)} (verification ${fmt(m.ckptVerify)}, while runc restores: the gate holds the process)`,
    );
  }
  for (const c of cloneRuns) {
    console.log(`4 clones of the ${c.mib} MiB container, --pages ${c.pages}: ${fmt(c.ms)} for all four (one after another), Σ Pss ${c.pssMiB.toFixed(1)} MiB`);
  }
  for (const r of results) console.log(`images at ${r.mib} MiB: ckpt set ${r.imagesMiB.ckpt.toFixed(0)} MiB, docker checkpoint ${r.imagesMiB.docker.toFixed(0)} MiB`);
  console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (${cpus().length} CPUs)`);
  console.log(`\nleft under /tmp/ctrd-checkpoint*: docker start --checkpoint ${dockerLeft} copies (${dockerLeftMiB.toFixed(0)} MiB, removed by the bench); ckpt ${ckptLeft}`);
  const out = join(benchDir, 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'docker-latest.json'), JSON.stringify({ at: new Date().toISOString(), runs: o.runs, results, dockerLeft, ckptLeft }, null, 2));
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
