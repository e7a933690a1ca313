// A container with a terminal (tty: true, stdin_open: true) is checkpointed and restored: the
// program goes on counting from where the set left it, still on a pty (a new one, whose master the
// shim holds), so `docker logs` shows its output, `docker exec` works and `docker attach` reaches
// its stdin. Both restore paths: ckpt-runc and Docker's own start --checkpoint.
import t from 'tap';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { docker } from '../../src/runtime/docker/client.js';
import { LABEL_STATE, stateTag } from '../../src/runtime/docker/container-config.js';
import { runtimeFor } from '../../src/runtime/index.js';
import { requireIntegration, tempDir, writeManifest } from '../helpers/env.js';
import { poll, sleep } from '../fixtures/stack-util.js';

const IMAGE = 'ckpt-devcontainer:1';
// The count lives in a shell variable of the background loop: only memory keeps it. The shell in
// front reads stdin (what `docker attach` sends) and answers on stdout.
const PROGRAM = [
  'i=0',
  '(while :; do i=$((i+1)); if [ -t 1 ]; then k=tty; else k=notty; fi; echo "n=$i $k"; sleep 0.2; done) &',
  'while read -r l; do echo "got:$l"; done',
].join('\n');

async function containersOf(stateRoot: string): Promise<string[]> {
  const list = await docker().listContainers({ all: true, filters: { label: [`${LABEL_STATE}=${stateTag(stateRoot)}`] } });
  return list.map((c) => c.Names[0]!);
}

/**
 * A container's log as text, without the CRs a terminal adds. A tty's log is one raw stream;
 * without one Docker multiplexes stdout and stderr in frames (8-byte header: stream, 0, 0, 0, size).
 */
async function logText(id: string, tty: boolean): Promise<string> {
  const out = (await docker().getContainer(id).logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  if (tty) return out.toString().replace(/\r/g, '');
  const parts: Buffer[] = [];
  for (let at = 0; at + 8 <= out.length; at += 8 + out.readUInt32BE(at + 4)) parts.push(out.subarray(at + 8, at + 8 + out.readUInt32BE(at + 4)));
  return Buffer.concat(parts).toString();
}

const CASES = [
  { path: 'ckpt-runc', tty: true },
  { path: 'docker', tty: true },
  // stdin is then a pipe from the shim, which runc hands CRIU at the restore as it does stdout's
  { path: 'ckpt-runc', tty: false },
] as const;

for (const { path, tty } of CASES) {
  const counts = (text: string): number[] => [...text.matchAll(new RegExp(`^n=(\\d+) ${tty ? 'tty' : 'notty'}$`, 'gm'))].map((m) => Number(m[1]));
  const what = tty ? 'a tty: true, stdin_open: true container comes back on a terminal' : 'a stdin_open: true container without a terminal gets its stdin back';
  t.test(`${what} (restore through ${path})`, { timeout: 180_000 }, async (t) => {
    if (!requireIntegration(t, { criu: true, docker: true })) return;
    const saved = process.env.CKPT_DOCKER_RESTORE;
    if (path === 'docker') process.env.CKPT_DOCKER_RESTORE = 'docker';
    else delete process.env.CKPT_DOCKER_RESTORE;
    t.teardown(() => {
      if (saved === undefined) delete process.env.CKPT_DOCKER_RESTORE;
      else process.env.CKPT_DOCKER_RESTORE = saved;
    });
    const dir = tempDir(t);
    const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
    const storeRoot = join(dir, 'store');
    const name = `ttyt-${path === 'docker' ? 'd' : 'r'}${tty ? 't' : 'p'}${process.pid}`;
    t.teardown(async () => {
      if (core.readStack(ctx, name)) await core.down(ctx, name, { timeoutMs: 1000 }).catch(() => {});
      for (const c of await containersOf(ctx.stateRoot)) await docker().getContainer(c.slice(1)).remove({ force: true }).catch(() => {});
    });
    const file = writeManifest(dir, `name: ${name}\nservices:\n  term:\n    image: ${IMAGE}\n    command: ["sh", "-c", ${JSON.stringify(PROGRAM.replace(/\$/g, '$$$$'))}]\n    tty: ${tty}\n    stdin_open: true\n`);
    const id = () => core.readStack(ctx, name)!.services['term']!.containerId!;
    const exec = async (argv: string[]) => (await runtimeFor('docker').exec(core.readStack(ctx, name)!.services['term']!, argv, 5000)).stdout.trim();

    await core.up(ctx, await core.loadProject({ file }));
    const info = await docker().getContainer(id()).inspect();
    t.equal(info.Config.Tty, tty, tty ? 'the container has a terminal' : 'the container has no terminal');
    t.equal(info.Config.OpenStdin, true, 'and an open stdin');
    t.ok(await poll(async () => counts(await logText(id(), tty)).length >= 3, 10_000), `the program counts (${tty ? 'on a tty' : 'not on a tty'})`);

    // the last count seen just before the freeze: the set's is that or a few more (one each 200 ms)
    const before = counts(await logText(id(), tty)).at(-1)!;
    await core.checkpoint(ctx, name, 'term', { storeRoot, stop: true });
    if (core.readStack(ctx, name)) await core.down(ctx, name, { timeoutMs: 1000 });
    t.same(await containersOf(ctx.stateRoot), [], 'down removed the container');
    const nets = (await docker().listNetworks()).map((n) => n.Name).filter((n) => n === `${name}_default`);
    t.same(nets, [], 'checkpoint --stop of the whole stack removes its network, as down does');

    await core.restore(ctx, 'term', { storeRoot });
    const restored = await docker().getContainer(id()).inspect();
    t.equal(restored.Config.Tty, tty, 'the restored container is made the same way');
    t.ok(await poll(async () => counts(await logText(id(), tty)).length >= 2, 10_000), 'docker logs shows new output after the restore');
    const after = counts(await logText(id(), tty));
    t.ok(after[0]! > before && after[0]! <= before + 10, `the counter went on from where the set left it (${before} → ${after[0]}): its memory came back`);
    t.match(await exec(['readlink', '/proc/1/fd/0']), tty ? /^\/dev\/pts\/\d+$/ : /^pipe:\[\d+\]$/, `docker exec works, and the program's stdin is ${tty ? 'a pty' : 'a pipe'}`);

    const stream = (await docker().getContainer(id()).attach({ stream: true, stdin: true, stdout: true, hijack: true })) as NodeJS.ReadWriteStream & { destroy(): void };
    stream.write('hello\n');
    const got = await poll(async () => /^got:hello$/m.test(await logText(id(), tty)), 10_000);
    stream.destroy();
    t.ok(got, 'docker attach reaches the restored program\'s stdin');
    await sleep(300);
    t.ok(counts(await logText(id(), tty)).at(-1)! > after.at(-1)!, 'and it is still counting');

    await core.down(ctx, name, { timeoutMs: 1000 });
    t.same(await containersOf(ctx.stateRoot), [], 'nothing is left running');
  });
}
