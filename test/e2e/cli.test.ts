// bin/ckpt as a user runs it: separate processes, exit codes, what is printed.
import t from 'tap';
import { execa } from 'execa';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { requireIntegration, tempDir, freePort, writeManifest } from '../helpers/env.js';
import { isAlive } from '../../src/util/proc.js';
import { userEnv } from '../helpers/env.js';

const bin = join(packageRoot, 'bin/ckpt.js');

function ckpt(args: string[], env: Record<string, string> = {}, cwd = packageRoot) {
  return execa(bin, args, { reject: false, cwd, env: userEnv(env), extendEnv: false, timeout: 120_000 });
}

t.test('usage errors exit 64', async (t) => {
  const r = await ckpt(['frobnicate']);
  t.equal(r.exitCode, 64);
  t.match(r.stderr, /unknown command 'frobnicate'/);
  const r2 = await ckpt(['logs', '--tail', 'many', '-p', 'x']);
  t.equal(r2.exitCode, 64);
  t.match(r2.stderr, /--tail must be a whole number/);
});

t.test('--help and --version exit 0', async (t) => {
  const h = await ckpt(['--help']);
  t.equal(h.exitCode, 0);
  for (const cmd of ['up', 'down', 'ps', 'logs', 'config', 'doctor']) t.match(h.stdout, new RegExp(`\\b${cmd}\\b`));
  t.equal((await ckpt(['--version'])).exitCode, 0);
});

t.test('config prints the normalized demo manifest', async (t) => {
  const r = await ckpt(['config', 'manifests/demo.yaml']);
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /name: demo/);
  t.match(r.stdout, /gateway:/);
  const j = await ckpt(['config', '--json', '-f', 'manifests/demo.yaml'], { DEMO_INDEX_PORT: '9999' });
  t.equal(j.exitCode, 0);
  const project = JSON.parse(j.stdout);
  t.equal(project.name, 'demo');
  t.same(project.services.map((s: { name: string }) => s.name), ['index', 'gateway'], 'dependency order');
  t.equal(project.services[0].ports[0].published, 9999, 'interpolated from the environment');
});

t.test('every invalid fixture: exit 65, a located message, no stack trace', async (t) => {
  const dir = join(packageRoot, 'test/fixtures/manifests/invalid');
  const files = readdirSync(dir).filter((f) => /\.(ya?ml|bin|txt)$/.test(f) && !f.endsWith('.expected.txt'));
  t.ok(files.length >= 30, `${files.length} invalid manifests`);
  for (const f of files) {
    const r = await ckpt(['config', '-f', join(dir, f)]);
    t.equal(r.exitCode, 65, `${f}: exit 65`);
    t.match(r.stderr, new RegExp(f.replace(/\./g, '\\.')), `${f}: names the file`);
    t.notMatch(r.stderr, /\n\s+at .+:\d+:\d+\)?\n/, `${f}: no stack trace`);
  }
});

t.test('a missing manifest exits 65 with the names tried', async (t) => {
  const dir = tempDir(t);
  const r = await ckpt(['config'], {}, dir);
  t.equal(r.exitCode, 65);
  t.match(r.stderr, /compose\.yaml/);
});

t.test('--json errors are JSON on stderr', async (t) => {
  const dir = tempDir(t);
  const r = await ckpt(['ps', '--json', '-p', 'nothing-here'], { CKPT_STATE_DIR: join(dir, 'state') });
  t.equal(r.exitCode, 71);
  const err = JSON.parse(r.stderr).error;
  t.equal(err.code, 'STACK_NOT_RUNNING');
  t.match(err.hint, /ckpt/);
});

t.test('doctor is green on this machine', async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const r = await ckpt(['doctor', '--json', '--store', join(dir, 'store')], { CKPT_STATE_DIR: join(dir, 'state') });
  const report = JSON.parse(r.stdout);
  const failing = report.checks.filter((c: { ok: boolean; optional?: boolean }) => !c.ok && !c.optional);
  t.same(failing, [], 'no failing check');
  t.equal(r.exitCode, 0);
  const names = report.checks.map((c: { name: string }) => c.name);
  t.same(names.slice(0, 6), ['root', 'kernel', 'criu', 'criu build', 'criu options', 'criu check']);
  t.same(names.slice(-6), ['shim', 'state dir', 'store', 'volumes', 'dockerd', 'docker volumes']);
  const vols = report.checks.find((c: { name: string }) => c.name === 'volumes');
  t.match(vols, { optional: true, detail: /→ store \(\w+\): (btrfs-snapshot|reflink|copy), / }, 'doctor says how volumes are captured into the store');
  const kernel = report.checks.filter((c: { group?: string }) => c.group === 'kernel');
  t.same(
    kernel.map((c: { name: string }) => c.name),
    names.slice(6, -6),
    'the kernel features come after criu check',
  );
  for (const want of ['namespaces', 'freezer', 'clone3_set_tid', 'kcmp_epoll', 'external_net_ns', 'nftables', 'seccomp_suspend', 'overlay', 'mem_dirty_track', 'autofs']) {
    t.ok(names.includes(want), `${want} is checked`);
  }
  for (const c of kernel) t.ok(c.detail.length > 10, `${c.name} says what it is for or what fails without it`);
});

t.test('doctor: a missing kernel feature ckpt needs fails and names it; one it does not need warns', async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  // the real CRIU, but for two features this kernel is made to lack
  const criu = join(dir, 'criu');
  writeFileSync(
    criu,
    [
      '#!/bin/sh',
      'if [ "$1" = check ] && [ "$2" = --feature ] && [ "$3" = clone3_set_tid ]; then echo "Error (criu/cr-check.c:1): clone3() with set_tid not supported" >&2; exit 1; fi',
      'if [ "$1" = check ] && [ "$2" = --feature ] && [ "$3" = tun ]; then echo "Error (criu/cr-check.c:1): tun is not supported" >&2; exit 1; fi',
      'exec /usr/local/sbin/criu "$@"',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const env = { CKPT_STATE_DIR: join(dir, 'state'), CKPT_CRIU: criu };
  const r = await ckpt(['doctor', '--store', join(dir, 'store')], env);
  t.equal(r.exitCode, 69, 'not ready: exit 69');
  t.match(r.stdout, /FAIL\s+clone3_set_tid\s+missing, needed for restoring tasks with the pids they were dumped with \(Error \(criu\/cr-check\.c:1\): clone3\(\) with set_tid not supported\)/);
  t.match(r.stdout, /fix: a kernel with this feature; details: \S+criu check --feature clone3_set_tid -v4/);
  t.match(r.stdout, /warn\s+tun\s+missing: a service holding a tun\/tap device cannot be checkpointed/);
  t.match(r.stdout, /not ready: fix the FAIL lines above/);
  const j = JSON.parse((await ckpt(['doctor', '--json', '--store', join(dir, 'store')], env)).stdout);
  const by = (n: string) => j.checks.find((c: { name: string }) => c.name === n);
  t.match(by('clone3_set_tid'), { ok: false, group: 'kernel', need: 'required' });
  t.match(by('tun'), { ok: false, optional: true, need: 'optional' });
  t.equal(j.ok, false);
});

t.test('up -d, then ps, logs and down from other processes', { timeout: 180_000 }, async (t) => {
  if (!requireIntegration(t)) return;
  const dir = tempDir(t);
  const env = {
    CKPT_STATE_DIR: join(dir, 'state'),
    DEMO_INDEX_PORT: String(await freePort()),
    DEMO_GATEWAY_PORT: String(await freePort()),
    DEMO_DOCS: '200000',
  };
  t.teardown(() => ckpt(['down', '-p', 'e2edemo', '-t', '1'], env));
  const up = await ckpt(['up', '-d', '--wait', '-p', 'e2edemo', 'manifests/demo.yaml'], env);
  t.equal(up.exitCode, 0, up.stderr);
  t.match(up.stdout, /e2edemo-index\s+Healthy/);
  t.match(up.stdout, /e2edemo-gateway\s+Started[\s\S]*e2edemo-gateway\s+Healthy/);

  const ps = await ckpt(['ps', '--json', '-p', 'e2edemo'], env);
  t.equal(ps.exitCode, 0, ps.stderr);
  const rows = JSON.parse(ps.stdout);
  t.same(rows.map((r: { service: string; state: string; health: string }) => [r.service, r.state, r.health]), [
    ['index', 'running', 'healthy'],
    ['gateway', 'running', 'healthy'],
  ]);
  const psText = await ckpt(['ps', '-f', 'manifests/demo.yaml', '-p', 'e2edemo'], env);
  t.match(psText.stdout, /^SERVICE\s+RUNTIME\s+STATE\s+HEALTH/);

  const logs = await ckpt(['logs', '-p', 'e2edemo', 'index'], env);
  t.equal(logs.exitCode, 0);
  t.match(logs.stdout, /^index\s+\| index ready: 200000 docs/m);
  t.notMatch(logs.stdout, /gateway \|/);

  const ls = await ckpt(['ls', '--json'], env);
  t.same(JSON.parse(ls.stdout).map((s: { name: string }) => s.name), ['e2edemo']);

  const pids = rows.map((r: { pid: number }) => r.pid);
  const down = await ckpt(['down', '-p', 'e2edemo'], env);
  t.equal(down.exitCode, 0, down.stderr);
  t.match(down.stdout, /e2edemo-gateway\s+Stopped[\s\S]*e2edemo-index\s+Stopped/, 'reverse order');
  t.same(pids.filter((p: number) => isAlive(p)), [], 'nothing left running');
  t.equal((await ckpt(['ps', '-p', 'e2edemo'], env)).exitCode, 71);
});

t.test('foreground up follows logs and Ctrl-C stops the stack', { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t)) return;
  const dir = tempDir(t);
  const file = writeManifest(dir, `name: fg\nservices:\n  ticker:\n    command: ["sh", "-c", "while :; do echo tick; sleep 0.2; done"]\n`);
  const env = { CKPT_STATE_DIR: join(dir, 'state') };
  const child = execa(bin, ['up', file], { reject: false, env: userEnv(env), extendEnv: false, all: true });
  let out = '';
  child.all!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 15_000;
  while (!/ticker \| tick\n.*ticker \| tick/s.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.match(out, /ticker \| tick/, 'follows the service output');
  child.kill('SIGINT');
  const r = await child;
  t.equal(r.exitCode, 130, 'interrupted');
  t.match(out, /Gracefully stopping/);
  t.match(out, /fg-ticker\s+Stopped/);
  t.equal((await ckpt(['ps', '-p', 'fg'], env)).exitCode, 71, 'the stack is gone');
});
