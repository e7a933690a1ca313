// An established TCP connection between two services of a stack survives checkpoint → down →
// restore: the client keeps streaming sequence numbers on the same connection, and the server
// sees every number exactly once, in order, across the cut.
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { packageRoot } from '../../src/paths.js';
import { requireIntegration, tempDir, writeManifest, freePort } from '../helpers/env.js';
import { alive, cgroupPids, poll, sleep, stackTracker } from '../fixtures/stack-util.js';

interface ServerState {
  pid: number;
  accepted: number;
  remotePort: number | null;
  last: number;
  count: number;
  bytes: number;
  error: string | null;
  closed: string | null;
}
interface ClientState {
  pid: number;
  connected: boolean;
  localPort: number | null;
  lastSent: number;
  error: string | null;
  closed: string | null;
}

const getJson = async <T>(url: string): Promise<T> => (await (await fetch(url, { headers: { connection: 'close' }, signal: AbortSignal.timeout(3000) })).json()) as T;
const fixture = (f: string): string => join(packageRoot, 'test/fixtures/tcp-stream', f);

/** The Error/Warn lines of the CRIU logs of a set and of a restored stack, for the test output. */
function criuLogLines(setDir: string | undefined, stateRoot: string, project: string): string[] {
  const out: string[] = [];
  const logs: string[] = [];
  for (const s of ['server', 'client']) {
    if (setDir) logs.push(join(setDir, s, 'dump.log'));
    logs.push(join(stateRoot, 'projects', project, 'services', s, 'criu', 'restore.log'));
  }
  for (const f of logs) {
    if (!existsSync(f)) continue;
    const lines = readFileSync(f, 'utf8').split('\n').filter((l) => /Error|Warn|tcp|TCP|inet/.test(l));
    out.push(`--- ${f}`, ...lines.slice(-40));
  }
  return out;
}

t.test('tcp-stream: an established connection between two services continues after restore', { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const [dataPort, serverHttp, clientHttp] = [await freePort(), await freePort(), await freePort()];
  const file = writeManifest(
    dir,
    `
name: tcpstream
services:
  server:
    command: ["node", "${fixture('server.mjs')}", "${dataPort}", "${serverHttp}"]
    healthcheck:
      test: curl -fsS http://127.0.0.1:${serverHttp}/health
      interval: 200ms
      retries: 50
  client:
    command: ["node", "${fixture('client.mjs')}", "${dataPort}", "${clientHttp}"]
    depends_on:
      server:
        condition: service_healthy
    healthcheck:
      test: curl -fsS http://127.0.0.1:${clientHttp}/health
      interval: 200ms
      retries: 50
`,
  );
  const project = 'tcpstream';
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  const { seen, cgroups, track } = stackTracker(ctx, project);
  let setDir: string | undefined;
  t.teardown(async () => {
    if (core.readStack(ctx, project)) await core.down(ctx, project, { timeoutMs: 1000 });
    for (const p of alive(seen)) process.kill(p, 'SIGKILL');
  });
  const server = (): Promise<ServerState> => getJson<ServerState>(`http://127.0.0.1:${serverHttp}/state`);
  const client = (): Promise<ClientState> => getJson<ClientState>(`http://127.0.0.1:${clientHttp}/state`);
  const explain = (): void => {
    for (const l of criuLogLines(setDir, ctx.stateRoot, project)) t.comment(l);
  };

  await core.up(ctx, await core.loadProject({ file }), { wait: true });
  track();
  t.ok(await poll(async () => (await server()).last > 5000, 10_000), 'the stream is flowing');
  const c0 = await client();
  const s0 = await server();
  t.equal(s0.accepted, 1, 'one connection');
  t.equal(s0.remotePort, c0.localPort, 'the server sees the client\'s port');
  t.equal(s0.error, null, 'no gap or repetition before the checkpoint');
  t.equal(c0.error, null);

  const cp = await core.checkpoint(ctx, project, 'midstream', { storeRoot });
  setDir = cp.set.dir;
  t.comment(`checkpoint ${(cp.set.sizeBytes / 1048576).toFixed(1)} MiB, stack frozen ${cp.frozenMs.toFixed(0)} ms, at server seq ≈ ${s0.last}`);
  for (const s of ['server', 'client']) {
    t.ok(readdirSync(join(cp.set.dir, s)).some((f) => /^tcp-stream-.*\.img$/.test(f)), `${s}: the established connection is in the images (tcp-stream-*.img)`);
  }

  // with --leave-running the stack goes on after the dump, on the same connection
  const s1 = await server();
  t.ok(await poll(async () => (await server()).last > s1.last + 5000, 10_000), 'the stream goes on after the checkpoint');
  const s2 = await server();
  t.equal(s2.error, null, 'no gap or repetition across the dump');
  t.equal(s2.accepted, 1);

  track();
  await core.down(ctx, project, { timeoutMs: 2000 });
  t.same(alive(seen), [], 'down left nothing running');

  let r: core.RestoreResult;
  try {
    r = await core.restore(ctx, 'midstream', { storeRoot });
  } catch (e) {
    explain();
    throw e;
  }
  track();
  t.comment(`restore ${r.totalMs.toFixed(0)} ms`);

  const c3 = await client();
  const s3 = await server();
  t.equal(c3.localPort, c0.localPort, 'the client has the same connection (same local port)');
  t.equal(c3.pid, c0.pid, 'the same client process (pid in its namespace)');
  t.equal(s3.accepted, 1, 'the server accepted no new connection');
  t.equal(s3.remotePort, c0.localPort);
  t.ok(s3.last >= s0.last && s3.last < s2.last, `the server is back at the checkpoint (last ${s3.last}; ${s0.last} just before the checkpoint, ${s2.last} before down)`);

  // the stream continues
  const moved = await poll(async () => {
    const s = await server();
    return s.last > s3.last + 5000 ? s : undefined;
  }, 15_000);
  const s4 = await server();
  const c4 = await client();
  if (!moved || s4.error !== null || c4.error !== null) {
    t.comment(`server after restore: ${JSON.stringify(s4)}`);
    t.comment(`client after restore: ${JSON.stringify(c4)}`);
    explain();
  }
  t.ok(moved, `the server keeps receiving after restore (last ${s3.last} → ${s4.last})`);
  t.equal(s4.error, null, 'the server never saw a gap or a repetition');
  t.equal(s4.closed, null, 'the server\'s connection is open');
  t.equal(s4.count, s4.last, 'every number exactly once');
  t.equal(s4.accepted, 1, 'still one connection');
  t.equal(c4.error, null, 'the client saw no error');
  t.equal(c4.closed, null, 'the client\'s connection is open');
  t.ok(c4.lastSent >= s4.last, 'the server has no number the client did not send');
  await sleep(500);
  const s5 = await server();
  t.ok(s5.last > s4.last && s5.error === null, 'and keeps going');

  track();
  await core.down(ctx, project, { timeoutMs: 2000 });
  t.same(alive(seen), [], 'nothing left running');
  t.same([...cgroups].flatMap(cgroupPids), [], 'no process left in the service cgroups');
  t.equal(core.readStack(ctx, project), undefined);
});
