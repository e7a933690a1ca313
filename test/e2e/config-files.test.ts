// `ckpt config` with several manifest files, as a user runs it: -f repeated (before and after
// the command), the override file found beside compose.yaml, and a problem of the second file.
import t from 'tap';
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { packageRoot } from '../../src/paths.js';
import { tempDir, userEnv } from '../helpers/env.js';

const bin = join(packageRoot, 'bin/ckpt.js');
const ckpt = (args: string[], cwd: string) => execa(bin, args, { reject: false, cwd, env: userEnv({}), extendEnv: false, timeout: 60_000 });

function stack(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.yaml'), 'name: files\nservices:\n  app:\n    command: ./app --port 80\n    environment: {A: "1"}\n');
  writeFileSync(join(dir, 'b.yaml'), 'services:\n  app:\n    command: ./app --port 81\n    environment: {B: "2"}\n');
  return dir;
}

t.test('config -f a -f b prints the merge and names both files', async (t) => {
  const dir = stack(t);
  const r = await ckpt(['config', '-f', 'a.yaml', '-f', 'b.yaml'], dir);
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /^# merged from a\.yaml, b\.yaml\n/);
  const app = (parse(r.stdout) as { services: Record<string, { command: string[]; environment: Record<string, string> }> }).services['app']!;
  t.same(app.command, ['./app', '--port', '81'], 'command: the later file replaces it');
  t.same(app.environment, { A: '1', B: '2' }, 'environment: merged');
  const before = await ckpt(['-f', 'a.yaml', 'config', '--json', '-f', 'b.yaml'], dir);
  t.equal(before.exitCode, 0, before.stderr);
  t.same(JSON.parse(before.stdout).files, [join(dir, 'a.yaml'), join(dir, 'b.yaml')], '-f before the command comes first');
});

t.test('the override file beside compose.yaml is merged', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'compose.yaml'), 'services:\n  app: {command: ./app}\n');
  writeFileSync(join(dir, 'compose.override.yaml'), 'services:\n  app: {command: ./app --debug}\n');
  const r = await ckpt(['config', '--json'], dir);
  t.equal(r.exitCode, 0, r.stderr);
  t.same(JSON.parse(r.stdout).services[0].command, ['./app', '--debug']);
  t.equal(r.stderr, '', 'no warning');
});

t.test('a problem of the second file is named by its file and line', async (t) => {
  const dir = stack(t);
  writeFileSync(join(dir, 'bad.yaml'), 'services:\n  app:\n    restart: sometimes\n');
  const r = await ckpt(['config', '-f', 'a.yaml', '-f', 'bad.yaml'], dir);
  t.equal(r.exitCode, 65);
  t.match(r.stderr, /bad\.yaml:3:14: services\.app\.restart: must be one of/);
});
