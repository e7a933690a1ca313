// A process service and a container on one compose network (the process service in a network
// holder's namespace, runtime/docker/net-holder.ts): each finds the other by name, the
// container's pooled connection to the process service survives checkpoint → down → restore,
// and a clone beside the original keeps its own.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { packageRoot } from '../../src/paths.js';
import { docker } from '../../src/runtime/docker/client.js';
import { requireIntegration, tempDir, writeManifest, freePort } from '../helpers/env.js';
import { hostPort, poll } from '../fixtures/stack-util.js';
import { streamState, streamedOn } from '../fixtures/tcp-stream/state.js';

const IMAGE = 'ckpt-devcontainer:1';

t.test('a process service and a container on one network: names both ways, connections across restore and clone', { timeout: 300_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true, docker: true })) return;
  const dir = tempDir(t);
  const fx = join(packageRoot, 'test/fixtures/tcp-stream');
  const [dbHttp, appHttp] = [await freePort(), await freePort()];
  const file = writeManifest(
    dir,
    `
name: pmix
networks:
  back: {}
  jobs: {}
services:
  worker:
    command: ["node", "${fx}/server.mjs", "7000", "8090"]
    environment: { LISTEN_HOST: 0.0.0.0 }
    networks: [jobs]
  db:
    command: ["node", "${fx}/server.mjs", "5432", "8080"]
    environment: { LISTEN_HOST: 0.0.0.0 }
    networks:
      back:
        aliases: [database]
      jobs: {}
    ports: ["127.0.0.1:${dbHttp}:8080"]
    healthcheck:
      test: curl -fsS http://127.0.0.1:8080/health
      interval: 200ms
      retries: 50
  app:
    image: ${IMAGE}
    command: ["node", "/fx/client.mjs", "5432", "8081"]
    environment: { SERVER_HOST: database, LISTEN_HOST: 0.0.0.0 }
    volumes: ["${fx}:/fx:ro"]
    networks: [back]
    ports: ["127.0.0.1:${appHttp}:8081"]
    depends_on:
      db:
        condition: service_healthy
`,
  );
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  t.teardown(async () => {
    for (const p of ['pmix', 'pmix2']) if (core.readStack(ctx, p)) await core.down(ctx, p, { timeoutMs: 1000 });
  });
  const server = (port = dbHttp) => streamState(port);
  const client = (port = appHttp) => streamState(port);
  const streams = async (port: number, what: string): Promise<void> => {
    const s0 = await server(port);
    const moved = await streamedOn(port);
    const s1 = await server(port);
    t.ok(moved, `${what} (last ${s0.last} → ${s1.last})`);
    t.equal(s1.error, null, `${what}: no gap or repetition`);
  };

  await core.up(ctx, await core.loadProject({ file }), { wait: true });
  const st = core.readStack(ctx, 'pmix')!;
  t.ok(st.services.db!.netHolder, 'db lives in a network holder container');
  t.equal((await docker().getContainer(st.services.db!.netHolder!.containerId).inspect()).Name, '/pmix-db-net');
  await streams(dbHttp, 'the container reached the process service by its alias and streams to it');
  const inDb = (argv: string[]) => spawnSync('nsenter', ['-t', String(core.readStack(ctx, 'pmix')!.services.db!.initPid), '-m', '-n', '--', ...argv], { encoding: 'utf8', timeout: 5000 });
  t.equal(inDb(['curl', '-fsS', '-m', '3', 'http://app:8081/health']).status, 0, 'the process service reaches the container by its name (Docker\'s DNS)');
  const inWorker = (project: string, argv: string[]) => spawnSync('nsenter', ['-t', String(core.readStack(ctx, project)!.services.worker!.initPid), '-m', '-n', '--', ...argv], { encoding: 'utf8', timeout: 5000 });
  const bothWays = async (project: string, what: string): Promise<void> => {
    const db = (argv: string[]) => spawnSync('nsenter', ['-t', String(core.readStack(ctx, project)!.services.db!.initPid), '-m', '-n', '--', ...argv], { encoding: 'utf8', timeout: 5000 });
    t.ok(await poll(() => db(['curl', '-fsS', '-m', '2', 'http://worker:8090/health']).status === 0, 10_000), `${what}: db, on both kinds of networks, reaches worker on the hub's network`);
    t.equal(inWorker(project, ['curl', '-fsS', '-m', '2', 'http://db:8080/health']).status, 0, `${what}: and worker reaches db there`);
  };
  await bothWays('pmix', 'up');
  t.match(inDb(['ip', '-o', '-4', 'addr']).stdout, /ckh0/, "db has the hub's interface beside Docker's");
  const c0 = await client();

  await core.checkpoint(ctx, 'pmix', 'mixed', { storeRoot });
  await streams(dbHttp, 'the stream goes on after the checkpoint');
  await core.down(ctx, 'pmix', { timeoutMs: 2000 });
  t.same((await docker().listContainers({ all: true, filters: { label: ['ckpt.project=pmix'] } })).map((c) => c.Names), [], 'down removed the container and the holder');

  await core.restore(ctx, 'mixed', { storeRoot });
  t.equal((await client()).localPort, c0.localPort, 'the container has the same connection after the restore');
  await streams(dbHttp, 'the restored connection carries on');
  t.equal((await server()).accepted, 1, 'no new connection');
  await bothWays('pmix', 'restore');

  await core.restore(ctx, 'mixed', { storeRoot, as: 'pmix2' });
  const rows = await core.ps(ctx, 'pmix2');
  const [cdb, capp] = [hostPort(rows, 'db'), hostPort(rows, 'app')];
  t.not(cdb, dbHttp, "the clone's process service publishes on a port of its own");
  t.equal((await client(capp)).localPort, c0.localPort, "the clone's container has the set's connection");
  await streams(cdb, "the clone's connection carries on between the clone's own services (addresses moved)");
  await streams(dbHttp, 'the original streams on beside it');
  t.equal((await server()).accepted, 1, 'and got no connection from the clone');

  await bothWays('pmix2', 'clone');
  await core.down(ctx, 'pmix2', { timeoutMs: 2000 });
  await core.down(ctx, 'pmix', { timeoutMs: 2000 });
});
