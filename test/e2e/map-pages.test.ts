// Restoring by mapping pages from the set (patched CRIU --map-pages, `--pages map`), through
// bin/ckpt.js, with test/fixtures/memcheck.c holding 64 MiB whose every word it can check:
//   - a map-mode clone reads back the checkpoint byte for byte, then rewrites every page;
//   - MADV_DONTNEED there reads back the checkpoint's data (copy mode: zeros), as documented;
//   - `ckpt rm` + `ckpt gc` of the set while clones map it: they keep running and verifying;
//   - a set taken from a map-mode clone is self-contained (chained copy, patch 0013): it
//     restores, in both modes, after the set it came from is gone;
//   - 8 map-mode clones of one set at once, each verifying.
import t from 'tap';
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { requireIntegration, tempDir, userEnv } from '../helpers/env.js';
import { waitFor } from '../../src/util/time.js';

const bin = join(packageRoot, 'bin/ckpt.js');
const MIB = 64;

t.test('--pages map: byte for byte, DONTNEED, rm while mapped, chained re-checkpoint, 8 clones', { timeout: 600_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const memcheck = join(dir, 'memcheck');
  await execa('gcc', ['-O2', '-Wall', '-o', memcheck, join(packageRoot, 'test/fixtures/memcheck.c')]);
  const env = userEnv({ CKPT_STATE_DIR: join(dir, 'state'), CKPT_STORE: join(dir, 'store') });
  const ckpt = (args: string[]) => execa(bin, args, { reject: false, env, extendEnv: false, cwd: dir, timeout: 120_000 });
  const clones = Array.from({ length: 8 }, (_, k) => `many-${k}`);
  const projects = ['mem', 'mapped', 'copied', 'chain-copy', 'chain-map', ...clones];
  t.teardown(async () => {
    for (const p of projects) await ckpt(['down', '-p', p, '-t', '1']);
  });

  // ps shows the service's root, the init of its pid namespace; memcheck is that init's child.
  const pidOf = async (p: string): Promise<number> => {
    const init = (JSON.parse((await ckpt(['ps', '-p', p, '--json'])).stdout) as { pid: number }[])[0]!.pid;
    return Number(readFileSync(`/proc/${init}/task/${init}/children`, 'utf8').trim().split(/\s+/)[0]);
  };
  const logLines = async (p: string): Promise<string[]> => (await ckpt(['logs', '-p', p, '--no-log-prefix'])).stdout.split('\n');
  /** Sends `sig` and waits for the program's next line matching `re`; returns that line. */
  const ask = async (p: string, sig: NodeJS.Signals, re: RegExp): Promise<string> => {
    const before = (await logLines(p)).filter((l) => re.test(l)).length;
    process.kill(await pidOf(p), sig);
    const line = await waitFor<string>(
      async () => {
        const hits = (await logLines(p)).filter((l) => re.test(l));
        return hits.length > before ? hits[hits.length - 1] : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    return line ?? '';
  };
  const mapsImages = async (p: string): Promise<number> =>
    readFileSync(`/proc/${await pidOf(p)}/maps`, 'utf8').split('\n').filter((l) => /\/pages-\d+\.img/.test(l)).length;

  // A manifest service, not `ckpt run`: a run program's clones get fresh pids from a holder
  // process (CRIU --restore-pidns), and a tree under that holder cannot be checkpointed again.
  writeFileSync(join(dir, 'ckpt.yaml'), `name: mem\nservices:\n  mem:\n    command: [${JSON.stringify(memcheck)}, "${MIB}"]\n    stop_grace_period: 1s\n`);
  const run = await ckpt(['up', '-d']);
  t.equal(run.exitCode, 0, run.stderr);
  await waitFor(async () => ((await logLines('mem')).some((l) => l.startsWith('ready')) ? true : undefined), { timeoutMs: 20_000, intervalMs: 50 });
  const cp = await ckpt(['checkpoint', 'warm', '-p', 'mem']);
  t.equal(cp.exitCode, 0, cp.stderr);

  // Map mode: the memory is the image's, page for page.
  const m = await ckpt(['clone', 'warm', '--as', 'mapped', '--pages', 'map']);
  t.equal(m.exitCode, 0, m.stderr);
  t.ok((await mapsImages('mapped')) > 0, '/proc/PID/maps names the pages image');
  t.equal(await ask('mapped', 'SIGUSR1', /^verify /), 'verify 0 ok', 'every byte as checkpointed');
  t.equal(await ask('mapped', 'SIGHUP', /^dontneed /), 'dontneed data', 'MADV_DONTNEED reads back the checkpoint (not zeros)');
  t.equal(await ask('mapped', 'SIGUSR2', /^rewrite /), 'rewrite 1 ok', 'every page written and read back');

  // Copy mode, for contrast: anonymous memory, zeros after MADV_DONTNEED, no image mapped.
  const c = await ckpt(['clone', 'warm', '--as', 'copied', '--pages', 'copy']);
  t.equal(c.exitCode, 0, c.stderr);
  t.equal(await mapsImages('copied'), 0, 'copy mode maps no image');
  t.equal(await ask('copied', 'SIGUSR1', /^verify /), 'verify 0 ok');
  t.equal(await ask('copied', 'SIGHUP', /^dontneed /), 'dontneed zero', 'copy mode: zeros, as before any restore');

  // The set goes while a clone maps its images: unlink keeps the inodes, the clone goes on.
  t.equal((await ckpt(['rm', 'warm'])).exitCode, 0);
  t.equal((await ckpt(['gc'])).exitCode, 0);
  t.equal(await ask('mapped', 'SIGUSR1', /^verify /), 'verify 1 ok', 'the mapped clone still verifies after rm + gc');

  // A set taken from the map-mode clone holds its pages itself (chained copy).
  const cp2 = await ckpt(['checkpoint', 'second', '-p', 'mapped']);
  t.equal(cp2.exitCode, 0, cp2.stderr);
  t.equal((await ckpt(['down', '-p', 'mapped', '-t', '1'])).exitCode, 0);
  const verify = await ckpt(['verify', 'second']);
  t.equal(verify.exitCode, 0, verify.stderr);
  for (const [as, pages] of [['chain-copy', 'copy'], ['chain-map', 'map']] as const) {
    const r = await ckpt(['clone', 'second', '--as', as, '--pages', pages]);
    t.equal(r.exitCode, 0, `${as}: ${r.stderr}`);
    t.equal(await ask(as, 'SIGUSR1', /^verify /), 'verify 1 ok', `${as}: generation 1, with the first set gone`);
  }

  // Eight at once from one set: each maps the same images and verifies.
  const made = await Promise.all(clones.map((k) => ckpt(['clone', 'second', '--as', k, '--pages', 'map'])));
  made.forEach((r, k) => t.equal(r.exitCode, 0, `clone ${clones[k]}: ${r.stderr}`));
  const answers = await Promise.all(clones.map((k) => ask(k, 'SIGUSR1', /^verify /)));
  t.same(answers, clones.map(() => 'verify 1 ok'), 'all eight verify');
});
