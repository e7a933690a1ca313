// What container engines mount on the host must not end up in a process service's checkpoint:
// a namespace file pinned by `ip netns add` (as dockerd pins each container's network) made
// every dump fail ("doesn't have a proper root mount"), and a container's overlay root would
// have to exist again at restore. The shim detaches them in the service's mount namespace.
import t from 'tap';
import { execa } from 'execa';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { requireIntegration, tempDir, writeManifest } from '../helpers/env.js';

t.test('a host with a pinned netns under /run/netns: checkpoint and restore still work', { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  const ns = `ckpt-test-${process.pid}`;
  await execa('ip', ['netns', 'add', ns]);
  t.teardown(async () => {
    if (core.readStack(ctx, 'pinned')) await core.down(ctx, 'pinned', { timeoutMs: 1000 });
    await execa('ip', ['netns', 'delete', ns], { reject: false });
  });
  t.match(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(`/run/netns/${ns} .* - nsfs `), 'the host has the nsfs mount');

  const file = writeManifest(dir, 'name: pinned\nservices:\n  app:\n    command: ["sleep", "1000"]\n');
  await core.up(ctx, await core.loadProject({ file }));
  const pid = core.readStack(ctx, 'pinned')!.services.app!.initPid!;
  t.notMatch(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'), / - nsfs /, 'the service sees no namespace files');
  await core.checkpoint(ctx, 'pinned', 'held', { storeRoot });
  const r = await core.restore(ctx, 'held', { storeRoot, replace: true });
  t.equal(r.services.length, 1, 'restored');
  t.same((await core.ps(ctx, 'pinned')).map((row) => row.state), ['running']);
});

t.test("the host's tmpfs mounts are bound from the host on restore, not copied into the set", { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  // A tmpfs of the host's, made for the test, with a file in it.
  const shared = join(dir, 'shared');
  mkdirSync(shared);
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'ckpt-test', shared]);
  writeFileSync(join(shared, 'before'), 'x');
  t.teardown(async () => {
    if (core.readStack(ctx, 'tmpfs')) await core.down(ctx, 'tmpfs', { timeoutMs: 1000 });
    await execa('umount', ['-l', shared], { reject: false });
  });
  const file = writeManifest(dir, 'name: tmpfs\nservices:\n  app:\n    command: ["sleep", "1000"]\n');
  await core.up(ctx, await core.loadProject({ file }));
  const cp = await core.checkpoint(ctx, 'tmpfs', 'held', { storeRoot });
  const meta = (cp.set.extra as { services: Record<string, { hostMounts?: { path: string }[] }> }).services.app!;
  t.ok(meta.hostMounts?.some((m) => m.path === shared), 'the set records the host tmpfs as external');
  writeFileSync(join(shared, 'after'), 'y');
  await core.restore(ctx, 'held', { storeRoot, replace: true });
  const pid = core.readStack(ctx, 'tmpfs')!.services.app!.initPid!;
  t.same(readdirSync(`/proc/${pid}/root${shared}`).sort(), ['after', 'before'], "the restored service sees the host's tmpfs as it is now");
  const dev = (text: string) => text.split('\n').find((l) => l.split(' ')[4] === shared)?.split(' ')[2];
  t.equal(dev(readFileSync(`/proc/${pid}/mountinfo`, 'utf8')), dev(readFileSync('/proc/self/mountinfo', 'utf8')), 'the same filesystem, not a copy');
});
