// A real stack of process services: up, ps, logs, down — and nothing left behind.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { isAlive, processTree } from '../../src/util/proc.js';
import { requireIntegration, tempDir, writeManifest, pidsInMountNs, nsLink, freePort } from '../helpers/env.js';
import { waitFor } from '../../src/util/time.js';

const SLOW = { timeout: 120_000 };

t.test('up, ps, logs and down of a two-service stack', SLOW, async (t) => {
  if (!requireIntegration(t)) return;
  const dir = tempDir(t);
  const port = await freePort();
  const file = writeManifest(
    dir,
    `
name: pair
services:
  server:
    command: ["node", "-e", "require('http').createServer((q,s)=>s.end('pong '+process.pid)).listen(${port},'127.0.0.1',()=>console.log('listening'))"]
    healthcheck:
      test: curl -fsS http://127.0.0.1:${port}/
      interval: 1s
      retries: 20
  client:
    command: ["sh", "-c", "echo client up as $$(id -u) in $$(hostname); while :; do sleep 1; done"]
    user: nobody
    environment:
      GREETING: hello
    depends_on:
      server:
        condition: service_healthy
`,
  );
  const events: core.CoreEvent[] = [];
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: (e) => events.push(e) };
  const project = await core.loadProject({ file });
  t.teardown(async () => {
    if (core.readStack(ctx, 'pair')) await core.down(ctx, 'pair', { timeoutMs: 1000 });
  });

  const state = await core.up(ctx, project);
  t.same(Object.keys(state.services).sort(), ['client', 'server']);
  const actions = events.filter((e) => e.type === 'service').map((e) => `${(e as { service: string }).service}:${(e as { action: string }).action}`);
  t.ok(actions.indexOf('server:healthy') < actions.indexOf('client:starting'), 'client starts after server is healthy');

  const rows = await core.ps(ctx, 'pair');
  t.same(rows.map((r) => [r.service, r.state]), [['server', 'running'], ['client', 'running']]);
  t.equal(rows.find((r) => r.service === 'server')!.health, 'healthy');
  t.equal(rows.find((r) => r.service === 'client')!.health, 'none');

  const res = await fetch(`http://127.0.0.1:${port}/`);
  t.match(await res.text(), /^pong 2$/, 'the service is pid 2 of its own pid namespace (below ckpt init)');

  // isolation: own pid and mount namespace; uid of `user:`
  const clientInit = state.services.client!.initPid!;
  t.not(nsLink(clientInit, 'pid'), nsLink(process.pid, 'pid'));
  t.not(nsLink(clientInit, 'mnt'), nsLink(process.pid, 'mnt'));

  await new Promise((r) => setTimeout(r, 300));
  const lines: string[] = [];
  await core.logs({ ...ctx, events: (e) => e.type === 'log' && lines.push(`${e.service}|${e.line}`) }, 'pair', {});
  t.ok(lines.includes('server|listening'), 'server output is in the logs');
  t.ok(lines.includes('client|client up as 65534 in client'), 'client runs as nobody with its own hostname');

  // down leaves no process and no mount namespace behind
  const trees = Object.values(state.services).flatMap((r) => processTree(r.initPid!));
  const shims = Object.values(state.services).map((r) => r.shimPid!);
  const mntNs = Object.values(state.services).map((r) => nsLink(r.initPid!, 'mnt'));
  t.ok(trees.length >= 4, `found the service trees (${trees.length} processes)`);
  const order = await core.down(ctx, 'pair');
  t.same(order, ['client', 'server'], 'down stops in reverse dependency order');
  t.same([...trees, ...shims].filter((p) => isAlive(p)), [], 'no process is left');
  t.same(mntNs.flatMap((ns) => pidsInMountNs(ns)), [], 'no mount namespace is left');
  t.equal(core.readStack(ctx, 'pair'), undefined, 'the stack state is gone');
  t.throws(() => readFileSync(join(ctx.stateRoot, 'projects/pair/stack.json')));
});

t.test('a service that ignores SIGTERM is killed after its grace period', SLOW, async (t) => {
  if (!requireIntegration(t)) return;
  const dir = tempDir(t);
  const file = writeManifest(
    dir,
    `
services:
  stubborn:
    command: ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"]
    stop_grace_period: 500ms
`,
  );
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const project = await core.loadProject({ file, projectName: 'stubborn' });
  const state = await core.up(ctx, project);
  await new Promise((r) => setTimeout(r, 200));
  const tree = processTree(state.services.stubborn!.initPid!);
  const started = Date.now();
  await core.down(ctx, 'stubborn');
  const took = Date.now() - started;
  t.same(tree.filter((p) => isAlive(p)), [], 'nothing left');
  t.ok(took >= 400, `waited for the grace period (${took} ms)`);
});

t.test('a command that does not exist fails clearly', SLOW, async (t) => {
  if (!requireIntegration(t)) return;
  const dir = tempDir(t);
  const file = writeManifest(dir, `services:\n  ghost:\n    command: ["/no/such/program"]\n`);
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const project = await core.loadProject({ file, projectName: 'ghost' });
  await core.up(ctx, project);
  await new Promise((r) => setTimeout(r, 300));
  const rows = await core.ps(ctx, 'ghost');
  t.equal(rows[0]!.state, 'exited');
  t.equal(rows[0]!.exit, 'exited 127');
  const lines: string[] = [];
  await core.logs({ ...ctx, events: (e) => e.type === 'log' && lines.push(e.line) }, 'ghost', {});
  t.match(lines.join('\n'), /cannot run \/no\/such\/program: No such file or directory/);
  await core.down(ctx, 'ghost');
});

t.test('x-ckpt.network: private gives a service its own loopback', SLOW, async (t) => {
  if (!requireIntegration(t)) return;
  const dir = tempDir(t);
  const port = await freePort();
  const file = writeManifest(
    dir,
    `
services:
  hidden:
    command: ["node", "-e", "require('http').createServer((q,s)=>s.end('inside')).listen(${port},'127.0.0.1')"]
    healthcheck:
      test: ["CMD", "curl", "-fsS", "http://127.0.0.1:${port}/"]
      interval: 1s
      retries: 20
    x-ckpt:
      network: private
`,
  );
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const project = await core.loadProject({ file, projectName: 'private' });
  t.teardown(async () => {
    if (core.readStack(ctx, 'private')) await core.down(ctx, 'private', { timeoutMs: 1000 });
  });
  const state = await core.up(ctx, project, { wait: true });
  const init = state.services.hidden!.initPid!;
  t.not(nsLink(init, 'net'), nsLink(process.pid, 'net'), 'own network namespace');
  const rows = await core.ps(ctx, 'private');
  t.equal(rows[0]!.health, 'healthy', 'reachable from inside its namespace');
  await t.rejects(fetch(`http://127.0.0.1:${port}/`), 'not reachable from the host');
});

t.test('ps: a failing healthcheck reads "starting" inside its grace (start_period + interval × retries), "unhealthy" after', SLOW, async (t) => {
  if (!requireIntegration(t)) return;
  const dir = tempDir(t);
  const file = writeManifest(
    dir,
    `
name: graced
services:
  slow:
    command: ["sleep", "1000"]
    healthcheck:
      test: ["CMD", "false"]
      start_period: 60s
  quick:
    command: ["sleep", "1000"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      retries: 3
`,
  );
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  t.teardown(async () => {
    if (core.readStack(ctx, 'graced')) await core.down(ctx, 'graced', { timeoutMs: 1000 });
  });
  await core.up(ctx, await core.loadProject({ file }));
  const upAt = Date.now();
  const health = async (): Promise<Record<string, string>> => Object.fromEntries((await core.ps(ctx, 'graced')).map((r) => [r.service, r.health]));
  // quick's grace is 3 s (1 s × 3 retries): room for a loaded machine between up and this ps
  // (1 s was not: a first ps 1.1 s after the start read "unhealthy")
  t.same(await health(), { slow: 'starting', quick: 'starting' }, 'both failing, both within their grace');
  await new Promise((r) => setTimeout(r, Math.max(0, upAt + 3500 - Date.now())));
  t.same(await health(), { slow: 'starting', quick: 'unhealthy' }, 'past 1 s × 3 retries the quick one is unhealthy; the slow one is still in its start period');
});

t.test('restart: the namespace init restarts a service by compose\'s policy, with backoff, and not after down', SLOW, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const file = writeManifest(
    dir,
    `
name: restarts
services:
  flaky:
    command: ["sh", "-c", "echo started; sleep 0.2; exit 3"]
    restart: on-failure:2
  steady:
    command: ["sh", "-c", "echo started; exec sleep 1000"]
    restart: always
`,
  );
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  t.teardown(async () => {
    if (core.readStack(ctx, 'restarts')) await core.down(ctx, 'restarts', { timeoutMs: 1000 });
  });
  const state = await core.up(ctx, await core.loadProject({ file }));
  const logOf = (service: string): string => readFileSync(join(dir, 'state', 'projects', 'restarts', 'services', service, 'service.log'), 'utf8');
  const started = (service: string): number => (logOf(service).match(/^started$/gm) ?? []).length;
  const rowOf = async (service: string) => (await core.ps(ctx, 'restarts')).find((r) => r.service === service)!;

  // on-failure:2 — the first run and two restarts (100 ms, then 200 ms later), then it stays exited
  const gaveUp = await waitFor(async () => ((await rowOf('flaky')).state === 'exited' ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
  t.ok(gaveUp, 'flaky ends up exited');
  t.equal(started('flaky'), 3, 'after the first run and 2 restarts');
  t.match(logOf('flaky'), /restart: on-failure:2, restarting in 100 ms[\s\S]*restarting in 200 ms/, 'with the backoff said in its log');
  t.match((await rowOf('flaky')).exit, /3/, 'and its last exit code');

  // always — the service (below the init) is killed: it comes back, the init stays
  const init = state.services['steady']!.initPid!;
  const serviceOf = (): number | undefined => processTree(init).find((p) => p !== init);
  const first = serviceOf()!;
  process.kill(first, 'SIGKILL');
  const second = await waitFor(() => {
    const p = serviceOf();
    return p && p !== first && started('steady') === 2 ? p : undefined;
  }, { timeoutMs: 5000, intervalMs: 50 });
  t.ok(second, `killed, it was started again (${first} -> ${second})`);
  t.equal((await rowOf('steady')).state, 'running');

  // the policy survives a checkpoint and restore: the restored init restarts it too
  await core.checkpoint(ctx, 'restarts', 'r', { storeRoot, services: ['steady'] });
  await core.down(ctx, 'restarts', { timeoutMs: 1000 });
  const restored = await core.restore(ctx, 'r', { storeRoot });
  t.ok(restored);
  const init2 = core.readStack(ctx, 'restarts')!.services['steady']!.initPid!;
  const svc = processTree(init2).find((p) => p !== init2)!;
  process.kill(svc, 'SIGKILL');
  const again = await waitFor(() => processTree(init2).find((p) => p !== init2 && p !== svc), { timeoutMs: 5000, intervalMs: 50 });
  t.ok(again, 'the restored service is restarted after a kill too');

  const t0 = Date.now();
  await core.down(ctx, 'restarts');
  t.ok(Date.now() - t0 < 5000, `down is not fought by the policy (${Date.now() - t0} ms)`);
  t.notOk(isAlive(init2), 'the init is gone');
});
