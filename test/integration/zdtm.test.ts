// No regression against CRIU's own suite: the zdtm subset of test/criu/zdtm/subset.txt runs on
// stock CRIU 4.1.1 and on ckpt's patched build (test/criu/zdtm/run.sh, flavors h and ns), and
// the patches may only add passes: every test stock passes, patched passes too.
import t from 'tap';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { requireIntegration } from '../helpers/env.js';

// Both runs take about 3.5 minutes here; the first ever run also builds stock CRIU (~1 minute).
const TIMEOUT = 25 * 60_000;
t.setTimeout(TIMEOUT + 60_000);

type Result = { status: 'PASS' | 'FAIL' | 'SKIP' | 'NOTRUN'; detail: string };

/** run.sh's T.results: "PASS name", "FAIL name flavor", "SKIP name reason", "NOTRUN name". */
function readResults(file: string): Map<string, Result> {
  const out = new Map<string, Result>();
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(PASS|FAIL|SKIP|NOTRUN) (\S+) ?(.*)$/.exec(line);
    if (m) out.set(m[2]!, { status: m[1] as Result['status'], detail: m[3] ?? '' });
  }
  return out;
}

const passed = (r: Map<string, Result>) => [...r].filter(([, v]) => v.status === 'PASS').map(([k]) => k);

t.test('zdtm subset: the patched CRIU passes every test stock 4.1.1 passes', { timeout: TIMEOUT }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const out = mkdtempSync(join(tmpdir(), 'ckpt-zdtm-'));
  // Logs stay for a failed run (the path is in the failure message).
  t.teardown(() => {
    if (t.passing()) rmSync(out, { recursive: true, force: true });
  });
  const script = join(packageRoot, 'test/criu/zdtm/run.sh');
  const total = (await execa('bash', [script, '--list'])).stdout.split('\n').filter(Boolean).length;
  const r = await execa('bash', [script, '--out', out], { reject: false, all: true });
  const all = String(r.all);
  for (const line of all.split('\n').filter((l) => /^zdtm (stock|patched):/.test(l))) t.comment(line);
  t.not(r.exitCode, 2, `both zdtm runs completed (logs: ${out})${r.exitCode === 2 ? ':\n' + all.split('\n').slice(-20).join('\n') : ''}`);

  const stock = readResults(join(out, 'stock.results'));
  const patched = readResults(join(out, 'patched.results'));
  t.equal(stock.size, total, 'a result for every stock test');
  t.equal(patched.size, total, 'a result for every patched test');
  const sp = passed(stock).length;
  const pp = passed(patched).length;
  t.comment(`zdtm subset: stock ${sp}/${total} passed, patched ${pp}/${total} passed`);
  const notPassed = [...patched].filter(([, v]) => v.status !== 'PASS').map(([k, v]) => `${k} ${v.status} ${v.detail}`.trim());
  if (notPassed.length) t.comment(`not passed on patched: ${notPassed.join(', ')}`);

  t.ok(pp >= sp, `patched passes (${pp}) >= stock passes (${sp})`);
  const regressions = passed(stock).filter((name) => patched.get(name)?.status !== 'PASS');
  t.same(regressions, [], `every test that passes on stock passes on patched (logs: ${out})`);
  t.equal(r.exitCode, 0, 'run.sh agrees');
});
