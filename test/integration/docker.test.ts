// The docker runtime against the real dockerd scripts/dockerd.sh starts, with the local
// dev-container image: up / ps / logs / down of an image service; a mixed stack (a container and a
// process service) checkpointed, brought down, restored with its in-memory state and its writable
// layer; four clones of the container running at once; nothing left in /tmp or in Docker after.
import t, { type Test } from 'tap';
type Tap = Test;
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { packageRoot } from '../../src/paths.js';
import { runtimeFor } from '../../src/runtime/index.js';
import { docker } from '../../src/runtime/docker/client.js';
import { LABEL_STATE, stateTag } from '../../src/runtime/docker/container-config.js';
import { ROOTFS_DIFF } from '../../src/runtime/docker/checkpoint-container.js';
import { freePort, requireIntegration, tempDir, writeManifest } from '../helpers/env.js';
import { ckptCli, poll } from '../fixtures/stack-util.js';

const IMAGE = 'ckpt-devcontainer:1';

const ctrdCopies = (): string[] => readdirSync('/tmp').filter((n) => n.startsWith('ctrd-checkpoint'));

async function getJson(url: string): Promise<Record<string, unknown>> {
  return (await (await fetch(url, { headers: { connection: 'close' } })).json()) as Record<string, unknown>;
}

/** The first published host port of a service, from ckpt ps. */
async function hostPort(ctx: core.CoreContext, project: string, service: string): Promise<number> {
  const row = (await core.ps(ctx, project)).find((r) => r.service === service)!;
  return Number(/:(\d+)->/.exec(row.ports[0]!)![1]);
}

async function containersOf(stateRoot: string): Promise<string[]> {
  const list = await docker().listContainers({ all: true, filters: { label: [`${LABEL_STATE}=${stateTag(stateRoot)}`] } });
  return list.map((c) => c.Names[0]!);
}

function setup(t: Tap) {
  const dir = tempDir(t);
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  const projects: string[] = [];
  t.teardown(async () => {
    for (const p of core.listStacks(ctx).map((s) => s.project)) await core.down(ctx, p, { timeoutMs: 1000 }).catch(() => {});
    for (const c of await containersOf(ctx.stateRoot)) await docker().getContainer(c.slice(1)).remove({ force: true }).catch(() => {});
  });
  return { dir, ctx, storeRoot, projects };
}

t.test('an image service: up, ps, logs, down (manifests/devcontainer.yaml, bind-mounted source)', async (t) => {
  if (!requireIntegration(t, { docker: true })) return;
  const { ctx } = setup(t);
  const port = await freePort();
  const name = `dc${process.pid}`;
  const project = await core.loadProject({
    file: join(packageRoot, 'manifests/devcontainer.yaml'),
    projectName: name,
    env: { ...process.env, DEVCONTAINER_PORT: String(port) },
  });
  const state = await core.up(ctx, project, { wait: true });
  const rec = state.services['app']!;
  t.equal(rec.runtime, 'docker');
  t.match(rec.containerId, /^[0-9a-f]{64}$/);

  const rows = await core.ps(ctx, name);
  t.same(
    rows.map((r) => [r.service, r.runtime, r.state, r.health, r.ports]),
    [['app', 'docker', 'running', 'healthy', [`127.0.0.1:${port}->3000/tcp`]]],
  );
  const body = await getJson(`http://127.0.0.1:${port}/`);
  t.equal(body.app, 'devcontainer', 'the container runs the bind-mounted source');

  const inspect = await docker().getContainer(rec.containerId!).inspect();
  t.equal(inspect.Config.Labels['ckpt.project'], name);
  t.equal(inspect.Config.Labels['ckpt.service'], 'app');
  t.match(inspect.Config.Labels['ckpt.config-hash'], /^[0-9a-f]{16}$/);
  t.equal(inspect.Name, `/${name}-app-1`);

  const lines: string[] = [];
  await core.logs({ ...ctx, events: (e) => e.type === 'log' && lines.push(e.line) }, name);
  t.match(lines.join('\n'), /dev server on 3000 \(token [0-9a-f]{16}\)/, 'logs show the text of the json-file log');

  // up again: unchanged keeps the container; a changed service is recreated (config-hash label)
  t.equal((await core.up(ctx, project)).services['app']!.containerId, rec.containerId, 'an unchanged service keeps its container');
  const changed = { ...project, services: project.services.map((s) => ({ ...s, environment: { ...s.environment, EXTRA: '1' } })) };
  t.same(core.planUp(changed, core.readStack(ctx, name)!.services).map((x) => x.action), ['recreate']);
  const again = (await core.up(ctx, changed, { wait: true })).services['app']!;
  t.not(again.containerId, rec.containerId, 'a changed service gets a new container');
  t.same(await containersOf(ctx.stateRoot), [`/${name}-app-1`], 'the old one is gone');
  t.not((await docker().getContainer(again.containerId!).inspect()).Config.Labels['ckpt.config-hash'], inspect.Config.Labels['ckpt.config-hash']);

  await core.down(ctx, name);
  t.same(await containersOf(ctx.stateRoot), [], 'down removes the container');
  t.equal(core.readStack(ctx, name), undefined);
});

const COUNTER = `
const http = require('http');
const token = Math.random().toString(16).slice(2);
let hits = 0;
http.createServer((q, s) => s.end(JSON.stringify({ hits: ++hits, token }))).listen(8080, '127.0.0.1');
setInterval(() => {}, 1000);
`;

async function processHits(ctx: core.CoreContext, project: string): Promise<Record<string, unknown>> {
  const rec = core.readStack(ctx, project)!.services['counter']!;
  const r = await runtimeFor('process').exec(rec, ['curl', '-s', 'http://127.0.0.1:8080/'], 5000);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

async function containerExec(ctx: core.CoreContext, project: string, argv: string[]): Promise<string> {
  const rec = core.readStack(ctx, project)!.services['web']!;
  const r = await runtimeFor('docker').exec(rec, argv, 5000);
  return r.stdout;
}

for (const path of ['ckpt-runc', 'docker'] as const) {
  t.test(`mixed stack: checkpoint, down, restore (${path} restore path), 4 clones at once`, async (t) => {
    if (!requireIntegration(t, { criu: true, docker: true })) return;
    const saved = process.env.CKPT_DOCKER_RESTORE;
    if (path === 'docker') process.env.CKPT_DOCKER_RESTORE = 'docker';
    t.teardown(() => {
      if (saved === undefined) delete process.env.CKPT_DOCKER_RESTORE;
      else process.env.CKPT_DOCKER_RESTORE = saved;
    });
    const { dir, ctx, storeRoot } = setup(t);
    const copiesBefore = ctrdCopies();
    const port = await freePort();
    const name = `mix${path === 'docker' ? 'd' : 'r'}${process.pid}`;
    const file = writeManifest(
      dir,
      `
name: ${name}
services:
  web:
    image: ${IMAGE}
    environment:
      STATE_FILE: /tmp/layer.txt
    ports: ["127.0.0.1:${port}:3000"]
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://127.0.0.1:3000/health"]
      interval: 1s
      retries: 20
  counter:
    command: ["node", "-e", ${JSON.stringify(COUNTER)}]
    x-ckpt:
      network: private
`,
    );
    await core.up(ctx, await core.loadProject({ file }), { wait: true });
    await poll(() => processHits(ctx, name), 10_000);
    const web1 = await getJson(`http://127.0.0.1:${port}/`);
    const web2 = await getJson(`http://127.0.0.1:${port}/`);
    t.equal(web2.hits, 2);
    const c1 = await processHits(ctx, name);
    // the writable layer: a new file, and a deleted directory of the image
    await containerExec(ctx, name, ['sh', '-c', 'echo written-before-checkpoint > /tmp/layer.txt && rm -rf /home/dev']);

    const cp = await core.checkpoint(ctx, name, 'warm', { storeRoot });
    t.same(cp.set.services.sort(), ['counter', 'web']);
    t.ok(readdirSync(join(cp.set.dir, 'web')).includes(ROOTFS_DIFF), 'the set holds the container\'s writable layer');
    t.ok(readdirSync(join(cp.set.dir, 'web')).includes('pages-1.img'), 'and its memory, written by CRIU');
    await t.resolves(core.verifySet(storeRoot, 'warm'), 'the set verifies like any other');

    await core.down(ctx, name);
    t.same(await containersOf(ctx.stateRoot), [], 'down removed the container');

    const r = await core.restore(ctx, 'warm', { storeRoot });
    t.equal(r.project, name);
    const after = await getJson(`http://127.0.0.1:${port}/`);
    t.equal(after.token, web1.token, 'the container\'s in-memory token survived');
    t.equal(after.hits, 3, 'and its hit counter');
    t.equal(after.file, 'written-before-checkpoint\n', 'the restored process reads the file it wrote into its writable layer');
    t.equal((await containerExec(ctx, name, ['sh', '-c', 'ls -d /home/dev 2>/dev/null || echo gone'])).trim(), 'gone', 'a deletion survives too');
    const c2 = await processHits(ctx, name);
    t.equal(c2.token, c1.token, 'the process service came back with it');
    t.equal(c2.hits, (c1.hits as number) + 1);
    const webRec = core.readStack(ctx, name)!.services['web']!;
    t.equal((await docker().getContainer(webRec.containerId!).inspect()).HostConfig.Runtime, path === 'docker' ? 'runc' : 'ckpt-runc', `restored through the ${path} path`);

    if (path === 'docker') {
      await t.rejects(core.restore(ctx, 'warm', { storeRoot, as: `${name}m`, pages: 'map' }), { code: 'RESTORE_FAILED', message: /pages: map needs ckpt's OCI runtime/ }, 'Docker\'s own restore cannot map pages: said, not ignored');
      t.equal((await containersOf(ctx.stateRoot)).length, 1, 'and the refused restore left no container');
    }
    // Through ckpt-runc, two of the clones map their pages from the set's images (patch 0012).
    const clones = ['1', '2', '3', '4'].map((i) => `${name}c${i}`);
    const mapped = path === 'ckpt-runc' ? clones.slice(2) : [];
    const results = await Promise.all(clones.map((as) => core.restore(ctx, 'warm', { storeRoot, as, ...(mapped.includes(as) ? { pages: 'map' as const } : {}) })));
    t.same(results.map((x) => x.project), clones);
    for (const c of clones) {
      const pid = core.readStack(ctx, c)!.services['web']!.initPid!;
      const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
      t.equal(/\/pages-\d+\.img/.test(maps), mapped.includes(c), `${c}'s container ${mapped.includes(c) ? 'maps' : 'copied'} its pages`);
    }
    const ports = new Set<number>();
    for (const c of clones) {
      const rows = await core.ps(ctx, c);
      t.same(rows.map((x) => [x.service, x.state]).sort(), [['counter', 'running'], ['web', 'running']], `${c} runs`);
      const p = await hostPort(ctx, c, 'web');
      t.not(p, port, `${c} publishes on a port of its own`);
      ports.add(p);
      const b = await getJson(`http://127.0.0.1:${p}/`);
      t.same([b.token, b.hits, b.file], [web1.token, 3, 'written-before-checkpoint\n'], `${c}'s container has the checkpoint's memory and files`);
    }
    t.equal(ports.size, 4);
    t.equal((await containersOf(ctx.stateRoot)).length, 5, 'the restored stack and 4 clones run at once');
    // the clones are separate: a hit on one does not count on another
    await getJson(`http://127.0.0.1:${[...ports][0]}/`);
    t.equal((await getJson(`http://127.0.0.1:${[...ports][1]}/`)).hits, 4);

    for (const p of [name, ...clones]) await core.down(ctx, p, { timeoutMs: 1000 });
    t.same(await containersOf(ctx.stateRoot), [], 'no container left');
    t.same(ctrdCopies().filter((n) => !copiesBefore.includes(n)), [], 'no copy of the images left under /tmp');
  });
}

t.test('checkpoint of a container with --stop leaves nothing running', async (t) => {
  if (!requireIntegration(t, { criu: true, docker: true })) return;
  const { dir, ctx, storeRoot } = setup(t);
  const name = `stop${process.pid}`;
  const file = writeManifest(dir, `name: ${name}\nservices:\n  web:\n    image: ${IMAGE}\n`);
  await core.up(ctx, await core.loadProject({ file }));
  await poll(async () => (await containerExecWeb(ctx, name)).includes('token'), 10_000);
  await core.checkpoint(ctx, name, 's', { storeRoot, stop: true });
  t.equal(core.readStack(ctx, name), undefined, 'the stack is gone');
  t.same(await containersOf(ctx.stateRoot), [], 'and its container');
  await t.rejects(core.restore(ctx, 's', { storeRoot, here: true }), { code: 'USAGE', message: /is a container/ }, 'a container is not restored into a terminal');
  await core.restore(ctx, 's', { storeRoot });
  t.match(await containerExecWeb(ctx, name), /"hits":2/, 'the restore has the first request counted');
});

async function containerExecWeb(ctx: core.CoreContext, project: string): Promise<string> {
  return containerExec(ctx, project, ['wget', '-qO-', 'http://127.0.0.1:3000/']);
}

t.test('dockerd down: up fails with DOCKER_UNREACHABLE (exit 69) and says how to start it', async (t) => {
  if (!requireIntegration(t)) return;
  const dir = tempDir(t);
  const file = writeManifest(dir, `name: nodocker${process.pid}\nservices:\n  web:\n    image: ${IMAGE}\n`);
  const r = await ckptCli(['up', '-d', '-f', file], { DOCKER_HOST: `unix://${join(dir, 'no-dockerd.sock')}`, CKPT_STATE_DIR: join(dir, 'state') });
  t.equal(r.exitCode, 69, 'the environment exit code');
  t.match(r.stderr, /dockerd does not answer on .*no-dockerd\.sock/);
  t.match(r.stderr, /scripts\/dockerd\.sh/, 'the hint names the script that starts it');
  t.equal(core.readStack({ stateRoot: join(dir, 'state'), events: () => {} }, `nodocker${process.pid}`), undefined, 'nothing was recorded as running');

  const j = await ckptCli(['up', '-d', '-f', file, '--json'], { DOCKER_HOST: `unix://${join(dir, 'no-dockerd.sock')}`, CKPT_STATE_DIR: join(dir, 'state') });
  t.equal(j.exitCode, 69);
  t.match(j.stdout + j.stderr, /"code":\s*"DOCKER_UNREACHABLE"/, '--json names the code');

  // dockerd gone while a stack runs: down says so (and the stack is still there to retry)
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  t.teardown(async () => {
    if (core.readStack(ctx, `nodocker${process.pid}`)) await core.down(ctx, `nodocker${process.pid}`, { timeoutMs: 1000 });
  });
  await core.up(ctx, await core.loadProject({ file }));
  const d = await ckptCli(['down', '-p', `nodocker${process.pid}`, '-t', '1'], { DOCKER_HOST: `unix://${join(dir, 'no-dockerd.sock')}`, CKPT_STATE_DIR: join(dir, 'state') });
  t.equal(d.exitCode, 69, 'down without dockerd: the environment exit code');
  t.match(d.stderr, /dockerd does not answer/);
  t.ok(core.readStack(ctx, `nodocker${process.pid}`), 'the stack is still recorded, so down can be retried');
  await core.down(ctx, `nodocker${process.pid}`, { timeoutMs: 1000 });
  t.same(await containersOf(ctx.stateRoot), []);
});

t.test('a tampered set: the container is never run, through either restore path', async (t) => {
  if (!requireIntegration(t, { criu: true, docker: true })) return;
  const { dir, ctx, storeRoot } = setup(t);
  const name = `tamp${process.pid}`;
  const file = writeManifest(dir, `name: ${name}\nservices:\n  web:\n    image: ${IMAGE}\n    environment:\n      MEM_MIB: "32"\n`);
  await core.up(ctx, await core.loadProject({ file }));
  await poll(async () => (await containerExecWeb(ctx, name)).includes('token'), 10_000);
  const cp = await core.checkpoint(ctx, name, 'base', { storeRoot, stop: true });
  // flip a byte in the middle of the memory pages (the set's own copy: the store hard-links it)
  const pages = join(cp.set.dir, 'web', 'pages-1.img');
  const { openSync, readSync, writeSync, closeSync, statSync, chmodSync } = await import('node:fs');
  chmodSync(pages, 0o600);
  const fd = openSync(pages, 'r+');
  const at = Math.floor(statSync(pages).size / 2);
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, at);
  b[0] = b[0]! ^ 0xff;
  writeSync(fd, b, 0, 1, at);
  closeSync(fd);
  for (const path of ['ckpt-runc', 'docker']) {
    const saved = process.env.CKPT_DOCKER_RESTORE;
    if (path === 'docker') process.env.CKPT_DOCKER_RESTORE = 'docker';
    const e = await core.restore(ctx, 'base', { storeRoot }).catch((x: unknown) => x as core.CkptError);
    if (saved === undefined) delete process.env.CKPT_DOCKER_RESTORE;
    else process.env.CKPT_DOCKER_RESTORE = saved;
    t.equal((e as core.CkptError).code, 'STORE_CORRUPT', `${path}: the restore fails as a corrupt set`);
    t.match((e as Error).message, /pages-1\.img/, 'naming the file');
    t.same(await containersOf(ctx.stateRoot), [], `${path}: no container is left`);
    t.equal(core.readStack(ctx, name), undefined, 'and no stack');
  }
  t.same(ctrdCopies().filter((n) => n.includes('ckpt')), []);
});

/**
 * A dockerd that says it is not in experimental mode: the real one behind a proxy on a socket of
 * the test's own, which rewrites only /version's "Experimental". Other requests pass through.
 */
async function nonExperimentalDockerd(t: Tap, dir: string): Promise<string> {
  const http = await import('node:http');
  const socket = join(dir, 'dockerd-not-experimental.sock');
  const server = http.createServer((req, res) => {
    const upstream = http.request({ socketPath: '/var/run/docker.sock', method: req.method, path: req.url, headers: req.headers }, (up) => {
      if (!/\/version$/.test(req.url ?? '')) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        const body = JSON.stringify({ ...JSON.parse(Buffer.concat(chunks).toString()), Experimental: false });
        res.writeHead(up.statusCode ?? 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return socket;
}

t.test('dockerd not in experimental mode: restores through ckpt-runc work; Docker\'s own path says what to fix', async (t) => {
  if (!requireIntegration(t, { criu: true, docker: true })) return;
  const { dir, ctx, storeRoot } = setup(t);
  const name = `noexp${process.pid}`;
  const file = writeManifest(dir, `name: ${name}\nservices:\n  web:\n    image: ${IMAGE}\n`);
  await core.up(ctx, await core.loadProject({ file }));
  await poll(async () => (await containerExecWeb(ctx, name)).includes('token'), 10_000);
  await core.checkpoint(ctx, name, 's', { storeRoot });
  await core.down(ctx, name);
  const socket = await nonExperimentalDockerd(t, dir);
  const env = { DOCKER_HOST: `unix://${socket}`, CKPT_STATE_DIR: ctx.stateRoot, CKPT_STORE: storeRoot };

  const refused = await ckptCli(['restore', 's'], { ...env, CKPT_DOCKER_RESTORE: 'docker' });
  t.equal(refused.exitCode, 69, 'the environment exit code');
  t.match(refused.stderr, /is not in experimental mode, which checkpoints need/);
  t.match(refused.stderr, /"experimental": true/, 'the hint says what to set');
  t.equal(core.readStack(ctx, name), undefined, 'nothing recorded as running');
  t.same(await containersOf(ctx.stateRoot), [], 'and no container left behind');

  const r = await ckptCli(['restore', 's'], env);
  t.equal(r.exitCode, 0, `restored through ckpt-runc without experimental mode: ${r.stderr}`);
  t.match(await containerExecWeb(ctx, name), /"hits":2/, 'with the checkpoint\'s memory');
  t.equal((await docker().getContainer(core.readStack(ctx, name)!.services['web']!.containerId!).inspect()).HostConfig.Runtime, 'ckpt-runc');
});

t.test('volumes: a named and an anonymous volume go into the set; a restore and a clone get their contents at the checkpoint', async (t) => {
  if (!requireIntegration(t, { criu: true, docker: true })) return;
  const { dir, ctx, storeRoot } = setup(t);
  const name = `vol${process.pid}`;
  const port = await freePort();
  const file = writeManifest(
    dir,
    `
name: ${name}
services:
  web:
    image: ${IMAGE}
    environment:
      STATE_FILE: /data/state.txt
    ports: ["127.0.0.1:${port}:3000"]
    volumes: ["data:/data", "/cache", "shared:/shared"]
volumes:
  data: {}
  shared:
    external: true
    name: ${name}-ext
`,
  );
  t.teardown(async () => {
    const vols = (await docker().listVolumes()).Volumes ?? [];
    for (const v of vols.filter((x) => x.Name.startsWith(name))) await docker().getVolume(v.Name).remove().catch(() => {});
  });
  const missing = await core.up(ctx, await core.loadProject({ file })).catch((e: unknown) => e);
  t.match(missing, { code: 'SERVICE_START_FAILED', message: /external volume .*-ext does not exist/, hint: /docker volume create/ }, 'a missing external volume is refused, as compose does');
  if (core.readStack(ctx, name)) await core.down(ctx, name);
  await docker().createVolume({ Name: `${name}-ext` });
  await core.up(ctx, await core.loadProject({ file }));
  await poll(async () => (await containerExecWeb(ctx, name)).includes('token'), 10_000);
  await containerExec(ctx, name, ['sh', '-c', 'echo at-checkpoint > /data/state.txt && echo cached > /cache/c.txt && chmod 640 /data/state.txt && echo before > /shared/s.txt']);
  const before = await getJson(`http://127.0.0.1:${port}/`);
  t.equal(before.file, 'at-checkpoint\n');

  const cp = await core.checkpoint(ctx, name, 'v', { storeRoot });
  const files = readdirSync(join(cp.set.dir, 'web'));
  t.ok(files.includes('volumes.json') && files.includes('data-volume-0.json') && files.includes('data-volume-1.json'), `the set indexes both volumes (${files.filter((f) => f.includes('volume')).join(' ')})`);
  t.same(readdirSync(join(cp.set.dir, '.data', 'web')).sort(), ['volume-0', 'volume-1'], 'and holds their trees');
  t.same(cp.services[0]!.data?.map((d) => d.method), ['copy', 'copy'], `captured by copy (Docker's data root is ext4 here): ${JSON.stringify(cp.services[0]!.data)}`);
  const insp = (await core.inspectSet(storeRoot, 'v')).services[0]!.report;
  t.same(insp.container?.volumes.map((v) => v.target).sort(), ['/cache', '/data'], 'inspect shows the container\'s volumes (not the external one: it is shared, like a bind mount)');
  t.ok(insp.container?.rootfsDiffBytes && insp.container.volumes.every((v) => v.bytes > 0), 'with their sizes, and the writable layer\'s');
  t.notOk(insp.filesChecked, 'a container\'s files are not checked against the host\'s');
  // written after the checkpoint: the restore must bring back the checkpoint's contents
  await containerExec(ctx, name, ['sh', '-c', 'echo after-checkpoint > /data/state.txt && echo later > /shared/s.txt']);
  await core.down(ctx, name);

  const liveFile = join((await docker().getVolume(`${name}_data`).inspect()).Mountpoint, 'state.txt');
  await t.rejects(core.restore(ctx, 'v', { storeRoot }), { code: 'VOLUME_CHANGED', message: new RegExp(`${name}_data .*changed since the cut`), hint: /--replace/ }, 'a restore refuses to discard what the volume got after the cut');
  t.equal(readFileSync(liveFile, 'utf8'), 'after-checkpoint\n', 'and leaves it as it is');
  t.same(await containersOf(ctx.stateRoot), [], 'with no container made');
  await core.restore(ctx, 'v', { storeRoot, replace: true });
  const after = await getJson(`http://127.0.0.1:${port}/`);
  t.equal(after.token, before.token, 'the process came back');
  t.equal(after.file, 'at-checkpoint\n', 'the named volume holds what it held at the checkpoint, not what was written later');
  t.equal((await containerExec(ctx, name, ['cat', '/cache/c.txt'])).trim(), 'cached', 'and the anonymous volume its file');
  t.equal((await containerExec(ctx, name, ['stat', '-c', '%a', '/data/state.txt'])).trim(), '640', 'modes kept');
  t.equal((await containerExec(ctx, name, ['cat', '/shared/s.txt'])).trim(), 'later', 'the external volume is left as it is now');

  await core.restore(ctx, 'v', { storeRoot, as: `${name}c` });
  const p = await hostPort(ctx, `${name}c`, 'web');
  const clone = await getJson(`http://127.0.0.1:${p}/`);
  t.same([clone.token, clone.file], [before.token, 'at-checkpoint\n'], 'a clone gets a volume of its own with the checkpoint\'s contents');
  await containerExec(ctx, `${name}c`, ['sh', '-c', 'echo clone-wrote > /data/state.txt']);
  t.equal((await getJson(`http://127.0.0.1:${port}/`)).file, 'at-checkpoint\n', 'and writing to it does not touch the original\'s');

  const volumeExists = async (v: string): Promise<boolean> => docker().getVolume(v).inspect().then(() => true, () => false);
  await core.down(ctx, name, { timeoutMs: 1000 });
  t.ok(await volumeExists(`${name}_data`), 'down keeps the named volume (as compose down does)');
  const d = await ckptCli(['down', '-v', '-p', `${name}c`, '-t', '1'], { CKPT_STATE_DIR: ctx.stateRoot, CKPT_STORE: storeRoot });
  t.equal(d.exitCode, 0, d.stderr);
  t.notOk(await volumeExists(`${name}c_data`), 'down -v removes it (compose down -v)');
  t.ok(await volumeExists(`${name}-ext`), 'but never an external volume');
});

t.test('a container with an open TCP connection: it comes back open; with x-ckpt.checkpoint.tcp: close it comes back closed and reconnects', async (t) => {
  if (!requireIntegration(t, { criu: true, docker: true })) return;
  const { dir, ctx, storeRoot } = setup(t);
  const name = `tcp${process.pid}`;
  const port = await freePort();
  // A client holding a connection to its own server, as a database pool would, and reconnecting when it closes.
  const POOL = [
    "const net = require('net'); const token = Math.random().toString(36).slice(2); let reconnects = 0;",
    "net.createServer((s) => { s.on('error', () => {}); s.on('data', (d) => s.write(d)); }).listen(4000, '127.0.0.1', connect);",
    "function connect() { const c = net.connect(4000, '127.0.0.1'); c.on('error', () => {}); c.once('close', () => { reconnects++; setTimeout(connect, 100); }); }",
    "require('http').createServer((q, r) => r.end(JSON.stringify({ token, reconnects }))).listen(3000, '0.0.0.0');",
  ].join('\n');
  const manifest = (tcp: string) =>
    writeManifest(dir, `name: ${name}\nservices:\n  pool:\n    image: ${IMAGE}\n    command: ["node", "-e", ${JSON.stringify(POOL)}]\n    ports: ["127.0.0.1:${port}:3000"]\n${tcp}`);
  await core.up(ctx, await core.loadProject({ file: manifest('') }));
  await poll(async () => (await getJson(`http://127.0.0.1:${port}/`).catch(() => undefined)) !== undefined, 10_000);

  const open0 = await getJson(`http://127.0.0.1:${port}/`);
  t.ok((await core.checkpoint(ctx, name, 'o', { storeRoot })).set, 'checkpointed with its connection open');
  await core.down(ctx, name);
  const env0 = process.env.CKPT_DOCKER_RESTORE;
  process.env.CKPT_DOCKER_RESTORE = 'docker';
  await t.rejects(core.restore(ctx, 'o', { storeRoot }), { code: 'RESTORE_FAILED', message: /open TCP connections/, hint: /ckpt-runc|tcp: close/ }, 'Docker\'s own restore cannot bring connections back: said up front');
  if (env0 === undefined) delete process.env.CKPT_DOCKER_RESTORE;
  else process.env.CKPT_DOCKER_RESTORE = env0;
  await core.restore(ctx, 'o', { storeRoot });
  const open1 = await poll(async () => getJson(`http://127.0.0.1:${port}/`).catch(() => undefined), 10_000);
  t.equal(open1?.token, open0.token, 'restored with its memory');
  t.equal(open1?.reconnects, open0.reconnects, 'its connection came back open: no reconnect');
  await core.down(ctx, name);

  await core.up(ctx, await core.loadProject({ file: manifest('    x-ckpt:\n      checkpoint:\n        tcp: close\n') }));
  await poll(async () => (await getJson(`http://127.0.0.1:${port}/`).catch(() => undefined)) !== undefined, 10_000);
  const before = await getJson(`http://127.0.0.1:${port}/`);
  const cp = await core.checkpoint(ctx, name, 'p', { storeRoot });
  t.ok(cp.set, 'checkpointed with its connection');
  await core.down(ctx, name);

  const viaDocker = { ...process.env };
  process.env.CKPT_DOCKER_RESTORE = 'docker';
  await t.rejects(core.restore(ctx, 'p', { storeRoot, as: `${name}d` }), { code: 'RESTORE_FAILED', message: /tcp: close/ }, 'Docker\'s own restore cannot pass tcp-close: said up front');
  if (viaDocker.CKPT_DOCKER_RESTORE === undefined) delete process.env.CKPT_DOCKER_RESTORE;
  else process.env.CKPT_DOCKER_RESTORE = viaDocker.CKPT_DOCKER_RESTORE;

  await core.restore(ctx, 'p', { storeRoot });
  await poll(async () => ((await getJson(`http://127.0.0.1:${port}/`)).reconnects as number) > (before.reconnects as number), 10_000);
  const after = await getJson(`http://127.0.0.1:${port}/`);
  t.equal(after.token, before.token, 'the process came back with its memory');
  t.ok((after.reconnects as number) > (before.reconnects as number), `its connection came back closed and it reconnected (${before.reconnects} -> ${after.reconnects})`);
});
