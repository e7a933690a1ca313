// Compose networks against the real dockerd: containers reach each other by service name and by
// alias on the project's networks; a restore comes back on networks of its own name, a clone on
// networks of its own (isolated, same names inside); down removes them; an external network is
// joined, never removed; a network of the same name made by someone else is refused.
import t from 'tap';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { docker } from '../../src/runtime/docker/client.js';
import { freePort, requireIntegration, tempDir, writeManifest } from '../helpers/env.js';
import { ckptCli, httpAnswer } from '../fixtures/stack-util.js';

const IMAGE = 'ckpt-devcontainer:1';

const networksOf = async (prefix: string): Promise<string[]> =>
  (await docker().listNetworks()).map((n) => n.Name).filter((n) => n.startsWith(prefix)).sort();

t.test('services reach each other by name and alias; restore and clone keep the names', { timeout: 240_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true, docker: true })) return;
  const dir = tempDir(t);
  const name = `net${process.pid}`;
  const external = `${name}-ext`;
  const env = { CKPT_STATE_DIR: join(dir, 'state'), CKPT_STORE: join(dir, 'store') };
  const ctx: core.CoreContext = { stateRoot: env.CKPT_STATE_DIR, events: () => {} };
  t.teardown(async () => {
    for (const p of [name, `${name}copy`]) await ckptCli(['down', '-p', p, '-t', '1'], env);
    await docker().getNetwork(external).remove().catch(() => {});
  });
  await docker().createNetwork({ Name: external });
  const port = await freePort();
  const file = writeManifest(
    dir,
    `name: ${name}
services:
  db:
    image: ${IMAGE}
    command: ["node", "-e", "let n = 0; require('http').createServer((q, s) => s.end('db ' + (++n))).listen(5432)"]
    networks:
      back:
        aliases: [database]
    x-ckpt: {checkpoint: {tcp: close}}
  web:
    image: ${IMAGE}
    command: ["node", "-e", "const get = (h) => new Promise((ok) => require('http').get('http://' + h + ':5432/', { agent: false }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => ok(b)); }).on('error', (e) => ok('error ' + e.code))); require('http').createServer(async (q, s) => s.end((await get('database')) + ' | ' + (await get('db')))).listen(3000)"]
    networks: [back, front, outside]
    ports: ["127.0.0.1:${port}:3000"]
    x-ckpt: {checkpoint: {tcp: close}}
networks:
  back: {}
  front: {internal: true}
  outside:
    external: true
    name: ${external}
`,
  );
  const up = await ckptCli(['up', '-d', '-f', file], env);
  t.equal(up.exitCode, 0, up.stderr);
  t.notMatch(up.stderr + up.stdout, /WARN.*networks/, 'networks are honoured for containers: no warning');
  t.equal(await httpAnswer(port), 'db 1 | db 2', 'web reaches db by its alias and by its service name');
  t.same(await networksOf(name), [`${name}-ext`, `${name}_back`, `${name}_front`], 'the project\'s networks, and the external one');
  const front = await docker().getNetwork(`${name}_front`).inspect();
  t.equal(front.Internal, true, 'internal: true');
  const webId = core.readStack(ctx, name)!.services['web']!.containerId!;
  t.same(Object.keys((await docker().getContainer(webId).inspect()).NetworkSettings.Networks).sort(), [`${name}-ext`, `${name}_back`, `${name}_front`], 'web joined all three');

  t.equal((await ckptCli(['checkpoint', 'warm', '-f', file], env)).exitCode, 0);
  const down = await ckptCli(['down', '-f', file, '-t', '1'], env);
  t.equal(down.exitCode, 0, down.stderr);
  t.match(down.stdout, new RegExp(`network ${name}_back removed`));
  t.same(await networksOf(name), [external], 'down removes the project\'s networks, not the external one');

  const rs = await ckptCli(['restore', 'warm'], env);
  t.equal(rs.exitCode, 0, rs.stderr);
  t.equal(await httpAnswer(port), 'db 3 | db 4', 'restored: names resolve again, and db\'s counter went on from the set');

  const cl = await ckptCli(['clone', 'warm', '--as', `${name}copy`], env);
  t.equal(cl.exitCode, 0, cl.stderr);
  t.ok((await networksOf(`${name}copy_`)).includes(`${name}copy_back`), 'the clone has networks of its own');
  const row = (await core.ps(ctx, `${name}copy`)).find((r) => r.service === 'web')!;
  const copyPort = Number(/:(\d+)->/.exec(row.ports[0]!)![1]);
  t.equal(await httpAnswer(copyPort), 'db 3 | db 4', 'the clone\'s web reaches the clone\'s db, by the same names');
  t.equal(await httpAnswer(port), 'db 5 | db 6', 'and the original its own');
  const copyDb = core.readStack(ctx, `${name}copy`)!.services['db']!.containerId!;
  const nets = (await docker().getContainer(copyDb).inspect()).NetworkSettings.Networks;
  t.same(Object.keys(nets), [`${name}copy_back`], 'the clone\'s db is on the clone\'s network only');
});

t.test('networks: an undeclared one is an error; one of the same name made by someone else is refused', { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t, { docker: true })) return;
  const dir = tempDir(t);
  const name = `netx${process.pid}`;
  const env = { CKPT_STATE_DIR: join(dir, 'state') };
  t.teardown(async () => {
    await ckptCli(['down', '-p', name, '-t', '1'], env);
    await docker().getNetwork(`${name}_default`).remove().catch(() => {});
  });
  const bad = await ckptCli(['config', '-f', writeManifest(dir, `name: ${name}\nservices:\n  a:\n    image: ${IMAGE}\n    networks: [nope]\n`, 'bad.yaml')], env);
  t.equal(bad.exitCode, 65);
  t.match(bad.stderr, /services\.a\.networks\[0\]: names network `nope`, which the top-level `networks:` does not declare/);
  await docker().createNetwork({ Name: `${name}_default` });
  const up = await ckptCli(['up', '-d', '-f', writeManifest(dir, `name: ${name}\nservices:\n  a:\n    image: ${IMAGE}\n    command: ["sleep", "60"]\n`, 'ok.yaml')], env);
  t.equal(up.exitCode, 71);
  t.match(up.stderr, new RegExp(`a Docker network named ${name}_default exists and was not made by this ckpt`));
});

t.test('network_mode: host and service:x run as in compose, and checkpoint refuses them with the reason; none checkpoints', { timeout: 180_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true, docker: true })) return;
  const dir = tempDir(t);
  const name = `netm${process.pid}`;
  const env = { CKPT_STATE_DIR: join(dir, 'state'), CKPT_STORE: join(dir, 'store') };
  const ctx: core.CoreContext = { stateRoot: env.CKPT_STATE_DIR, events: () => {} };
  t.teardown(async () => void (await ckptCli(['down', '-p', name, '-t', '1'], env)));
  const port = await freePort();
  const file = writeManifest(
    dir,
    `name: ${name}
services:
  api:
    image: ${IMAGE}
    command: ["node", "-e", "require('http').createServer((q, s) => s.end('api')).listen(${port}, '127.0.0.1')"]
    network_mode: host
  side:
    image: ${IMAGE}
    command: ["node", "-e", "require('http').createServer((q, s) => s.end('side')).listen(7000, '127.0.0.1')"]
  sidecar:
    image: ${IMAGE}
    command: ["sleep", "600"]
    network_mode: service:side
  alone:
    image: ${IMAGE}
    command: ["sleep", "600"]
    network_mode: none
`,
  );
  const up = await ckptCli(['up', '-d', '-f', file], env);
  t.equal(up.exitCode, 0, up.stderr);
  t.match(up.stderr + up.stdout, /services\.api\.network_mode: the container runs in the host's network namespace, and `ckpt checkpoint` refuses it/);
  t.equal(await httpAnswer(port), 'api', 'host: the container listens on the host\'s loopback');
  const stack = core.readStack(ctx, name)!;
  const { runtimeFor } = await import('../../src/runtime/index.js');
  const viaSide = await runtimeFor('docker').exec(stack.services['sidecar']!, ['wget', '-qO-', 'http://127.0.0.1:7000/'], 5000);
  t.equal(viaSide.stdout, 'side', 'service:side: the sidecar shares side\'s loopback');
  const ifaces = await runtimeFor('docker').exec(stack.services['alone']!, ['cat', '/proc/net/dev'], 5000);
  t.notMatch(ifaces.stdout, /eth0/, 'none: no interface but loopback');

  const refused = await ckptCli(['checkpoint', 'x', '-p', name, 'api'], env);
  t.equal(refused.exitCode, 72);
  t.match(refused.stderr, /service api runs with network_mode: host: its sockets live in the host's network namespace/);
  const refused2 = await ckptCli(['checkpoint', 'x', '-p', name, 'sidecar'], env);
  t.match(refused2.stderr, /service sidecar runs with network_mode: service:side: its sockets live in another container's network namespace/);
  const ok = await ckptCli(['checkpoint', 'alone', '-p', name, 'alone'], env);
  t.equal(ok.exitCode, 0, `network_mode: none checkpoints: ${ok.stderr}`);
});
