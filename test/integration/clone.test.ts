// Eight independent copies of one warm stack, side by side: each in its own network namespace
// with its published ports remapped, each a stack of its own for ps / logs / checkpoint / down.
import t from 'tap';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { packageRoot } from '../../src/paths.js';
import { isAlive } from '../../src/util/proc.js';
import { requireIntegration, tempDir, freePort } from '../helpers/env.js';
import { hostPort } from '../fixtures/stack-util.js';

const getJson = async (url: string): Promise<Record<string, unknown>> =>
  (await (await fetch(url, { headers: { connection: 'close' } })).json()) as Record<string, unknown>;

t.test('8 clones of one set run at once, each answering', { timeout: 300_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  const env = { ...process.env, DEMO_INDEX_PORT: String(await freePort()), DEMO_GATEWAY_PORT: String(await freePort()), DEMO_DOCS: '100000' };
  const project = await core.loadProject({ file: join(packageRoot, 'manifests/demo.yaml'), projectName: 'origin', env });
  const clones = Array.from({ length: 8 }, (_, i) => `copy${i + 1}`);
  t.teardown(async () => {
    for (const p of ['origin', ...clones]) if (core.readStack(ctx, p)) await core.down(ctx, p, { timeoutMs: 1000 });
  });

  await core.up(ctx, project, { wait: true });
  const originRows = await core.ps(ctx, 'origin');
  const expected = await getJson(`http://127.0.0.1:${hostPort(originRows, 'gateway')}/q?term=kilo-lima-7`);
  await core.checkpoint(ctx, 'origin', 'base', { storeRoot });

  const results = await Promise.all(clones.map((as) => core.restore(ctx, 'base', { storeRoot, as })));
  t.same(results.map((r) => r.project), clones);
  const seenPorts = new Set<number>();
  for (const name of clones) {
    const rows = await core.ps(ctx, name);
    t.same(rows.map((r) => [r.service, r.state, r.health]), [['index', 'running', 'healthy'], ['gateway', 'running', 'healthy']], `${name} is healthy`);
    const gw = hostPort(rows, 'gateway');
    t.notOk(seenPorts.has(gw), `${name} publishes on a port of its own (${gw})`);
    seenPorts.add(gw);
    const q = await getJson(`http://127.0.0.1:${gw}/q?term=kilo-lima-7`);
    t.equal(q.count, expected.count, `${name} answers like the original`);
    t.equal(q.cached, true, `${name} kept the warm cache`);
  }
  t.equal((await core.ps(ctx, 'origin')).every((r) => r.state === 'running'), true, 'the original still runs');

  // each copy is a stack of its own
  await getJson(`http://127.0.0.1:${hostPort(await core.ps(ctx, 'copy3'), 'gateway')}/q?term=only-in-copy3`);
  const cp = await core.checkpoint(ctx, 'copy3', 'copy3-later', { storeRoot });
  t.equal(cp.set.parent, 'base', 'a set of a clone names the set it came from');
  const pids = Object.values(core.readStack(ctx, 'copy5')!.services).map((r) => r.initPid!);
  await core.down(ctx, 'copy5');
  t.same(pids.filter((p) => isAlive(p)), [], 'down of one copy stops only it');
  t.equal((await core.ps(ctx, 'copy6')).every((r) => r.state === 'running'), true, 'the others run on');
});
