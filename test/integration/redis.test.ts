// A real database as a process service: redis-server with 100k keys is checkpointed, killed and
// restored; every key comes back with its value, and nothing written after the checkpoint does.
import t from 'tap';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import * as core from '../../src/core/index.js';
import { requireIntegration, tempDir, writeManifest, freePort } from '../helpers/env.js';
import { alive, cgroupPids, stackTracker } from '../fixtures/stack-util.js';

const KEYS = 100_000;
const BATCH = 1000;
const key = (i: number): string => `key:${i}`;
const value = (i: number): string => createHash('sha1').update(`value-${i}`).digest('hex');

function resp(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

t.test('redis: 100k keys survive checkpoint → down → restore, and nothing newer does', { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const port = await freePort();
  const file = writeManifest(
    dir,
    `
name: redisck
services:
  redis:
    command: ["redis-server", "--port", "${port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    healthcheck:
      test: redis-cli -p ${port} ping
      interval: 200ms
      retries: 50
`,
  );
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  const { seen, cgroups, track } = stackTracker(ctx, 'redisck');
  t.teardown(async () => {
    if (core.readStack(ctx, 'redisck')) await core.down(ctx, 'redisck', { timeoutMs: 1000 });
    for (const p of alive(seen)) process.kill(p, 'SIGKILL');
  });
  const cli = (args: string[], input?: string) =>
    execa('redis-cli', ['-p', String(port), ...args], { ...(input !== undefined ? { input } : {}), maxBuffer: 256 * 1024 * 1024, stripFinalNewline: true });

  await core.up(ctx, await core.loadProject({ file }), { wait: true });
  track();
  t.equal((await cli(['ping'])).stdout, 'PONG');

  // load: one RESP stream through redis-cli --pipe
  const l0 = performance.now();
  let load = '';
  for (let i = 0; i < KEYS; i++) load += resp(['SET', key(i), value(i)]);
  const piped = await cli(['--pipe'], load);
  t.match(piped.stdout, new RegExp(`errors: 0, replies: ${KEYS}`), 'every SET answered without error');
  t.equal((await cli(['dbsize'])).stdout, String(KEYS));
  t.comment(`loaded ${KEYS} keys in ${(performance.now() - l0).toFixed(0)} ms`);

  const cp = await core.checkpoint(ctx, 'redisck', 'loaded', { storeRoot });
  t.same(cp.set.services, ['redis']);
  t.comment(`checkpoint ${(cp.set.sizeBytes / 1048576).toFixed(1)} MiB, stack frozen ${cp.frozenMs.toFixed(0)} ms`);

  // written after the checkpoint: must not come back
  t.equal((await cli(['set', 'after:checkpoint', 'yes'])).stdout, 'OK');
  t.equal((await cli(['del', key(0)])).stdout, '1', 'a deleted key too');
  t.equal((await cli(['dbsize'])).stdout, String(KEYS));

  track();
  await core.down(ctx, 'redisck', { timeoutMs: 2000 });
  t.same(alive(seen), [], 'down left nothing running');
  await t.rejects(cli(['ping']), 'redis is gone');

  const r = await core.restore(ctx, 'loaded', { storeRoot });
  track();
  t.comment(`restore ${r.totalMs.toFixed(0)} ms (verify ${r.verifyMs.toFixed(0)} ms)`);
  t.equal((await cli(['ping'])).stdout, 'PONG', 'answers at once after restore');
  t.equal((await cli(['dbsize'])).stdout, String(KEYS), 'DBSIZE is the checkpoint\'s');
  t.equal((await cli(['exists', 'after:checkpoint'])).stdout, '0', 'a key written after the checkpoint is absent');

  // every key: SCAN lists exactly the expected names
  const v0 = performance.now();
  const scanned = new Set((await cli(['--scan', '--pattern', 'key:*'])).stdout.split('\n').filter(Boolean));
  t.equal(scanned.size, KEYS, 'SCAN finds every key');
  let missing = 0;
  for (let i = 0; i < KEYS; i++) if (!scanned.has(key(i))) missing++;
  t.equal(missing, 0, 'SCAN finds exactly key:0 … key:N-1');

  // every value: MGET in batches, through one redis-cli reading commands from stdin
  const lines: string[] = [];
  for (let i = 0; i < KEYS; i += BATCH) {
    lines.push(`MGET ${Array.from({ length: Math.min(BATCH, KEYS - i) }, (_, j) => key(i + j)).join(' ')}`);
  }
  const got = (await cli([], lines.join('\n') + '\n')).stdout.split('\n');
  t.equal(got.length, KEYS, 'one reply line per key');
  const wrong: number[] = [];
  for (let i = 0; i < KEYS; i++) if (got[i] !== value(i)) wrong.push(i);
  t.same(wrong.slice(0, 10), [], `every value is the one written (${wrong.length} wrong)`);
  t.comment(`verified ${KEYS} keys in ${(performance.now() - v0).toFixed(0)} ms`);

  // still a working server
  t.equal((await cli(['set', 'after:restore', 'ok'])).stdout, 'OK');
  t.equal((await cli(['get', 'after:restore'])).stdout, 'ok');
  const rows = await core.ps(ctx, 'redisck');
  t.same(rows.map((x) => [x.service, x.state, x.health]), [['redis', 'running', 'healthy']]);

  track();
  await core.down(ctx, 'redisck', { timeoutMs: 2000 });
  t.same(alive(seen), [], 'nothing left running');
  t.same([...cgroups].flatMap(cgroupPids), [], 'no process left in the service cgroups');
  t.equal(core.readStack(ctx, 'redisck'), undefined);
});
