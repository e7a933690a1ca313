// Manifest fixtures: test/fixtures/manifests/valid/*.yaml load to the project in
// <name>.expected.json (absolute paths written as <dir> and <home>); invalid/*.yaml fail with
// exactly the detail lines in <name>.expected.txt.
//
// After a deliberate change of output, regenerate the expectations with
//   UPDATE_FIXTURES=1 npx tap test/unit/manifest/fixtures.test.ts
// and review the diff.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { CkptError } from '../../../src/errors.js';
import { loadProjectWithWarnings, renderProject } from '../../../src/manifest/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../fixtures/manifests');
const validDir = path.join(root, 'valid');
const invalidDir = path.join(root, 'invalid');
const update = process.env['UPDATE_FIXTURES'] === '1';

/** A fixed environment, so the fixtures do not depend on who runs the tests. */
export const FIXTURE_ENV = {
  HOME: '/home/tester',
  SECRET: 's3cret',
  OVERRIDE_ME: 'from-env',
  FROM_ENV: 'from-the-env',
};

/** Problems that have no node to point at, so no line:col. */
const WITHOUT_POSITION = new Set(['empty', 'comments-only', 'not-text']);

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
}

function portable(v: unknown): unknown {
  const text = JSON.stringify(v).split(validDir).join('<dir>').split(root).join('<dir>/..');
  return JSON.parse(text.split(FIXTURE_ENV.HOME).join('<home>'));
}

t.test('valid manifests', async (t) => {
  const files = yamlFiles(validDir);
  t.ok(files.length >= 8, `at least 8 valid fixtures (${files.length})`);
  for (const f of files) {
    t.test(f, async (t) => {
      const name = f.replace(/\.yaml$/, '');
      const { project, warnings } = await loadProjectWithWarnings({ file: f, cwd: validDir, env: FIXTURE_ENV });
      t.match(project.hash, /^[0-9a-f]{64}$/);
      const { hash: _hash, ...rest } = project;
      const actual = portable({ project: rest, warnings });
      const expectedFile = path.join(validDir, `${name}.expected.json`);
      if (update) writeFileSync(expectedFile, JSON.stringify(actual, null, 2) + '\n');
      t.ok(existsSync(expectedFile), `${name}.expected.json exists`);
      t.strictSame(actual, JSON.parse(readFileSync(expectedFile, 'utf8')));

      // `ckpt config` output is itself a manifest that loads back to the same project
      const dir = t.testdir({ 'ckpt.yaml': renderProject(project) });
      const again = await loadProjectWithWarnings({ cwd: dir, env: {} });
      const strip = (p: typeof project): unknown => ({ ...p, file: '', workingDir: '', hash: '' });
      t.strictSame(strip(again.project), strip(project), 'renderProject round-trips');
      const expectedAgain = warnings.filter((w) => w.includes('is ignored: the service runs as a process'));
      t.strictSame(
        again.warnings.map((w) => w.replace(/^[^:]+:\d+:\d+: /, '')),
        expectedAgain.map((w) => w.replace(/^[^:]+:\d+:\d+: /, '')),
        'the rendered manifest loads without new warnings',
      );
    });
  }
});

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

async function expectInvalid(t: Test, file: string, cwd: string, expectedFile: string, name: string): Promise<void> {
  let err: unknown;
  try {
    await loadProjectWithWarnings({ file, cwd, env: FIXTURE_ENV });
  } catch (e) {
    err = e;
  }
  if (!(err instanceof CkptError)) {
    t.fail(`${name}: expected a CkptError, got ${err === undefined ? 'success' : String(err)}`);
    return;
  }
  t.equal(err.code, 'MANIFEST_INVALID');
  t.equal(err.exitCode, 65);
  const n = err.details.length;
  t.equal(err.message, `${file}: ${n} problem${n === 1 ? '' : 's'}`);
  t.ok(err.hint && err.hint.length > 0, 'has a hint');
  t.notMatch(err.details.join('\n'), /\n\s+at /, 'no stack traces');
  if (update) writeFileSync(expectedFile, err.details.join('\n') + '\n');
  const expected = readFileSync(expectedFile, 'utf8').replace(/\n$/, '').split('\n');
  t.strictSame(err.details, expected);
  if (!WITHOUT_POSITION.has(name)) {
    for (const line of err.details) t.match(line, /^[^:]+:\d+:\d+: /, `has line:col: ${line}`);
  }
}

t.test('invalid manifests', async (t) => {
  const files = yamlFiles(invalidDir);
  t.ok(files.length >= 35, `at least 35 invalid fixtures (${files.length})`);
  for (const f of files) {
    const name = f.replace(/\.yaml$/, '');
    t.test(f, async (t) => {
      const expectedFile = path.join(invalidDir, `${name}.expected.txt`);
      if (!update) t.ok(existsSync(expectedFile), `${name}.expected.txt exists`);
      await expectInvalid(t, f, invalidDir, expectedFile, name);
    });
  }
});

t.test('a file that is not text at all', async (t) => {
  const dir = t.testdir({
    'compose.yaml': Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x0a]),
  });
  await expectInvalid(t, 'compose.yaml', dir, path.join(invalidDir, 'not-text.expected.txt'), 'not-text');
});

t.test('invalid UTF-8 is not text either', async (t) => {
  const dir = t.testdir({ 'ckpt.yaml': Buffer.from('services:\n  a: \xff\xfe\n', 'latin1') });
  await t.rejects(loadProjectWithWarnings({ cwd: dir, env: {} }), {
    code: 'MANIFEST_INVALID',
    details: ['ckpt.yaml: is not a text file (it contains binary data) — a manifest is a YAML mapping with a `services` key'],
  });
});
