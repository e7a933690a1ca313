// The tests are TypeScript too, but tap runs them without checking their types: a test calling
// the core with a stale signature would still run (and maybe pass). tsc checks src/ and test/
// together here (tsconfig.test.json), so the suite fails on a type error anywhere.
import t from 'tap';
import { execa } from 'execa';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';

t.test('src/ and test/ type-check (tsc -p tsconfig.test.json)', { timeout: 120_000 }, async (t) => {
  const r = await execa(join(packageRoot, 'node_modules/.bin/tsc'), ['-p', join(packageRoot, 'tsconfig.test.json')], { reject: false, cwd: packageRoot });
  t.equal(r.exitCode, 0, `tsc found type errors:\n${r.stdout}${r.stderr}`);
});
