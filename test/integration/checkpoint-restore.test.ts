// The product: take a named set of a warm stack, bring it back later — warm, at once.
import t from 'tap';
import { join } from 'node:path';
import { readdirSync, statSync } from 'node:fs';
import * as core from '../../src/core/index.js';
import { packageRoot } from '../../src/paths.js';
import { isAlive } from '../../src/util/proc.js';
import { freezerState } from '../../src/runtime/process/freezer.js';
import { requireIntegration, tempDir, freePort } from '../helpers/env.js';

const getJson = async (url: string): Promise<Record<string, unknown>> => (await (await fetch(url, { headers: { connection: 'close' } })).json()) as Record<string, unknown>;

t.test('demo: up → warm → checkpoint → down → restore is warm at once', { timeout: 300_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const [indexPort, gatewayPort] = [await freePort(), await freePort()];
  const events: core.CoreEvent[] = [];
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: (e) => events.push(e) };
  const storeRoot = join(dir, 'store');
  const env = { ...process.env, DEMO_INDEX_PORT: String(indexPort), DEMO_GATEWAY_PORT: String(gatewayPort), DEMO_DOCS: '400000' };
  const project = await core.loadProject({ file: join(packageRoot, 'manifests/demo.yaml'), projectName: 'warmdemo', env });
  t.teardown(async () => {
    if (core.readStack(ctx, 'warmdemo')) await core.down(ctx, 'warmdemo', { timeoutMs: 1000 });
  });

  const cold0 = performance.now();
  await core.up(ctx, project, { wait: true });
  const coldMs = performance.now() - cold0;
  const before = await getJson(`http://127.0.0.1:${indexPort}/stats`);
  t.equal(before.ready, true);
  await getJson(`http://127.0.0.1:${gatewayPort}/q?term=alpha-bravo-1`);
  const gwBefore = await getJson(`http://127.0.0.1:${gatewayPort}/stats`);

  const cp = await core.checkpoint(ctx, 'warmdemo', 'warm', { storeRoot });
  t.same(cp.set.services.sort(), ['gateway', 'index']);
  t.ok(cp.set.sizeBytes > 10 * 1024 * 1024, `the set holds the warm memory (${cp.set.sizeBytes} bytes)`);
  const phases = events.filter((e) => e.type === 'checkpoint').map((e) => `${(e as { service?: string }).service ?? '*'}:${(e as { phase: string }).phase}`);
  t.ok(phases.indexOf('*:frozen') < phases.indexOf('index:dumping') && phases.indexOf('*:frozen') < phases.indexOf('gateway:dumping'), 'every service frozen before the first dump');
  for (const r of Object.values(core.readStack(ctx, 'warmdemo')!.services)) t.equal(freezerState(r.cgroup!), 'THAWED', `${r.service} thawed after the checkpoint`);
  t.equal((await getJson(`http://127.0.0.1:${indexPort}/stats`)).ready, true, 'the stack keeps running');

  // files are private: 0700 dirs, 0400/0600 files
  const setDir = cp.set.dir;
  for (const f of readdirSync(join(setDir, 'index'))) t.equal(statSync(join(setDir, 'index', f)).mode & 0o077, 0, `${f} is private`);

  const oldPids = Object.values(core.readStack(ctx, 'warmdemo')!.services).map((r) => r.initPid!);
  await core.down(ctx, 'warmdemo');
  t.same(oldPids.filter((p) => isAlive(p)), [], 'down');

  const r = await core.restore(ctx, 'warm', { storeRoot });
  t.equal(r.project, 'warmdemo');
  const after = await getJson(`http://127.0.0.1:${indexPort}/stats`);
  t.equal(after.ready, true, 'healthy at once');
  t.equal(after.warmupMs, before.warmupMs, 'the warm-up result is the one computed before the checkpoint');
  t.equal(after.pid, before.pid, 'same process (pid inside its namespace)');
  const q = await getJson(`http://127.0.0.1:${gatewayPort}/q?term=alpha-bravo-1`);
  t.equal(q.cached, true, 'the gateway still has its cache');
  const gwAfter = await getJson(`http://127.0.0.1:${gatewayPort}/stats`);
  t.equal(gwAfter.served, Number(gwBefore.served) + 1);
  const rows = await core.ps(ctx, 'warmdemo');
  t.same(rows.map((x) => [x.service, x.state, x.health]), [['index', 'running', 'healthy'], ['gateway', 'running', 'healthy']]);
  t.equal(core.readStack(ctx, 'warmdemo')!.fromSet, 'warm');
  t.comment(`cold start ${coldMs.toFixed(0)} ms, restore ${r.totalMs.toFixed(0)} ms (verify ${r.verifyMs.toFixed(0)} ms)`);
  t.ok(r.totalMs < coldMs, `restore (${r.totalMs.toFixed(0)} ms) is faster than a cold start (${coldMs.toFixed(0)} ms)`);

  // the restored stack writes to its new log
  await new Promise((res) => setTimeout(res, 100));
  // a set taken from a restored stack has the set it came from as parent
  const cp2 = await core.checkpoint(ctx, 'warmdemo', 'warm2', { storeRoot });
  t.equal(cp2.set.parent, 'warm');
  const listed = core.listSets(storeRoot).map((s) => [s.name, s.parent ?? null]);
  t.same(listed, [['warm', null], ['warm2', 'warm']]);
});
