// Files a checkpoint references, kept by handle (patched CRIU 0010), through bin/ckpt.js: a
// renamed file is found again by inspect and by restore; a modified one is refused with the
// file named and the override in the hint; --allow-changed-files restores it anyway.
import t from 'tap';
import { execa } from 'execa';
import { existsSync, readFileSync, readlinkSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { serviceCgroup } from '../../src/runtime/process/freezer.js';
import { packageRoot } from '../../src/paths.js';
import { requireIntegration, tempDir, userEnv } from '../helpers/env.js';

const bin = join(packageRoot, 'bin/ckpt.js');

t.test('renamed → found by handle; modified → refused, unless --allow-changed-files', { timeout: 180_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const data = join(dir, 'data.txt');
  writeFileSync(data, 'warm state\n');
  const env = userEnv({ CKPT_STATE_DIR: join(dir, 'state'), CKPT_STORE: join(dir, 'store') });
  const ckpt = (args: string[]) => execa(bin, args, { reject: false, env, extendEnv: false, cwd: dir, timeout: 120_000 });
  const projects = ['reader', 'moved', 'refused', 'forced'];
  t.teardown(async () => {
    for (const p of projects) await ckpt(['down', '-p', p, '-t', '1']);
  });
  const fileOf = async (set: string) => {
    const r = JSON.parse((await ckpt(['inspect', set, '--json'])).stdout) as { services: { report: { files: { path: string; status?: string; renamedTo?: string; changes?: string[] }[] } }[] };
    return r.services[0]!.report.files.find((f) => f.path === data)!;
  };
  const pidOf = async (p: string) => (JSON.parse((await ckpt(['ps', '-p', p, '--json'])).stdout) as { pid: number }[])[0]!.pid;

  t.equal((await ckpt(['run', '--name', 'reader', '-d', '--', 'bash', '-c', `exec 3<${data}; while :; do sleep 0.1; done`])).exitCode, 0);
  await new Promise((r) => setTimeout(r, 300));
  const cp = await ckpt(['checkpoint', 'held', '-p', 'reader']);
  t.equal(cp.exitCode, 0, cp.stderr);
  t.match(await fileOf('held'), { status: 'same' });

  const moved = join(dir, 'moved.txt');
  renameSync(data, moved);
  t.match(await fileOf('held'), { status: 'renamed', renamedTo: moved }, 'inspect follows the handle');
  const m = await ckpt(['clone', 'held', '--as', 'moved']);
  t.equal(m.exitCode, 0, m.stderr);
  t.equal(readlinkSync(`/proc/${await pidOf('moved')}/fd/3`), moved, 'the restored fd is the renamed file');

  writeFileSync(moved, 'warm stat3\n'); // same size, other bytes
  utimesSync(moved, new Date(), new Date(Date.now() + 5000));
  const changed = await fileOf('held');
  t.equal(changed.status, 'changed');
  t.match(changed.changes?.join(' '), /mtime/);
  const r = await ckpt(['clone', 'held', '--as', 'refused']);
  t.equal(r.exitCode, 73, 'RESTORE_FAILED');
  t.match(r.stderr, new RegExp(`File ${data.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was modified since the dump`), 'names the file');
  t.match(r.stderr, /--allow-changed-files/, 'and the override');
  t.equal((await ckpt(['ls', '--json'])).stdout.includes('"refused"'), false, 'nothing half-restored is left');
  t.notOk(existsSync(dirname(serviceCgroup(join(dir, 'state'), 'refused', 'reader'))), 'not even its freezer cgroup');
  const f = await ckpt(['clone', 'held', '--as', 'forced', '--allow-changed-files']);
  t.equal(f.exitCode, 0, f.stderr);
});

t.test('x-ckpt.checkpoint.copy_files: the set carries the file, and restores without it', { timeout: 180_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  writeFileSync(join(dir, 'model.bin'), 'weights v1\n');
  writeFileSync(
    join(dir, 'ckpt.yaml'),
    `name: model
services:
  serve:
    command: ["bash", "-c", "exec 3<model.bin; while :; do sleep 0.1; done"]
    working_dir: .
    x-ckpt:
      checkpoint:
        copy_files: [model.bin]
`,
  );
  const env = userEnv({ CKPT_STATE_DIR: join(dir, 'state'), CKPT_STORE: join(dir, 'store') });
  const ckpt = (args: string[]) => execa(bin, args, { reject: false, env, extendEnv: false, cwd: dir, timeout: 120_000 });
  t.teardown(async () => {
    for (const p of ['model', 'model-2']) await ckpt(['down', '-p', p, '-t', '1']);
  });
  const pidOf = async (p: string) => (JSON.parse((await ckpt(['ps', '-p', p, '--json'])).stdout) as { pid: number }[])[0]!.pid;
  t.equal((await ckpt(['up', '-d'])).exitCode, 0);
  await new Promise((r) => setTimeout(r, 300));
  const cp = await ckpt(['checkpoint', 'self-contained', '-p', 'model']);
  t.equal(cp.exitCode, 0, cp.stderr);
  rmSync(join(dir, 'model.bin'));
  const c = await ckpt(['clone', 'self-contained', '--as', 'model-2']);
  t.equal(c.exitCode, 0, `restores with the file gone: ${c.stderr}`);
  // the service is pid 2 under ckpt's init: its fd 3 is the copy from the set
  const init = await pidOf('model-2');
  const svc = readFileSync(`/proc/${init}/task/${init}/children`, 'utf8').trim().split(/\s+/)[0]!;
  t.equal(readFileSync(`/proc/${svc}/fd/3`, 'utf8'), 'weights v1\n', 'the restored fd reads the copy');
});
