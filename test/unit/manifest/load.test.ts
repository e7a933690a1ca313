import path from 'node:path';
import t from 'tap';
import { CkptError } from '../../../src/errors.js';
import { MANIFEST_NAMES, findManifest, loadProject, loadProjectWithWarnings, normalizeProjectName, resolveProjectName } from '../../../src/manifest/index.js';

const SERVICE = 'services:\n  app:\n    command: ./app\n';

t.test('findManifest looks for the names in order', async (t) => {
  t.strictSame([...MANIFEST_NAMES], ['ckpt.yaml', 'ckpt.yml', 'compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml']);
  const dir = t.testdir({ 'docker-compose.yml': SERVICE, 'compose.yaml': SERVICE, 'ckpt.yml': SERVICE });
  t.equal(await findManifest(dir), path.join(dir, 'ckpt.yml'));
  const only = t.testdir({ 'docker-compose.yaml': SERVICE, 'ckpt.yaml': {} });
  t.equal(await findManifest(only), path.join(only, 'docker-compose.yaml'), 'a directory named like a manifest is skipped');
  t.equal(await findManifest(t.testdir({})), undefined);
});

t.test('loadProject finds the manifest in cwd, and warns about several', async (t) => {
  const dir = t.testdir({ 'compose.yaml': SERVICE, 'docker-compose.yml': SERVICE });
  const { project, warnings } = await loadProjectWithWarnings({ cwd: dir, env: {} });
  t.equal(project.file, path.join(dir, 'compose.yaml'));
  t.strictSame(warnings, ['found several manifests in ' + dir + ' (compose.yaml, docker-compose.yml); using compose.yaml']);
  t.equal((await loadProject({ cwd: dir, env: {} })).hash, project.hash);
});

t.test('no manifest: MANIFEST_NOT_FOUND with the names in the hint', async (t) => {
  const dir = t.testdir({});
  const err = await loadProject({ cwd: dir, env: {} }).catch((e: unknown) => e);
  t.ok(err instanceof CkptError);
  t.match(err, { code: 'MANIFEST_NOT_FOUND', exitCode: 65, message: `no manifest found in ${dir}` });
  for (const n of MANIFEST_NAMES) t.match((err as CkptError).hint, n);
  await t.rejects(loadProject({ cwd: dir, file: 'nope.yaml', env: {} }), { code: 'MANIFEST_NOT_FOUND', message: 'nope.yaml: no such file' });
});

t.test('file may be a directory holding a manifest', async (t) => {
  const dir = t.testdir({ sub: { 'ckpt.yaml': SERVICE } });
  const p = await loadProject({ cwd: dir, file: 'sub', env: {} });
  t.equal(p.file, path.join(dir, 'sub', 'ckpt.yaml'));
  t.equal(p.name, 'sub');
});

t.test('project name: explicit, then `name:`, then the directory', async (t) => {
  const dir = t.testdir({ 'My Project.Dir': { 'ckpt.yaml': SERVICE }, named: { 'ckpt.yaml': 'name: from-file\n' + SERVICE } });
  t.equal((await loadProject({ cwd: path.join(dir, 'My Project.Dir'), env: {} })).name, 'myprojectdir');
  t.equal((await loadProject({ cwd: path.join(dir, 'named'), env: {} })).name, 'from-file');
  t.equal((await loadProject({ cwd: path.join(dir, 'named'), env: {}, projectName: 'given' })).name, 'given');
  await t.rejects(loadProject({ cwd: path.join(dir, 'named'), env: {}, projectName: 'Bad Name' }), {
    code: 'MANIFEST_INVALID',
    details: [
      'ckpt.yaml: the project name "Bad Name" is not valid — use lowercase letters, digits, `-` and `_`, starting with a letter or digit',
    ],
  });
  t.equal(normalizeProjectName('__My-App_2!'), 'my-app_2');
  t.equal(normalizeProjectName('...'), '');
  t.match(resolveProjectName(undefined, undefined, '/x/___'), { issue: { message: /cannot make a project name from the directory name "___"/ } });
});

t.test('.env next to the manifest gives defaults; the environment wins', async (t) => {
  const dir = t.testdir({
    '.env': 'PORT=8000\nTAG=from-dotenv\n# comment\nQUOTED="a b"\n',
    'ckpt.yaml': 'services:\n  app:\n    command: ./app --port ${PORT} --tag ${TAG} --q "${QUOTED}"\n',
  });
  const p = await loadProject({ cwd: dir, env: { TAG: 'from-env' } });
  t.strictSame(p.services[0]!.command, ['./app', '--port', '8000', '--tag', 'from-env', '--q', 'a b']);
  const fromProcess = await loadProject({ cwd: dir });
  t.equal(fromProcess.services[0]!.command[0], './app', 'defaults to process.env');
});

t.test('a broken .env is reported with its own line numbers', async (t) => {
  const dir = t.testdir({ '.env': 'OK=1\n9X=2\n', 'ckpt.yaml': SERVICE });
  await t.rejects(loadProject({ cwd: dir, env: {} }), {
    code: 'MANIFEST_INVALID',
    message: 'ckpt.yaml: 1 problem',
    details: ['.env:2:1: "9X" is not a variable name — use letters, digits and _ (not starting with a digit)'],
  });
});

t.test('warnings: unset variables, with their location', async (t) => {
  const dir = t.testdir({ 'ckpt.yaml': 'services:\n  app:\n    command: ./app $UNSET ${ALSO}\n' });
  const { warnings, project } = await loadProjectWithWarnings({ cwd: dir, env: {} });
  t.strictSame(warnings, [
    'ckpt.yaml:3:14: services.app.command: the "ALSO" variable is not set; using an empty string',
    'ckpt.yaml:3:14: services.app.command: the "UNSET" variable is not set; using an empty string',
  ]);
  t.strictSame(project.services[0]!.command, ['./app']);
});

t.test('the hint of an interpolation error says to escape $', async (t) => {
  const dir = t.testdir({ 'ckpt.yaml': 'services:\n  app:\n    command: echo ${OOPS\n' });
  await t.rejects(loadProject({ cwd: dir, env: {} }), {
    code: 'MANIFEST_INVALID',
    hint: 'You may need to escape any $ with another $.',
    details: ['ckpt.yaml:3:14: services.app.command: unterminated "${" in "echo ${OOPS"'],
  });
});

t.test('messages name the file relative to cwd, or absolute outside it', async (t) => {
  const dir = t.testdir({ deep: { 'ckpt.yaml': 'services: 5\n' }, other: {} });
  await t.rejects(loadProject({ cwd: dir, file: 'deep/ckpt.yaml', env: {} }), {
    message: 'deep/ckpt.yaml: 1 problem',
    details: ['deep/ckpt.yaml:1:11: services: must be a mapping of service names to services, with at least one service'],
  });
  const abs = path.join(dir, 'deep', 'ckpt.yaml');
  await t.rejects(loadProject({ cwd: path.join(dir, 'other'), file: abs, env: {} }), { message: `${abs}: 1 problem` });
});

t.test('problems are sorted by line and column, and all reported', async (t) => {
  const dir = t.testdir({
    'ckpt.yaml': ['services:', '  b:', '    command: ./b', '    restart: never', '  a:', '    image: x', '    ports: [nope]', '    bogus: 1', ''].join('\n'),
  });
  const err = (await loadProject({ cwd: dir, env: {} }).catch((e: unknown) => e)) as CkptError;
  t.strictSame(err.details, [
    'ckpt.yaml:4:14: services.b.restart: must be one of `no`, `always`, `on-failure`, `on-failure:N` or `unless-stopped`',
    'ckpt.yaml:7:13: services.a.ports[0]: "nope": container port "nope" is not a port number — write "8080:80", "127.0.0.1:8080:80/udp", a number, or a mapping with `target`',
    'ckpt.yaml:8:5: services.a: unknown key `bogus`',
  ]);
  t.equal(err.message, 'ckpt.yaml: 3 problems');
  t.equal(err.toJSON()['code'], 'MANIFEST_INVALID');
});

t.test('a manifest with CRLF line endings and a BOM loads', async (t) => {
  const dir = t.testdir({ 'ckpt.yaml': '\uFEFFservices:\r\n  app:\r\n    command: ./app\r\n' });
  t.equal((await loadProject({ cwd: dir, env: {} })).services[0]!.name, 'app');
});

t.test('alias bombs are stopped', async (t) => {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 0; i < 8; i++) lines.push(`${'b'.repeat(i + 1)}: &${'b'.repeat(i + 1)} [${Array(10).fill(`*${i === 0 ? 'a' : 'b'.repeat(i)}`).join(',')}]`);
  lines.push('services: {app: {command: x}}');
  const dir = t.testdir({ 'ckpt.yaml': lines.join('\n') + '\n' });
  await t.rejects(loadProject({ cwd: dir, env: {} }), { code: 'MANIFEST_INVALID', details: [/cannot be read as data: .*alias/i] });
});
