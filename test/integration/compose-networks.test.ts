// Process services on compose networks (x-ckpt.network: compose): each in a namespace of its
// own, found by name and alias, two of them on one port, published from the hub; the pooled
// connection between a client and its server survives checkpoint → down → restore, and a clone
// beside the original has the same names and addresses inside and streams on its own.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { packageRoot } from '../../src/paths.js';
import { requireIntegration, tempDir, writeManifest, freePort } from '../helpers/env.js';
import { alive, ckptCli, hostPort, poll, stackTracker } from '../fixtures/stack-util.js';
import { streamState, streamedOn } from '../fixtures/tcp-stream/state.js';

const fixture = (f: string): string => join(packageRoot, 'test/fixtures/tcp-stream', f);

/** argv in a service's mount and network namespaces */
function inService(ctx: core.CoreContext, project: string, service: string, argv: string[]): { exitCode: number | null; stdout: string } {
  const pid = core.readStack(ctx, project)!.services[service]!.initPid!;
  const r = spawnSync('nsenter', ['-t', String(pid), '-m', '-n', '--', ...argv], { encoding: 'utf8', timeout: 5000 });
  return { exitCode: r.status, stdout: r.stdout };
}

t.test('compose networks for process services: names, one port twice, connections across restore and clone', { timeout: 240_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const [serverHttp, replicaHttp, clientHttp] = [await freePort(), await freePort(), await freePort()];
  const file = writeManifest(
    dir,
    `
name: pnet
networks:
  back:
    ipam:
      config:
        - subnet: 10.77.0.0/24
  front: {}
services:
  server:
    command: ["node", "${fixture('server.mjs')}", "5000", "8080"]
    environment: { LISTEN_HOST: 0.0.0.0 }
    networks:
      back:
        aliases: [db]
        ipv4_address: 10.77.0.10
    ports: ["127.0.0.1:${serverHttp}:8080"]
    healthcheck:
      test: curl -fsS http://127.0.0.1:8080/health
      interval: 200ms
      retries: 50
  replica:
    command: ["node", "${fixture('server.mjs')}", "5000", "8080"]
    environment: { LISTEN_HOST: 0.0.0.0 }
    networks: [front]
    ports: ["127.0.0.1:${replicaHttp}:8080"]
  client:
    command: ["node", "${fixture('client.mjs')}", "5000", "8081"]
    environment: { SERVER_HOST: db, LISTEN_HOST: 0.0.0.0 }
    networks: [back, front]
    ports: ["127.0.0.1:${clientHttp}:8081"]
    depends_on:
      server:
        condition: service_healthy
`,
  );
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  const { seen, track } = stackTracker(ctx, 'pnet');
  t.teardown(async () => {
    for (const p of ['pnet', 'pnet2']) if (core.readStack(ctx, p)) await core.down(ctx, p, { timeoutMs: 1000 });
    for (const p of alive(seen)) process.kill(p, 'SIGKILL');
  });

  const project = await core.loadProject({ file });
  t.same(Object.fromEntries(project.services.map((s) => [s.name, s.xCkpt.network])), { replica: 'compose', server: 'compose', client: 'compose' });
  await core.up(ctx, project, { wait: true });
  track();
  const server = (port = serverHttp) => streamState(port);
  const client = (port = clientHttp) => streamState(port);
  t.ok(await streamedOn(serverHttp, 3000, 10_000), 'the client reached the server by its alias `db` and streams');
  const replica = await streamState(replicaHttp);
  t.equal(replica.accepted, 0, 'a second service listens on the same port 5000, in its own namespace');

  const hosts = inService(ctx, 'pnet', 'client', ['cat', '/etc/hosts']);
  t.match(hosts.stdout, /10\.77\.0\.10\tserver db/, 'the client finds server and its alias on `back`, at its fixed address');
  t.match(hosts.stdout, /\treplica\n/, 'and replica on `front`');
  const replicaHosts = inService(ctx, 'pnet', 'replica', ['cat', '/etc/hosts']);
  t.notMatch(replicaHosts.stdout, /server/, 'replica does not share a network with server: it does not see it');
  const ping = inService(ctx, 'pnet', 'replica', ['curl', '-sS', '-m', '2', 'http://10.77.0.10:8080/health']);
  t.not(ping.exitCode, 0, 'and cannot reach it by address either (the hub does not route between networks)');

  // ckpt killed mid-cut: its guard thaws the stack and lets the hub's bridges go again
  const killed = await ckptCli(['checkpoint', 'bad', '-p', 'pnet', '--store', storeRoot], { CKPT_STATE_DIR: ctx.stateRoot, CKPT_FAULT: 'dump' });
  t.equal(killed.signal, 'SIGKILL', 'ckpt died mid-cut');
  const hub = core.readStack(ctx, 'pnet')!.network!.pid;
  const hubTables = (): string => spawnSync('nsenter', [`--net=/proc/${hub}/ns/net`, 'nft', 'list', 'tables'], { encoding: 'utf8' }).stdout;
  t.ok(await poll(() => !hubTables().includes('ckpt_hold'), 30_000), `the guard removed the hold from the hub (${hubTables().trim() || 'no tables'})`);
  t.ok(await streamedOn(serverHttp), 'and the stream flows again');

  const c0 = await client();
  await core.checkpoint(ctx, 'pnet', 'streaming', { storeRoot });
  t.ok(await streamedOn(serverHttp, 3000, 10_000), 'the stream goes on after the checkpoint');
  t.equal((await server()).error, null, 'no gap or repetition across the dump');

  track();
  await core.down(ctx, 'pnet', { timeoutMs: 2000 });
  t.same(alive(seen), [], 'down left nothing running, namespace holders included');

  await core.restore(ctx, 'streaming', { storeRoot });
  track();
  const c2 = await client();
  t.equal(c2.localPort, c0.localPort, 'the client has the same connection after the restore');
  const s2 = await server();
  const moved = await streamedOn(serverHttp);
  const s3 = await server();
  t.ok(moved, `the stream continues on it (last ${s2.last} → ${s3.last})`);
  t.equal(s3.error, null, 'the server never saw a gap or a repetition');
  t.equal(s3.accepted, 1, 'and accepted no new connection');

  const clone = await core.restore(ctx, 'streaming', { storeRoot, as: 'pnet2' });
  track();
  t.equal(clone.project, 'pnet2');
  const rows = await core.ps(ctx, 'pnet2');
  const [cs, cc] = [hostPort(rows, 'server'), hostPort(rows, 'client')];
  t.not(cs, serverHttp, 'the clone publishes on ports of its own');
  const cloneHosts = inService(ctx, 'pnet2', 'client', ['cat', '/etc/hosts']);
  t.equal(cloneHosts.stdout, hosts.stdout, 'the clone sees the same names and addresses inside');
  t.ok(await streamedOn(cs), "the clone's server keeps receiving on its restored connection");
  t.equal((await server(cs)).error, null, 'without gap or repetition');
  t.equal((await client(cc)).localPort, c0.localPort, "the clone's client has the set's connection");
  t.ok(await streamedOn(serverHttp, 3000, 10_000), 'the original streams on beside it');
  t.equal((await server()).accepted, 1, 'and got no connection from the clone');

  track();
  await core.down(ctx, 'pnet2', { timeoutMs: 2000 });
  await core.down(ctx, 'pnet', { timeoutMs: 2000 });
  t.same(alive(seen), [], 'nothing left running');
});

t.test('an up that adds a service keeps the others, which learn its name', { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const svc = (name: string, nets = '[n]'): string => `  ${name}:\n    command: ["node", "${fixture('server.mjs')}", "5000", "8080"]\n    environment: { LISTEN_HOST: 0.0.0.0 }\n    networks: ${nets}\n`;
  const manifest = (names: string[], zedNets?: string): string =>
    `name: pgrow\nnetworks:\n  n: {}\n  m: {}\nservices:\n${names.map((n) => svc(n, n === 'zed' ? zedNets : undefined)).join('')}`;
  t.teardown(async () => {
    if (core.readStack(ctx, 'pgrow')) await core.down(ctx, 'pgrow', { timeoutMs: 1000 });
  });
  const file = writeManifest(dir, manifest(['web', 'zed']));
  await core.up(ctx, await core.loadProject({ file }));
  const before = core.readStack(ctx, 'pgrow')!.services;
  writeManifest(dir, manifest(['alpha', 'web', 'zed']));
  const project = await core.loadProject({ file });
  t.same(core.planUp(project, before).map((s) => [s.service, s.action]), [['alpha', 'start'], ['web', 'keep'], ['zed', 'keep']], 'the others are kept');
  await core.up(ctx, project);
  const after = core.readStack(ctx, 'pgrow')!.services;
  t.equal(after.web!.initPid, before.web!.initPid, 'web runs on, not recreated');
  const reach = await poll(() => inService(ctx, 'pgrow', 'alpha', ['curl', '-fsS', '-m', '2', 'http://web:8080/health']).exitCode === 0, 10_000);
  t.ok(reach, 'the new service reaches a kept one by name');
  t.match(inService(ctx, 'pgrow', 'web', ['cat', '/etc/hosts']).stdout, /\talpha\n/, 'and the kept one finds the new one in its /etc/hosts');
  t.ok(await poll(() => inService(ctx, 'pgrow', 'web', ['curl', '-fsS', '-m', '2', 'http://alpha:8080/health']).exitCode === 0, 10_000), 'and reaches it');
  // a network added to the manifest gets its bridge in the running hub
  writeManifest(dir, manifest(['alpha', 'web', 'zed'], '[n, m]'));
  const grown = await core.loadProject({ file });
  t.same(grown.services.find((s) => s.name === 'zed')!.networks!.map((a) => a.network), ['n', 'm']);
  await core.up(ctx, grown);
  t.ok(await poll(() => inService(ctx, 'pgrow', 'zed', ['curl', '-fsS', '-m', '2', 'http://web:8080/health']).exitCode === 0, 10_000), 'zed, recreated on two networks, reaches web');
  t.match(inService(ctx, 'pgrow', 'zed', ['ip', '-o', '-4', 'addr']).stdout, /eth1/, 'through a second interface');
});
