// Progress events of a real checkpoint and restore: what the UI's bars, and the plain and JSON
// outputs, are drawn from. Bytes only grow; the last event of each service carries the bytes
// really written (checkpoint) or the set's image bytes (restore); the estimate of a dump is
// close to what CRIU writes for a program whose memory is mostly its own.
import t from 'tap';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { requireIntegration, tempDir, writeManifest } from '../helpers/env.js';

type Progress = Extract<core.CoreEvent, { type: 'progress' }>;

t.test('checkpoint and restore report bytes per service', { timeout: 180_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const dir = tempDir(t);
  // 64 MiB of its own, touched memory: what a dump writes as pages
  const file = writeManifest(
    dir,
    `name: prog
services:
  hog:
    command: ["node", "-e", "const b = Buffer.alloc(64 << 20, 1); setInterval(() => b[0]++, 100)"]
  small:
    command: ["sh", "-c", "while :; do sleep 1; done"]
`,
  );
  const events: core.CoreEvent[] = [];
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: (e) => events.push(e) };
  const storeRoot = join(dir, 'store');
  t.teardown(async () => {
    if (core.readStack(ctx, 'prog')) await core.down(ctx, 'prog', { timeoutMs: 1000 });
  });
  await core.up(ctx, await core.loadProject({ file }));
  await new Promise((r) => setTimeout(r, 1000)); // node has allocated and filled its buffer

  const cp = await core.checkpoint(ctx, 'prog', 'p1', { storeRoot });
  const dumped = events.filter((e): e is Progress => e.type === 'progress' && e.op === 'checkpoint');
  for (const s of cp.services) {
    const mine = dumped.filter((e) => e.service === s.service);
    t.ok(mine.length >= 2, `${s.service}: a first and a final event at least (${mine.length})`);
    t.ok(mine.every((e, i) => i === 0 || e.doneBytes >= mine[i - 1]!.doneBytes), `${s.service}: bytes only grow`);
    const last = mine.at(-1)!;
    t.equal(last.final, true, `${s.service}: the last event is final`);
    t.equal(mine.filter((e) => e.final).length, 1, `${s.service}: one final event`);
    t.equal(last.doneBytes, s.bytes, `${s.service}: the final bytes are the bytes written`);
    t.equal(last.totalBytes, s.bytes);
    t.match(last, { project: 'prog', set: 'p1' });
  }
  const hog = dumped.filter((e) => e.service === 'hog');
  const estimate = hog[0]!.totalBytes;
  const written = hog.at(-1)!.doneBytes;
  t.ok(estimate > 64 << 20, `the estimate counts the 64 MiB buffer (${estimate})`);
  t.ok(estimate > written * 0.7 && estimate < written * 1.3, `the estimate (${estimate}) is within 30% of what was written (${written})`);

  events.length = 0;
  const r = await core.restore(ctx, 'p1', { storeRoot, replace: true });
  const restored = events.filter((e): e is Progress => e.type === 'progress' && e.op === 'restore');
  for (const s of r.services) {
    const mine = restored.filter((e) => e.service === s.service);
    const imageBytes = cp.services.find((c) => c.service === s.service)!.bytes;
    t.ok(mine.every((e, i) => i === 0 || e.doneBytes >= mine[i - 1]!.doneBytes), `${s.service}: restored bytes only grow`);
    t.ok(mine.filter((e) => !e.final).every((e) => e.doneBytes < imageBytes && e.totalBytes === imageBytes), `${s.service}: below the set's image bytes until the end`);
    t.match(mine.at(-1), { final: true, doneBytes: imageBytes, totalBytes: imageBytes });
  }
  // the hog's pages were read while it was restored, not only counted at the end
  const hogReads = restored.filter((e) => e.service === 'hog' && !e.final).map((e) => e.doneBytes);
  t.ok(Math.max(0, ...hogReads) > 0 || hogReads.length <= 1, `reads were seen while CRIU restored (${hogReads.join(', ')})`);
});
