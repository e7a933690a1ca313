// DragonFly's checkpoint(2) flow through bin/ckpt.js: `ckpt run` a program, checkpoint it, bring
// it back in "this terminal" (`restore --here`: fds 0-2 of the restoring process) while the
// original still runs (fresh pids), and as eight copies at once.
import t from 'tap';
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { requireIntegration, tempDir, userEnv } from '../helpers/env.js';
import { waitFor } from '../../src/util/time.js';

const bin = join(packageRoot, 'bin/ckpt.js');
// Counts in memory; the count can only continue from where it was if memory came back.
const COUNTER = 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.1; done';

t.test('ckpt run → checkpoint → restore --here beside the original → 8 clones', { timeout: 300_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const env = userEnv({ CKPT_STATE_DIR: join(dir, 'state'), CKPT_STORE: join(dir, 'store') });
  const ckpt = (args: string[]) => execa(bin, args, { reject: false, env, extendEnv: false, cwd: dir, timeout: 120_000 });
  const clones = Array.from({ length: 8 }, (_, k) => `ticker-${k}`);
  t.teardown(async () => {
    for (const p of ['ticker', ...clones]) await ckpt(['down', '-p', p, '-t', '1']);
  });

  const run = await ckpt(['run', '--name', 'ticker', '-d', '--', 'bash', '-c', COUNTER]);
  t.equal(run.exitCode, 0, run.stderr);
  const lastTick = async (project: string): Promise<number> => {
    const out = (await ckpt(['logs', '-p', project])).stdout;
    return Math.max(0, ...[...out.matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));
  };
  await waitFor(async () => ((await lastTick('ticker')) >= 5 ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });

  const cp = await ckpt(['checkpoint', 'warm', '-p', 'ticker', '--json']);
  t.equal(cp.exitCode, 0, cp.stderr);
  const atDump = await lastTick('ticker');

  // --here: the restored program writes to our pipe (its fd 1 is ours), continuing its count,
  // while the original keeps running under the same pid (the copy has a fresh pid namespace).
  const here = spawn(bin, ['restore', 'warm', '--here'], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  here.stdout.on('data', (d: Buffer) => (out += d.toString()));
  here.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ended = new Promise<number | null>((resolve) => here.once('exit', (code) => resolve(code)));
  await waitFor(() => ((out.match(/tick \d+/g) ?? []).length >= 5 ? true : undefined), { timeoutMs: 30_000, intervalMs: 50 }).catch(() => undefined);
  const ticks = [...out.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
  t.ok(ticks.length >= 5, `the restored program writes to the restorer's stdout (${ticks.length} ticks; stderr: ${err.trim()})`);
  t.ok(ticks[0]! > 1 && ticks[0]! <= atDump + 2, `its count continues from the dump (first ${ticks[0]}, ${atDump} logged at the dump)`);
  t.ok(ticks.every((n, i) => i === 0 || n === ticks[i - 1]! + 1), 'one tick after another');
  t.equal((await ckpt(['ps', '-p', 'ticker', '--json'])).exitCode, 0, 'the original still runs');

  // Ctrl-C in that terminal: the process group gets SIGINT, the program ends by it, and
  // ckpt ends with the program's status.
  process.kill(-here.pid!, 'SIGINT');
  t.equal(await ended, 130, 'restore --here ends with the program (killed by SIGINT: 130)');

  const made = await Promise.all(clones.map((c) => ckpt(['clone', 'warm', '--as', c])));
  made.forEach((r, k) => t.equal(r.exitCode, 0, `clone ${clones[k]}: ${r.stderr}`));
  const pids = new Set<number>();
  for (const c of clones) {
    const ps = JSON.parse((await ckpt(['ps', '-p', c, '--json'])).stdout) as { state: string; pid: number }[];
    t.equal(ps[0]?.state, 'running', `${c} runs`);
    pids.add(ps[0]!.pid);
  }
  t.equal(pids.size, 8, 'eight copies, eight different pids outside');
  await waitFor(async () => ((await lastTick(clones[7]!)) > atDump ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
  t.ok((await lastTick(clones[7]!)) > atDump, 'a copy counts on from the dump into its own log');
});

t.test('a ckpt run program restored with fresh pids is checkpointed again, three generations on', { timeout: 300_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const env = userEnv({ CKPT_STATE_DIR: join(dir, 'state'), CKPT_STORE: join(dir, 'store') });
  const ckpt = (args: string[]) => execa(bin, args, { reject: false, env, extendEnv: false, cwd: dir, timeout: 120_000 });
  const projects = ['gen', 'gen1', 'gen2', 'gen3'];
  t.teardown(async () => {
    for (const p of projects) await ckpt(['down', '-p', p, '-t', '1']);
  });
  // $$ is bash's pid as bash sees it: inside a restore's pid namespace, the pid it had at the dump.
  const run = await ckpt(['run', '--name', 'gen', '-d', '--', 'bash', '-c', 'i=0; while :; do i=$((i+1)); echo "tick $i pid $$"; sleep 0.1; done']);
  t.equal(run.exitCode, 0, run.stderr);
  const last = async (project: string): Promise<{ tick: number; pid: number }> => {
    const m = [...(await ckpt(['logs', '-p', project])).stdout.matchAll(/tick (\d+) pid (\d+)/g)].at(-1);
    return { tick: Number(m?.[1] ?? 0), pid: Number(m?.[2] ?? 0) };
  };
  await waitFor(async () => ((await last('gen')).tick >= 3 ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
  const original = await last('gen');

  let from = 'gen';
  for (const [k, project] of ['gen1', 'gen2', 'gen3'].entries()) {
    const set = `g${k}`;
    const cp = await ckpt(['checkpoint', set, '-p', from]);
    t.equal(cp.exitCode, 0, `checkpoint of ${from}: ${cp.stderr}`);
    const atDump = (await last(from)).tick;
    if (from !== 'gen') await ckpt(['down', '-p', from, '-t', '1']);
    const cl = await ckpt(['clone', set, '--as', project]);
    t.equal(cl.exitCode, 0, `clone of ${set} as ${project}: ${cl.stderr}`);
    await waitFor(async () => ((await last(project)).tick > atDump ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 }).catch(() => undefined);
    const now = await last(project);
    t.ok(now.tick > atDump, `${project} counts on from ${set} (${atDump} at the dump, ${now.tick} now)`);
    t.equal(now.pid, original.pid, `${project} has the pid the program started with, inside its namespace`);
    from = project;
  }
  const image = await ckpt(['restore', 'g1', '--pid', 'image', '-p', 'gen9']);
  t.equal(image.exitCode, 64, 'a set taken under fresh pids cannot come back with --pid image');
  t.match(image.stderr, /ran with fresh pids.*restores only into a new one/);
});

t.test('x-ckpt.restore creds: inherit — a service dumped as nobody comes back with the restorer\'s creds', { timeout: 180_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  writeFileSync(
    join(dir, 'ckpt.yaml'),
    `name: who
services:
  who:
    user: nobody
    command: ["bash", "-c", "i=0; while :; do i=$$((i+1)); echo \\"uid $$(id -u) tick $$i\\"; sleep 0.2; done"]
    x-ckpt:
      restore:
        pid: fresh   # a no-op for a service: it is pid 1 of its own namespace already
`,
  );
  const env = userEnv({ CKPT_STATE_DIR: join(dir, 'state'), CKPT_STORE: join(dir, 'store') });
  const ckpt = (args: string[]) => execa(bin, args, { reject: false, env, extendEnv: false, cwd: dir, timeout: 120_000 });
  t.teardown(async () => {
    for (const p of ['who', 'who-root', 'who-image']) await ckpt(['down', '-p', p, '-t', '1']);
  });
  const uids = async (project: string): Promise<string[]> =>
    [...(await ckpt(['logs', '-p', project])).stdout.matchAll(/uid (\d+) tick/g)].map((m) => m[1]!);
  t.equal((await ckpt(['up', '-d'])).exitCode, 0);
  await waitFor(async () => ((await uids('who')).length >= 3 ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
  t.same([...new Set(await uids('who'))], ['65534'], 'runs as nobody');
  const cp = await ckpt(['checkpoint', 'nobody', '-p', 'who']);
  t.equal(cp.exitCode, 0, cp.stderr);

  const root = await ckpt(['clone', 'nobody', '--as', 'who-root', '--creds', 'inherit']);
  t.equal(root.exitCode, 0, root.stderr);
  const image = await ckpt(['clone', 'nobody', '--as', 'who-image']);
  t.equal(image.exitCode, 0, image.stderr);
  await waitFor(async () => ((await uids('who-root')).length >= 3 && (await uids('who-image')).length >= 3 ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
  t.same([...new Set(await uids('who-root'))], ['0'], '--creds inherit: the restorer\'s uid (root)');
  t.same([...new Set(await uids('who-image'))], ['65534'], 'default: the dumped uid');
});
