// The patched CRIU on this machine: installed with the stamp of this checkout's series, and each
// compatibility patch doing its job on real processes (test/criu/check-*.sh).
import t from 'tap';
import { execa } from 'execa';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { probeCriu } from '../../src/criu/probe.js';
import { requireIntegration } from '../helpers/env.js';

t.test('installed CRIU is the build of this checkout', async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  const info = await probeCriu();
  t.equal(info.version, '4.1.1');
  t.equal(info.gitId, info.expectedStamp, '`criu --version` shows the stamp of criu-patches/');
  t.equal(info.stamp, info.expectedStamp, 'the stamp file agrees');
  t.ok(info.patched);
});

const dir = join(packageRoot, 'test/criu');
for (const script of readdirSync(dir).filter((f) => /^check-.*\.sh$/.test(f)).sort()) {
  t.test(script, { timeout: 180_000 }, async (t) => {
    if (!requireIntegration(t, { criu: true })) return;
    const r = await execa('bash', [join(dir, script)], { reject: false, all: true });
    t.equal(r.exitCode, 0, `${script} passed${r.exitCode ? ':\n' + String(r.all).split('\n').slice(-25).join('\n') : ''}`);
  });
}
