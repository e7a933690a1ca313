#!/usr/bin/env node
// What holding a stack's traffic costs a checkpoint (`npm run bench:hold`, as root, with dockerd
// from scripts/dockerd.sh and the image from scripts/build-devcontainer-image.sh).
//
//   node bench/docker-hold.mjs [--runs 7]
//
// Two stacks of the same two containers (an idle node server and a client holding one TCP
// connection to it by name), checkpointed in turn:
//   held      the default: the cut holds the containers' traffic on the host's bridges
//             (runtime/docker/addresses.ts) while runc dumps them one by one;
//   baseline  the same with x-ckpt.checkpoint.tcp: close on both, for which no hold is made.
// Each iteration reads the stack's frozen time and the command's wall time from
// `ckpt checkpoint --json`; the table gives medians and held/baseline ratios.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmtMs, fmtRatio, lastJsonLine, log, median, table } from './lib.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv.find((a, i) => process.argv[i - 1] === '--runs') ?? 7);
const work = mkdtempSync(join(tmpdir(), 'ckpt-bench-hold-'));
const env = { ...process.env, CKPT_STATE_DIR: join(work, 'state'), CKPT_STORE: join(work, 'store') };
const ckpt = (args) => {
  const r = spawnSync(process.execPath, [join(root, 'bin/ckpt.js'), ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ckpt ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
};

const SERVER = "require('net').createServer((s) => s.on('data', (d) => s.write(d))).listen(5432)";
const CLIENT = "const c = require('net').connect(5432, 'db'); setInterval(() => c.write('x'), 50); c.on('data', () => {})";
const manifest = (name, close) => {
  const x = close ? '\n    x-ckpt: {checkpoint: {tcp: close}}' : '';
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nservices:\n  db:\n    image: ckpt-devcontainer:1\n    command: ["node", "-e", ${JSON.stringify(SERVER)}]${x}\n  app:\n    image: ckpt-devcontainer:1\n    command: ["node", "-e", ${JSON.stringify(CLIENT)}]\n    depends_on: [db]${x}\n`);
  return file;
};

const variants = [
  { label: 'held', project: `hold${process.pid}`, close: false },
  { label: 'baseline (tcp: close, no hold)', project: `nohold${process.pid}`, close: true },
];
const results = new Map(variants.map((v) => [v.label, { frozen: [], wall: [] }]));
try {
  for (const v of variants) {
    v.file = manifest(v.project, v.close);
    ckpt(['up', '-d', '-f', v.file]);
  }
  spawnSync('sleep', ['2']);
  for (let i = 0; i <= runs; i++) {
    for (const v of i % 2 ? variants : [...variants].reverse()) {
      const t0 = performance.now();
      const out = lastJsonLine(ckpt(['checkpoint', `s${i}`, '-f', v.file, '--replace', '--json']));
      const wall = performance.now() - t0;
      if (i === 0) continue; // warm-up
      results.get(v.label).frozen.push(out.frozenMs);
      results.get(v.label).wall.push(wall);
    }
    log(`  iteration ${i}/${runs}${i === 0 ? ' (warm-up)' : ''}`);
  }
} finally {
  for (const v of variants) if (v.file) spawnSync(process.execPath, [join(root, 'bin/ckpt.js'), 'down', '-f', v.file, '-t', '1'], { env });
  rmSync(work, { recursive: true, force: true });
}
const base = results.get(variants[1].label);
const held = results.get(variants[0].label);
console.log(`\ntwo containers, one TCP connection between them; medians of ${runs}\n`);
console.log(
  table(
    ['variant', 'stack frozen', 'checkpoint (CLI)', 'frozen ratio', 'CLI ratio'],
    [
      [variants[0].label, fmtMs(median(held.frozen)), fmtMs(median(held.wall)), fmtRatio(median(held.frozen) / median(base.frozen)), fmtRatio(median(held.wall) / median(base.wall))],
      [variants[1].label, fmtMs(median(base.frozen)), fmtMs(median(base.wall)), '1.00', '1.00'],
    ],
  ),
);
console.log(`\nthe hold costs ${fmtMs(median(held.frozen) - median(base.frozen))} of frozen time (median difference)`);
