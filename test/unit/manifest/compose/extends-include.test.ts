// `extends` and `include` through the loader: what is inherited and included, where relative
// paths of other files point, and the problems (cycles, missing services and files, conflicts)
// named at the place that asks for them.
import t from 'tap';
import type { CkptError } from '../../../../src/errors.js';
import { loadProject, loadProjectWithWarnings, type Project } from '../../../../src/manifest/index.js';

const service = (p: Project, name: string) => p.services.find((s) => s.name === name)!;
async function details(dir: string, files: string[] = ['compose.yaml']): Promise<string[]> {
  const err = (await loadProject({ cwd: dir, files, env: {} }).catch((e: unknown) => e)) as CkptError;
  return err.details ?? [String(err)];
}

t.test('extends a service of the same file, recursively; the short form too', async (t) => {
  const dir = t.testdir({
    'compose.yaml': [
      'services:',
      '  base: {image: busybox, user: root, environment: {TZ: utc, PORT: "80"}, volumes: ["data:/var/data:rw"]}',
      '  common: {extends: base, command: [sleep, "1"]}',
      '  cli:',
      '    extends: {service: common}',
      '    environment: {PORT: "8080"}',
      '    volumes: ["cli:/var/data:ro"]',
      'volumes: {data: {}, cli: {}}',
      '',
    ].join('\n'),
  });
  const p = await loadProject({ cwd: dir, env: {} });
  const cli = service(p, 'cli');
  t.equal(cli.image, 'busybox');
  t.equal(cli.user, 'root', 'from base, through common');
  t.same(cli.environment, { TZ: 'utc', PORT: '8080' });
  t.same(cli.commandOnly, ['sleep', '1']);
  t.same(cli.volumes.map((v) => [v.source, v.target, v.readOnly]), [['cli', '/var/data', true]], 'the same target: replaced');
});

t.test('extends a service of another file: its relative paths are its own directory\'s', async (t) => {
  const dir = t.testdir({
    'compose.yaml': 'services:\n  web:\n    extends: {file: common/services.yaml, service: webapp}\n    environment: {MODE: dev}\n  db: {image: pg}\n',
    common: { 'services.yaml': 'services:\n  webapp:\n    image: nginx\n    volumes: [./html:/srv]\n    env_file: web.env\n    depends_on: [db]\n', 'web.env': 'FROM_FILE=1\n' },
  });
  const web = service(await loadProject({ cwd: dir, env: {} }), 'web');
  t.same(web.volumes.map((v) => v.source), [`${dir}/common/html`]);
  t.same(web.environment, { FROM_FILE: '1', MODE: 'dev' }, 'its env_file is read from its directory');
  t.same(Object.keys(web.dependsOn), ['db'], 'depends_on is inherited too, as in docker compose v2');
});

t.test('a problem in an inherited value names the file it was written in', async (t) => {
  const dir = t.testdir({
    'compose.yaml': 'services:\n  web:\n    extends: {file: common.yaml, service: webapp}\n',
    'common.yaml': 'services:\n  webapp:\n    image: nginx\n    depends_on: [db]\n',
  });
  t.same(await details(dir), ['common.yaml:4:18: services.webapp.depends_on: unknown service `db` (inherited by services.web through extends)']);
});

t.test('extends: a cycle (once), missing services and files are errors where extends is written', async (t) => {
  const dir = t.testdir({
    'compose.yaml': [
      'services:',
      '  a: {extends: b, image: x}',
      '  b: {extends: {service: a}, image: x}',
      '  c: {extends: nope, image: x}',
      '  d: {extends: {file: missing.yaml, service: x}, image: x}',
      '  e: {extends: {file: other.yaml, service: wbe}, image: x}',
      '  f: {extends: {servic: x}, image: x}',
      '',
    ].join('\n'),
    'other.yaml': 'services:\n  web: {image: y}\n',
  });
  t.same(await details(dir), [
    'compose.yaml:2:16: services.a.extends: extends cycle: compose.yaml: a → compose.yaml: b → compose.yaml: a',
    'compose.yaml:4:16: services.c.extends: extends `nope`, but there is no such service',
    'compose.yaml:5:23: services.d.extends.file: "missing.yaml" does not exist (looked for ' + dir + '/missing.yaml)',
    'compose.yaml:6:44: services.e.extends.service: extends `wbe`, but there is no such service in other.yaml — did you mean `web`?',
    'compose.yaml:7:16: services.f.extends: must name the service to extend: `extends: base` or `extends: {service: base, file: other.yaml}`',
  ]);
});

t.test('include: the short and the long form; each with its own directory and .env', async (t) => {
  const dir = t.testdir({
    'compose.yaml': 'include:\n  - db/compose.yaml\n  - path: [cache/compose.yaml, cache/more.yaml]\n    env_file: cache/vars.env\nservices:\n  web: {image: nginx, depends_on: [db, cache]}\n',
    db: { 'compose.yaml': 'services:\n  db: {image: "postgres:${PG}", volumes: [./data:/var/lib/postgresql/data]}\n', '.env': 'PG=16\n' },
    cache: { 'compose.yaml': 'services:\n  cache: {image: "redis:${TAG}"}\n', 'more.yaml': 'services:\n  cache: {command: [redis-server, --save, ""]}\n', 'vars.env': 'TAG=7\n' },
  });
  const p = await loadProject({ cwd: dir, env: {} });
  t.same(p.services.map((s) => s.name), ['cache', 'db', 'web']);
  t.equal(service(p, 'db').image, 'postgres:16');
  t.same(service(p, 'db').volumes.map((v) => v.source), [`${dir}/db/data`], 'relative to the included project\'s directory');
  t.equal(service(p, 'cache').image, 'redis:7');
  t.same(service(p, 'cache').commandOnly, ['redis-server', '--save', ''], 'an include of several files merges them');
  const env = await loadProject({ cwd: dir, env: { PG: '17' } });
  t.equal(service(env, 'db').image, 'postgres:17', 'the including environment wins over the included .env');
});

t.test('include: a service defined on both sides is an error (unless the same); missing files and cycles too', async (t) => {
  const dir = t.testdir({
    'compose.yaml': 'include:\n  - other.yaml\n  - same.yaml\n  - gone.yaml\n  - loop.yaml\nservices:\n  web: {image: nginx}\n  db: {image: pg}\n',
    'other.yaml': 'services:\n  web: {image: apache}\n',
    'same.yaml': 'services:\n  db: {image: pg}\n',
    'loop.yaml': 'include: [compose.yaml]\nservices:\n  x: {image: y}\n',
  });
  t.same(await details(dir), [
    'compose.yaml:2:5: include[0]: `services.web` is defined both by this file and by other.yaml, which it includes',
    'compose.yaml:4:5: include[2]: gone.yaml does not exist',
    'loop.yaml:1:11: include[0]: include cycle: compose.yaml → loop.yaml → compose.yaml',
  ]);
});
