// Rate, ETA and bars from progress events; how the plain and JSON sinks print them.
import t from 'tap';
import { ProgressBoard, barText, etaMs, fractionOf, progressFigures, rateOf, type ServiceProgress } from '../../../src/ui/progress.js';
import { plainSink } from '../../../src/ui/plain/events.js';
import { jsonSink } from '../../../src/ui/json/events.js';
import type { CoreEvent } from '../../../src/core/index.js';

const MiB = 1024 * 1024;
const p = (o: Partial<ServiceProgress>): ServiceProgress => ({
  op: 'checkpoint', set: 's', service: 'web', doneBytes: 0, totalBytes: 100 * MiB, elapsedMs: 0, final: false, ...o,
});
const pe = (o: Partial<Extract<CoreEvent, { type: 'progress' }>>): CoreEvent => ({
  type: 'progress', op: 'checkpoint', project: 'demo', set: 's', service: 'web', doneBytes: 0, totalBytes: 100 * MiB, elapsedMs: 0, at: 0, ...o,
});

t.test('rate and ETA from the bytes so far', async (t) => {
  const half = p({ doneBytes: 50 * MiB, elapsedMs: 500 });
  t.equal(rateOf(half), 100 * MiB);
  t.equal(etaMs(half), 500);
  t.equal(fractionOf(half), 0.5);
  t.equal(progressFigures(half), '50MiB/100MiB  100MiB/s  ETA 500ms');
  t.equal(etaMs(p({})), undefined, 'no rate yet: no ETA');
  t.equal(progressFigures(p({})), '0B/100MiB  -  ETA -');
  const past = p({ doneBytes: 120 * MiB, elapsedMs: 1000 });
  t.equal(etaMs(past), undefined, 'past the estimate: no ETA');
  t.equal(fractionOf(past), 0.99, 'not full before the final event');
  const done = p({ doneBytes: 120 * MiB, totalBytes: 120 * MiB, elapsedMs: 1000, final: true });
  t.equal(fractionOf(done), 1);
  t.equal(etaMs(done), 0);
  t.match(progressFigures(done), /done$/);
});

t.test('bars', async (t) => {
  t.equal(barText(0.5, 10), '█████░░░░░');
  t.equal(barText(1, 4, true), '####');
  t.equal(barText(0, 3, true), '---');
});

t.test('the board keeps the latest figure per service of one operation', async (t) => {
  const b = new ProgressBoard();
  t.notOk(b.apply({ type: 'message', level: 'info', text: 'x', at: 0 }));
  b.apply(pe({ service: 'web', doneBytes: 1 }));
  b.apply(pe({ service: 'db', doneBytes: 2 }));
  b.apply(pe({ service: 'web', doneBytes: 3 }));
  t.same(b.rows().map((r) => [r.service, r.doneBytes]), [['db', 2], ['web', 3]]);
  b.apply(pe({ op: 'restore', service: 'web', doneBytes: 4 }));
  t.same(b.rows().map((r) => [r.op, r.service]), [['restore', 'web']], 'a restore starts a new board');
});

t.test('while it runs, rate and ETA come from the last second', async (t) => {
  const b = new ProgressBoard();
  // a slow start (CRIU writes its small images first), then pages at 100 MiB/s
  b.apply(pe({ doneBytes: 0, elapsedMs: 0 }));
  b.apply(pe({ doneBytes: 0.1 * MiB, elapsedMs: 900 }));
  b.apply(pe({ doneBytes: 10.1 * MiB, elapsedMs: 1000 }));
  b.apply(pe({ doneBytes: 20.1 * MiB, elapsedMs: 1100 }));
  const [p] = b.rows();
  t.equal(Math.round(rateOf(p!) / MiB), 100, 'the recent rate, not the average since the start');
  t.equal(Math.round(etaMs(p!)!), 799, 'so the ETA is what is left at that rate');
  b.apply(pe({ doneBytes: 30 * MiB, totalBytes: 30 * MiB, elapsedMs: 1200, final: true }));
  t.equal(rateOf(b.rows()[0]!), 25 * MiB, 'done: the average over the whole dump');
});

t.test('plain prints the estimate of a dump and each service\'s last figures', async (t) => {
  let out = '';
  const sink = plainSink({ write: (s) => (out += s) });
  sink(pe({ doneBytes: 0, totalBytes: 18 * MiB, elapsedMs: 0 }));
  sink(pe({ doneBytes: 10 * MiB, totalBytes: 18 * MiB, elapsedMs: 100 }));
  t.equal(out, ' demo-web  Dumping (~18MiB expected)\n', 'the estimate once, no figures in between');
  sink(pe({ doneBytes: 20 * MiB, totalBytes: 20 * MiB, elapsedMs: 200, final: true }));
  t.match(out, / demo-web {2}Dumped 20MiB in 200ms \(100MiB\/s\)\n$/);
  out = '';
  sink(pe({ op: 'restore', doneBytes: 0, elapsedMs: 0 }));
  sink(pe({ op: 'restore', doneBytes: 20 * MiB, totalBytes: 20 * MiB, elapsedMs: 100, final: true }));
  t.equal(out, ' demo-web  Read 20MiB of images in 100ms (200MiB/s)\n');
});

t.test('JSON prints final progress lines, and every one with progress: true', async (t) => {
  const lines: string[] = [];
  const quiet = jsonSink((s) => lines.push(s));
  quiet(pe({ doneBytes: 1 }));
  quiet(pe({ doneBytes: 2, final: true }));
  t.same(lines.map((l) => JSON.parse(l).doneBytes), [2]);
  const all: string[] = [];
  const loud = jsonSink((s) => all.push(s), { progress: true });
  loud(pe({ doneBytes: 1 }));
  loud(pe({ doneBytes: 2, final: true }));
  t.same(all.map((l) => JSON.parse(l).doneBytes), [1, 2]);
});
