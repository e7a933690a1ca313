// Compose container options passed to the real dockerd (cap_add, sysctls, tmpfs, init, shm_size,
// limits, stop_signal, labels…): the container runs with them, and keeps them, with its memory,
// across a checkpoint, down and restore.
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { docker } from '../../src/runtime/docker/client.js';
import { runtimeFor } from '../../src/runtime/index.js';
import { requireIntegration, tempDir, writeManifest } from '../helpers/env.js';

const IMAGE = 'ckpt-devcontainer:1';
// CAP_NET_ADMIN is bit 12 of the capability sets
const NET_ADMIN = 1n << 12n;

t.test('container options: the container runs with them, and a restored one too', { timeout: 180_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true, docker: true })) return;
  const dir = tempDir(t);
  const name = `opts${process.pid}`;
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  t.teardown(async () => {
    if (core.readStack(ctx, name)) await core.down(ctx, name, { timeoutMs: 1000 });
  });
  const file = writeManifest(
    dir,
    `name: ${name}
services:
  app:
    image: ${IMAGE}
    command: ["node", "-e", "let n = 0; setInterval(() => require('fs').writeFileSync('/scratch/n', String(++n)), 50); process.on('SIGINT', () => process.exit(7))"]
    cap_add: [NET_ADMIN]
    sysctls:
      net.ipv4.ip_unprivileged_port_start: "1024"
    tmpfs: ["/scratch:size=1m"]
    shm_size: 8m
    mem_limit: 256m
    pids_limit: 64
    stop_signal: SIGINT
    domainname: example.test
    extra_hosts: ["db.example.test:10.9.8.7"]
    labels:
      com.example.team: payments
`,
  );
  const project = await core.loadProject({ file });
  const exec = async (argv: string[]) => (await runtimeFor('docker').exec(core.readStack(ctx, name)!.services['app']!, argv, 5000)).stdout.trim();
  const check = async (t: Test, when: string) => {
    const rec = core.readStack(ctx, name)!.services['app']!;
    const info = await docker().getContainer(rec.containerId!).inspect();
    t.same(info.HostConfig.CapAdd, ['NET_ADMIN'], `${when}: CapAdd`);
    t.same(info.HostConfig.Sysctls, { 'net.ipv4.ip_unprivileged_port_start': '1024' }, `${when}: Sysctls`);
    t.same(info.HostConfig.Tmpfs, { '/scratch': 'size=1m' }, `${when}: Tmpfs`);
    t.equal(info.HostConfig.ShmSize, 8 * 1024 ** 2, `${when}: ShmSize`);
    t.equal(info.HostConfig.Memory, 256 * 1024 ** 2, `${when}: Memory`);
    t.equal(info.HostConfig.PidsLimit, 64, `${when}: PidsLimit`);
    t.equal((info.Config as { StopSignal?: string }).StopSignal, 'SIGINT', `${when}: StopSignal`);
    t.equal(info.Config.Domainname, 'example.test', `${when}: Domainname`);
    t.equal(info.Config.Labels['com.example.team'], 'payments', `${when}: the user's label`);
    t.equal(info.Config.Labels['ckpt.project'], name, `${when}: and ckpt's own`);
    const capEff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(await exec(['cat', '/proc/1/status']))![1]}`);
    t.ok(capEff & NET_ADMIN, `${when}: the program (pid 1) has CAP_NET_ADMIN`);
    t.equal(await exec(['cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start']), '1024', `${when}: the sysctl is set inside`);
    t.match(await exec(['cat', '/etc/hosts']), /10\.9\.8\.7\s+db\.example\.test/, `${when}: extra_hosts`);
    t.match(await exec(['sh', '-c', 'grep " /scratch " /proc/mounts']), /tmpfs \/scratch tmpfs .*size=1024k/, `${when}: /scratch is a tmpfs`);
  };

  await core.up(ctx, project);
  await new Promise((r) => setTimeout(r, 500));
  await check(t, 'started');
  const before = Number(await exec(['cat', '/scratch/n']));
  t.ok(before > 0, 'the program writes into its tmpfs');

  await core.checkpoint(ctx, name, 'opts', { storeRoot, stop: true });
  await core.restore(ctx, 'opts', { storeRoot });
  await new Promise((r) => setTimeout(r, 300));
  await check(t, 'restored');
  const after = Number(await exec(['cat', '/scratch/n']));
  t.ok(after >= before, `the counter went on from where the set left it (${before} → ${after}): the tmpfs and the memory came back`);

  // init: true runs (docker-init at pid 1), and checkpoint refuses it up front
  const withInit = { ...project, name: `${name}i`, services: project.services.map((s) => ({ ...s, container: { ...s.container, init: true } })) };
  t.teardown(async () => {
    if (core.readStack(ctx, withInit.name)) await core.down(ctx, withInit.name, { timeoutMs: 1000 });
  });
  await core.up(ctx, withInit);
  const initRec = core.readStack(ctx, withInit.name)!.services['app']!;
  t.match((await runtimeFor('docker').exec(initRec, ['cat', '/proc/1/cmdline'], 5000)).stdout, /docker-init/, 'init: true puts docker-init at pid 1');
  await t.rejects(core.checkpoint(ctx, withInit.name, 'withinit', { storeRoot }), { code: 'CHECKPOINT_FAILED', message: /runs with init: true \(docker-init\), whose container runc cannot restore/ });
  t.equal(runtimeFor('docker').status(core.readStack(ctx, withInit.name)!.services['app']!).state, 'running', 'and the container runs on, not frozen');
  await core.down(ctx, withInit.name, { timeoutMs: 1000 });

  // stop_signal: down sends SIGINT, which the program answers by exiting 7 at once
  const rec = core.readStack(ctx, name)!.services['app']!;
  const t0 = Date.now();
  await core.down(ctx, name, { timeoutMs: 20_000 });
  t.ok(Date.now() - t0 < 10_000, `down took ${Date.now() - t0} ms: the program stopped on SIGINT, without waiting for the grace period`);
  t.equal((await docker().listContainers({ all: true, filters: { id: [rec.containerId!] } })).length, 0, 'and the container is gone');
});

t.test('secrets and configs: file, environment and inline sources, mounted read-only, again after a restore', { timeout: 180_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true, docker: true })) return;
  const dir = tempDir(t);
  const name = `sec${process.pid}`;
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  t.teardown(async () => {
    if (core.readStack(ctx, name)) await core.down(ctx, name, { timeoutMs: 1000 });
    delete process.env.CKPT_TEST_TOKEN;
  });
  writeFileSync(join(dir, 'db_password.txt'), 'hunter2\n');
  process.env.CKPT_TEST_TOKEN = 'from-the-environment';
  const file = writeManifest(
    dir,
    `name: ${name}
services:
  app:
    image: ${IMAGE}
    command: ["sleep", "600"]
    secrets:
      - db_password
      - source: token
        target: api-token
        uid: "1000"
        gid: "1000"
        mode: 0400
    configs:
      - source: settings
        target: /etc/app/settings.ini
secrets:
  db_password:
    file: ./db_password.txt
  token:
    environment: CKPT_TEST_TOKEN
configs:
  settings:
    content: |
      [app]
      debug = true
`,
  );
  const { project, warnings } = await core.loadProjectWithWarnings({ file });
  t.same(warnings, [], 'secrets and configs are honoured for a container: no warning');
  const exec = async (argv: string[]) => (await runtimeFor('docker').exec(core.readStack(ctx, name)!.services['app']!, argv, 5000)).stdout.trim();
  const check = async (when: string) => {
    t.equal(await exec(['cat', '/run/secrets/db_password']), 'hunter2', `${when}: a file secret at /run/secrets/<name>`);
    t.equal(await exec(['cat', '/run/secrets/api-token']), 'from-the-environment', `${when}: an environment secret at its target`);
    t.match(await exec(['stat', '-c', '%u:%g %a', '/run/secrets/api-token']), /^1000:1000 400$/, `${when}: with its owner and mode`);
    t.match(await exec(['cat', '/etc/app/settings.ini']), /\[app\]\ndebug = true/, `${when}: an inline config at its target`);
    t.not((await runtimeFor('docker').exec(core.readStack(ctx, name)!.services['app']!, ['sh', '-c', 'echo x > /run/secrets/db_password'], 5000)).exitCode, 0, `${when}: read-only`);
  };
  await core.up(ctx, project);
  await check('started');
  t.notMatch(JSON.stringify(core.readStack(ctx, name)!.spec), /from-the-environment|hunter2/, 'no secret value is in the stack\'s state');
  await core.checkpoint(ctx, name, 'sec', { storeRoot, stop: true });
  t.notMatch(readFileSync(join(core.getSet(storeRoot, 'sec').dir, 'set.json'), 'utf8'), /from-the-environment|hunter2/, 'nor in the set');
  await core.restore(ctx, 'sec', { storeRoot });
  await check('restored');
});
