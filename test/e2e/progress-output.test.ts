// The progress events through bin/ckpt.js: the same events the UI draws bars from reach the plain
// output (a dump's estimate, each service's last figures) and --json (each service's final event;
// every event with --progress).
import t from 'tap';
import { execa } from 'execa';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { requireIntegration, tempDir, userEnv, writeManifest } from '../helpers/env.js';

const bin = join(packageRoot, 'bin/ckpt.js');

t.test('checkpoint and restore: progress in plain and JSON output', { timeout: 180_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const file = writeManifest(dir, 'name: prout\nservices:\n  hog:\n    command: ["node", "-e", "const b = Buffer.alloc(48 << 20, 1); setInterval(() => b[0]++, 100)"]\n');
  const env = { CKPT_STATE_DIR: join(dir, 'state'), CKPT_STORE: join(dir, 'store') };
  const ckpt = (args: string[]) => execa(bin, args, { reject: false, cwd: dir, env: userEnv(env), extendEnv: false, timeout: 120_000 });
  t.teardown(() => ckpt(['down', '-p', 'prout', '-t', '1']));
  t.equal((await ckpt(['up', '-d', '-f', file])).exitCode, 0);
  await new Promise((r) => setTimeout(r, 1000));

  const plain = await ckpt(['checkpoint', 'a', '-p', 'prout']);
  t.equal(plain.exitCode, 0, plain.stderr);
  t.match(plain.stdout, /^ prout-hog {2}Dumping \(~\d+MiB expected\)$/m, 'the estimate before the dump');
  t.match(plain.stdout, /^ prout-hog {2}Dumped \d+MiB in \S+ \(\S+\/s\)$/m, 'bytes, time and rate after it');

  const json = await ckpt(['checkpoint', 'b', '-p', 'prout', '--json', '--progress']);
  t.equal(json.exitCode, 0, json.stderr);
  const events = json.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'progress');
  t.ok(events.length >= 2, `every progress event with --progress (${events.length})`);
  t.ok(events.every((e, i) => i === 0 || e.doneBytes >= events[i - 1].doneBytes), 'bytes only grow');
  const last = events.at(-1);
  t.match(last, { type: 'progress', op: 'checkpoint', project: 'prout', set: 'b', service: 'hog', final: true });
  t.equal(last.doneBytes, JSON.parse(json.stdout.trim().split('\n').at(-1)!).services[0].bytes, 'the final event has the bytes the result reports');

  const quiet = await ckpt(['checkpoint', 'c', '-p', 'prout', '--json']);
  t.same(quiet.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'progress').map((e) => e.final), [true], 'without --progress: the final event only');

  const restored = await ckpt(['restore', 'a', '--replace']);
  t.equal(restored.exitCode, 0, restored.stderr);
  t.match(restored.stdout, /^ prout-hog {2}Read \d+MiB of images in \S+ \(\S+\/s\)$/m, 'a restore says what it read');
});
