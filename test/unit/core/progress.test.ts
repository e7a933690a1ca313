// The progress meter: events only when the figure moves, one final event with the real bytes.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { meterProgress, dirFileBytes } from '../../../src/core/progress.js';
import type { CoreEvent } from '../../../src/core/events.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const target = { op: 'checkpoint' as const, project: 'p', set: 's', service: 'web' };

t.test('emits when the bytes move, then a final event', async (t) => {
  const events: CoreEvent[] = [];
  let bytes = 0;
  const m = meterProgress((e) => events.push(e), target, 1000, () => bytes, 5);
  await sleep(30);
  bytes = 400;
  await sleep(30);
  bytes = 1200; // past the estimate: reported as measured
  await sleep(30);
  m.stop();
  m.finish(1300);
  m.finish(1400); // only one final event
  const p = events.filter((e): e is Extract<CoreEvent, { type: 'progress' }> => e.type === 'progress');
  t.same(p.map((e) => [e.doneBytes, e.totalBytes, Boolean(e.final)]), [
    [0, 1000, false],
    [400, 1000, false],
    [1200, 1000, false],
    [1300, 1300, true],
  ]);
  t.ok(p.every((e, i) => i === 0 || e.elapsedMs >= p[i - 1]!.elapsedMs), 'elapsed grows');
  t.match(p[0], { op: 'checkpoint', project: 'p', set: 's', service: 'web' });
});

t.test('a read that throws is skipped, not fatal', async (t) => {
  const events: CoreEvent[] = [];
  let fail = true;
  const m = meterProgress((e) => events.push(e), target, 10, () => {
    if (fail) throw new Error('ENOENT');
    return 5;
  }, 5);
  await sleep(20);
  fail = false;
  await sleep(20);
  m.finish(10);
  t.same(events.map((e) => (e.type === 'progress' ? e.doneBytes : -1)), [5, 10]);
});

t.test('dirFileBytes sums the files of a directory, 0 for none', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-progress-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(dirFileBytes(join(dir, 'missing')), 0);
  writeFileSync(join(dir, 'a.img'), Buffer.alloc(100));
  writeFileSync(join(dir, 'b.img'), Buffer.alloc(23));
  mkdirSync(join(dir, 'sub'));
  t.equal(dirFileBytes(dir), 123);
});
