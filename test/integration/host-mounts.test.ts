// What container engines mount on the host must not end up in a process service's checkpoint:
// a namespace file pinned by `ip netns add` (as dockerd pins each container's network) made
// every dump fail ("doesn't have a proper root mount"), and a container's overlay root would
// have to exist again at restore. The shim detaches them in the service's mount namespace.
import t from 'tap';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
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
