// The set commands through bin/ckpt.js: checkpoint, sets, inspect, restore, clone, rm, gc.
import t from 'tap';
import { execa } from 'execa';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { requireIntegration, tempDir, writeManifest, freePort, userEnv } from '../helpers/env.js';

const bin = join(packageRoot, 'bin/ckpt.js');

t.test('checkpoint → sets → inspect → restore → clone → rm → gc', { timeout: 300_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const port = await freePort();
  const file = writeManifest(
    dir,
    `
name: counter
x-ckpt:
  network: stack
services:
  web:
    command: ["node", "-e", "let n=0; require('http').createServer((q,s)=>s.end(q.url==='/n'?String(++n):'ok')).listen(8080,'127.0.0.1')"]
    ports: ["127.0.0.1:${port}:8080"]
    healthcheck:
      test: curl -fsS http://127.0.0.1:8080/
      interval: 1s
      retries: 20
`,
  );
  const env = { CKPT_STATE_DIR: join(dir, 'state'), CKPT_STORE: join(dir, 'store') };
  const ckpt = (args: string[]) => execa(bin, args, { reject: false, env: userEnv(env), extendEnv: false, cwd: dir, timeout: 120_000 });
  t.teardown(async () => {
    for (const p of ['counter', 'twin']) await ckpt(['down', '-p', p, '-t', '1']);
  });
  const get = async (p: number) => (await fetch(`http://127.0.0.1:${p}/n`, { headers: { connection: 'close' } })).text();

  t.equal((await ckpt(['up', '-d', '--wait', '-f', file])).exitCode, 0);
  await get(port);
  await get(port);
  const n = Number(await get(port));

  const cp = await ckpt(['checkpoint', 'three', '-p', 'counter', '--print-stats']);
  t.equal(cp.exitCode, 0, cp.stderr);
  t.match(cp.stdout, /Frozen in/);
  t.match(cp.stdout, /checkpoint three: 1 service\(s\)/);
  t.match(cp.stdout, /SERVICE\s+BYTES\s+DUMP\s+CRIU FROZEN/);
  t.equal((await ckpt(['checkpoint', 'three', '-p', 'counter'])).exitCode, 64, 'an existing name needs --replace');
  const save = await ckpt(['save', 'three', '-p', 'counter', '--replace', '--json']);
  t.equal(save.exitCode, 0, save.stderr);
  const saved = JSON.parse(save.stdout.trim().split('\n').at(-1)!);
  t.equal(saved.set, 'three');
  t.ok(saved.services[0].bytes > 0);

  const sets = JSON.parse((await ckpt(['sets', '--json'])).stdout);
  t.same(sets.map((s: { name: string; services: string[]; parent: string | null }) => [s.name, s.services, s.parent]), [['three', ['web'], null]]);

  const insp = await ckpt(['inspect', 'three']);
  t.equal(insp.exitCode, 0, insp.stderr);
  t.match(insp.stdout, /service web/);
  t.match(insp.stdout, /process tree/);
  t.match(insp.stdout, /TCP LISTEN 127\.0\.0\.1:8080/);
  const inspJson = JSON.parse((await ckpt(['inspect', 'three', '--json'])).stdout);
  t.equal(inspJson.services[0].service, 'web');
  t.ok(inspJson.services[0].report.processes.length >= 2, 'init and node');

  t.equal((await ckpt(['restore', 'three'])).exitCode, 71, 'restore refuses to clobber the running stack');
  await get(port); // moves the original on: n+1
  const rs = await ckpt(['restore', 'three', '--replace', '--print-stats']);
  t.equal(rs.exitCode, 0, rs.stderr);
  t.match(rs.stdout, /restored counter from three/);
  t.equal(Number(await get(port)), n + 1, 'the counter is back where the set left it');

  const cl = await ckpt(['clone', 'three', '--as', 'twin', '--json']);
  t.equal(cl.exitCode, 0, cl.stderr);
  const ps = JSON.parse((await ckpt(['ps', '-p', 'twin', '--json'])).stdout);
  const twinPort = Number(/:(\d+)->/.exec(ps[0].ports[0])![1]);
  t.not(twinPort, port, 'the clone publishes elsewhere');
  t.equal(await get(twinPort), String(n + 1), 'the clone starts from the set too');
  t.equal(Number(await get(port)), n + 2, 'and is independent of the original');

  const cp2 = await ckpt(['checkpoint', 'from-twin', '-p', 'twin']);
  t.equal(cp2.exitCode, 0, cp2.stderr);
  const sets2 = await ckpt(['sets']);
  t.match(sets2.stdout, /^from-twin\s+twin\s+web\s+.*\s+three$/m, `the parent column names the set the clone came from:\n${sets2.stdout}`);

  t.equal((await ckpt(['rm', 'nope'])).exitCode, 74, 'removing an unknown set is a store error');
  const rm = await ckpt(['rm', 'from-twin']);
  t.equal(rm.exitCode, 0, rm.stderr);
  t.match(rm.stdout, /removed from-twin/);
  const gc = await ckpt(['gc', '--json']);
  t.equal(gc.exitCode, 0, gc.stderr);
  t.type(JSON.parse(gc.stdout).removedObjects, 'number');
  t.equal((await ckpt(['restore', 'from-twin', '-p', 'x'])).exitCode, 74, 'a removed set is gone');
});

t.test('-f and -p name the stack: sets lists its sets; restore and clone check the set against -f', { timeout: 300_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const service = (name: string, extra = '') => `
name: ${name}
services:
  sleeper:
    command: ["sleep", "600"]${extra}
`;
  const alpha = writeManifest(dir, service('alpha'), 'alpha.yaml');
  const beta = writeManifest(dir, service('beta').replace('sleeper', 'other'), 'beta.yaml');
  const env = { CKPT_STATE_DIR: join(dir, 'state'), CKPT_STORE: join(dir, 'store') };
  const ckpt = (args: string[]) => execa(bin, args, { reject: false, env: userEnv(env), extendEnv: false, cwd: dir, timeout: 120_000 });
  t.teardown(async () => {
    for (const p of ['alpha', 'beta', 'alpha-copy', 'gamma']) await ckpt(['down', '-p', p, '-t', '1']);
  });
  for (const f of [alpha, beta]) t.equal((await ckpt(['up', '-d', '-f', f])).exitCode, 0);
  t.equal((await ckpt(['checkpoint', 'a1', '-f', alpha])).exitCode, 0);
  t.equal((await ckpt(['checkpoint', 'b1', '-p', 'beta'])).exitCode, 0);

  const names = async (args: string[]) => {
    const r = await ckpt(['sets', '--json', ...args]);
    t.equal(r.exitCode, 0, r.stderr);
    return (JSON.parse(r.stdout) as { name: string }[]).map((s) => s.name);
  };
  t.same(await names([]), ['a1', 'b1'], 'without -f or -p: every set of the store');
  t.same(await names(['-p', 'alpha']), ['a1'], 'sets -p: that stack\'s only');
  t.same(await names(['-f', beta]), ['b1'], 'sets -f: the manifest\'s stack only');
  t.same(await names(['-p', 'nothing']), [], 'a stack with no sets: none');
  const globalF = await execa(bin, ['-f', alpha, 'sets', '--json'], { reject: false, env: userEnv(env), extendEnv: false, cwd: dir });
  t.same((JSON.parse(globalF.stdout) as { name: string }[]).map((s) => s.name), ['a1'], '-f before the command too');

  const wrong = await ckpt(['restore', 'b1', '-f', alpha]);
  t.equal(wrong.exitCode, 64, 'a set of another stack is refused');
  t.match(wrong.stderr, /set b1 was taken from stack beta \(services other\); \S*alpha\.yaml has no service other/);
  t.match(wrong.stderr, /hint: Restore it without -f/);
  t.equal((await ckpt(['ps', '-p', 'beta', '--json'])).exitCode, 0, 'and the running stack was not touched');

  t.equal((await ckpt(['down', '-f', alpha, '-t', '1'])).exitCode, 0);
  // the file has changed the service since the checkpoint: the set's configuration comes back, with a warning
  writeManifest(dir, service('alpha', '\n    environment: { CHANGED: "1" }'), 'alpha.yaml');
  const rs = await ckpt(['restore', 'a1', '-f', alpha]);
  t.equal(rs.exitCode, 0, rs.stderr);
  t.match(rs.stdout, /restored alpha from a1/, 'restored as the manifest\'s stack');
  t.match(rs.stdout + rs.stderr, /sleeper: \S*alpha\.yaml has changed this service since set a1 was taken; the set's own configuration is restored/);

  const cl = await ckpt(['clone', 'a1', '-f', alpha, '-p', 'alpha-copy']);
  t.equal(cl.exitCode, 0, cl.stderr);
  t.match(cl.stdout, /cloned a1 as alpha-copy/, '-p names the copy, as --as does');
  const both = await ckpt(['clone', 'a1', '--as', 'gamma', '-p', 'delta']);
  t.equal(both.exitCode, 64);
  t.match(both.stderr, /--as gamma and -p delta name two different copies/);
  const none = await ckpt(['clone', 'a1', '-f', alpha]);
  t.equal(none.exitCode, 64, '-f names the original, not the copy');
  t.match(none.stderr, /clone needs the name of the copy/);

  const rm = await execa(bin, ['-p', 'alpha', 'rm', 'a1'], { reject: false, env: userEnv(env), extendEnv: false, cwd: dir });
  t.equal(rm.exitCode, 64, 'a command that acts on no stack refuses -p rather than ignoring it');
  t.match(rm.stderr, /ckpt rm does not act on a stack: -p alpha is not taken here/);
  t.same(await names([]), ['a1', 'b1'], 'and removed nothing');
});
