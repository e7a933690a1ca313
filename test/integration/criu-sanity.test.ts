// The process runtime's layout is checkpointable: a running demo service's tree is dumped and
// restored by plain `criu` commands and keeps working, with its warm state.
// (ckpt's own checkpoint commands build on exactly this.)
import t from 'tap';
import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { isAlive } from '../../src/util/proc.js';
import { criuPath } from '../../src/criu/probe.js';
import { packageRoot } from '../../src/paths.js';
import { requireIntegration, tempDir, freePort } from '../helpers/env.js';
import { waitFor } from '../../src/util/time.js';

const getJson = async (url: string): Promise<Record<string, unknown>> => (await (await fetch(url)).json()) as Record<string, unknown>;

t.test('plain criu dumps and restores a demo service', { timeout: 180_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const [indexPort, gatewayPort] = [await freePort(), await freePort()];
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const project = await core.loadProject({
    file: join(packageRoot, 'manifests/demo.yaml'),
    projectName: 'sanity',
    env: { ...process.env, DEMO_INDEX_PORT: String(indexPort), DEMO_GATEWAY_PORT: String(gatewayPort), DEMO_DOCS: '200000' },
  });
  let restoredPid: number | undefined;
  t.teardown(async () => {
    if (restoredPid && isAlive(restoredPid)) process.kill(restoredPid, 'SIGKILL');
    if (core.readStack(ctx, 'sanity')) await core.down(ctx, 'sanity', { timeoutMs: 1000 });
  });
  const state = await core.up(ctx, project, { wait: true });
  const index = state.services.index!;

  // warm it and use it, so there is state to lose
  for (const term of ['alpha-bravo-1', 'kilo-lima-2', 'alpha-bravo-1']) {
    const r = await getJson(`http://127.0.0.1:${gatewayPort}/q?term=${term}`);
    t.equal(r.q, term);
  }
  const before = await getJson(`http://127.0.0.1:${indexPort}/stats`);
  t.equal(before.ready, true);
  t.equal(before.queries, 2, 'the gateway cached the repeated query');

  const images = join(dir, 'images');
  mkdirSync(images);
  const errors = (log: string): string => {
    try {
      return readFileSync(join(images, log), 'utf8').split('\n').filter((l) => /Error/.test(l)).join('\n');
    } catch {
      return `(no ${log})`;
    }
  };
  // The demo's services share the stack's network namespace, which the index does not own:
  // CRIU is told it is external, and gets it back by fd on restore. The same goes for the pipe
  // the shim reads the service's output from.
  const netns = /\[(\d+)\]/.exec(readlinkSync(`/proc/${index.initPid}/ns/net`))![1]!;
  const outputPipe = readlinkSync(`/proc/${index.initPid}/fd/1`);
  const holder = state.network!.pid;
  const dump = await execa(
    criuPath(),
    ['dump', '-t', String(index.initPid), '-D', images, '--tcp-established', '--external', `net[${netns}]:stacknet`, '-v4', '-o', 'dump.log'],
    { reject: false },
  );
  t.equal(dump.exitCode, 0, `criu dump succeeded${dump.exitCode ? ':\n' + dump.stderr + errors('dump.log') : ''}`);
  t.notOk(isAlive(index.initPid!), 'the dumped tree is gone');
  // the published port still accepts (the stack's port relay), but nothing answers behind it
  await t.rejects(fetch(`http://127.0.0.1:${indexPort}/stats`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(5000) }), 'nothing answers while it is dumped');

  const nsFd = openSync(`/proc/${holder}/ns/net`, 'r');
  const logFd = openSync(join(dir, 'restored.log'), 'a');
  const restore = spawnSync(
    criuPath(),
    ['restore', '-D', images, '-d', '--root', '/', '--tcp-established', '--pidfile', join(images, 'pid'), '-v4', '-o', 'restore.log',
      '--inherit-fd', 'fd[3]:stacknet', '--inherit-fd', `fd[4]:${outputPipe}`],
    { stdio: ['ignore', 'pipe', 'pipe', nsFd, logFd], encoding: 'utf8' },
  );
  closeSync(nsFd);
  closeSync(logFd);
  t.equal(restore.status, 0, `criu restore succeeded${restore.status ? ':\n' + restore.stderr + errors('restore.log') : ''}`);
  restoredPid = Number(readFileSync(join(images, 'pid'), 'utf8'));
  t.ok(isAlive(restoredPid), `restored init runs as pid ${restoredPid}`);

  const after = await waitFor(async () => {
    try {
      return await getJson(`http://127.0.0.1:${indexPort}/stats`);
    } catch {
      return undefined;
    }
  }, { timeoutMs: 10_000, intervalMs: 50 });
  t.ok(after, 'the restored index answers');
  t.equal(after!.ready, true, 'it is warm at once, without rebuilding');
  t.equal(after!.queries, 2, 'its state came back');
  t.equal(after!.warmupMs, before.warmupMs, 'same process state (warm-up time recorded before the dump)');
  const q = await getJson(`http://127.0.0.1:${gatewayPort}/q?term=mike-november-3`);
  t.equal(q.q, 'mike-november-3', 'the gateway reaches the restored index');
});
