import t from 'tap';
import { compileManifest, formatIssues, projectHash, topologicalOrder, type Project } from '../../../src/manifest/index.js';

function load(yaml: string, env: Record<string, string> = { HOME: '/home/u' }, files: Record<string, string> = {}): Project {
  const r = compileManifest(yaml, { file: '/srv/stack/ckpt.yaml', env, readFile: (p) => files[p] });
  if (!r.project) throw new Error(formatIssues(r.issues, 'ckpt.yaml', r.locator).join('\n'));
  return r.project;
}

t.test('topological order: dependencies first, ties by name', async (t) => {
  const deps = new Map<string, string[]>([
    ['web', ['api', 'static']],
    ['api', ['db', 'cache']],
    ['static', []],
    ['db', []],
    ['cache', []],
    ['zz', []],
    ['aa', ['zz']],
  ]);
  t.strictSame(topologicalOrder(deps), ['cache', 'db', 'api', 'static', 'web', 'zz', 'aa']);
  t.strictSame(topologicalOrder(new Map([['b', []], ['a', []], ['c', []]])), ['a', 'b', 'c']);
  t.strictSame(topologicalOrder(new Map([['a', ['ghost']]])), ['a'], 'unknown dependencies are ignored');
  t.throws(() => topologicalOrder(new Map([['a', ['b']], ['b', ['a']]])), { code: 'INTERNAL' });
  t.strictSame(topologicalOrder(new Map()), []);
});

t.test('services come out in dependency order', async (t) => {
  const p = load(`
services:
  web: {command: w, depends_on: [api]}
  api: {command: a, depends_on: {db: {condition: service_healthy}}}
  db: {command: d, healthcheck: {test: "true"}}
  adm: {command: x}
`);
  t.strictSame(p.services.map((s) => s.name), ['adm', 'db', 'api', 'web']);
  t.strictSame(p.services[2]!.dependsOn, { db: { condition: 'service_healthy' } });
});

t.test('defaults like compose', async (t) => {
  const p = load(`
services:
  proc:
    command: ./run
    healthcheck: {test: ./check}
  box:
    image: redis
`);
  const [box, proc] = p.services;
  t.strictSame(proc!.healthcheck, { test: ['/bin/sh', '-c', './check'], intervalMs: 30000, timeoutMs: 30000, retries: 3, startPeriodMs: 0 });
  t.equal(proc!.restart, 'no');
  t.strictSame(proc!.xCkpt, { runtime: 'process', network: 'host', stopGracePeriodMs: 10000, checkpoint: {}, restore: { stdio: 'image', creds: 'image', pid: 'image', pages: 'copy' } });
  t.equal(box!.xCkpt.runtime, 'docker');
  t.strictSame(box!.command, []);
  t.equal(box!.entrypoint, undefined);
  t.equal(box!.commandOnly, undefined);
  t.strictSame(p.xCkpt, {});
  t.equal(p.name, 'stack', 'named after the directory');
  t.equal(p.file, '/srv/stack/ckpt.yaml');
  t.equal(p.workingDir, '/srv/stack');
});

t.test('entrypoint ++ command, and paths resolved against the manifest directory', async (t) => {
  const p = load(`
services:
  proc:
    entrypoint: ./bin/tool --flag
    command: ["sub", "arg"]
    working_dir: ./work
    volumes: ["./data:/data", "~/cache:/cache", "../up:/up"]
  box:
    image: alpine
    working_dir: /in/container
    volumes: ["./src:/src"]
`);
  const box = p.services.find((s) => s.name === 'box')!;
  const proc = p.services.find((s) => s.name === 'proc')!;
  t.strictSame(proc.command, ['./bin/tool', '--flag', 'sub', 'arg']);
  t.strictSame(proc.entrypoint, ['./bin/tool', '--flag']);
  t.strictSame(proc.commandOnly, ['sub', 'arg']);
  t.equal(proc.workingDir, '/srv/stack/work');
  t.strictSame(proc.volumes.map((v) => v.source), ['/srv/stack/data', '/home/u/cache', '/srv/up']);
  t.equal(box.workingDir, '/in/container');
  t.equal(box.volumes[0]!.source, '/srv/stack/src');
});

t.test('env_file then environment; later files win', async (t) => {
  const p = load(
    `
services:
  a:
    command: env
    env_file: [./one.env, ./two.env, {path: ./absent.env, required: false}]
    environment: {C: from-environment}
`,
    { HOME: '/home/u', OUTER: 'o' },
    { '/srv/stack/one.env': 'A=1\nB=1\nC=1\n', '/srv/stack/two.env': 'B=2\nD=${OUTER}\n' },
  );
  t.strictSame(p.services[0]!.environment, { A: '1', B: '2', C: 'from-environment', D: 'o' });
});

t.test('restart policies', async (t) => {
  const p = load(`
services:
  a: {command: x, restart: always}
  b: {command: x, restart: "on-failure:5"}
  c: {command: x, restart: on-failure}
  d: {command: x, restart: unless-stopped}
`);
  t.strictSame(
    p.services.map((s) => [s.restart, s.restartMaxRetries]),
    [
      ['always', undefined],
      ['on-failure', 5],
      ['on-failure', undefined],
      ['unless-stopped', undefined],
    ],
  );
});

t.test('the hash is stable and covers everything', async (t) => {
  const a = load(`
services:
  web: {image: nginx, environment: {A: "1", B: "2"}, ports: ["80:80"]}
  db: {image: postgres}
`);
  const reordered = load(`
services:
  db:
    image: postgres
  web:
    ports:
      - "80:80"
    environment:
      - B=2
      - A=1
    image: nginx
`);
  t.match(a.hash, /^[0-9a-f]{64}$/);
  t.equal(reordered.hash, a.hash, 'key order and short/long forms do not change the hash');
  t.equal(load(`services: {web: {image: nginx, environment: {A: "1", B: "2"}, ports: ["80:80"]}, db: {image: postgres}}`).hash, a.hash);
  const changed = load(`
services:
  web: {image: nginx, environment: {A: "1", B: "3"}, ports: ["80:80"]}
  db: {image: postgres}
`);
  t.not(changed.hash, a.hash, 'a changed value changes the hash');
  t.equal(projectHash(a), a.hash, 'the hash is of the project without its hash');
  const { hash: _h, ...rest } = a;
  t.equal(projectHash(rest), a.hash);
  t.equal(projectHash({ ...rest, name: 'other' }) === a.hash, false);
  // pinned: a change of this value means every recorded stack looks drifted
  const pinned = load(`
name: pinned
services:
  app:
    command: ./app --port 8000
`);
  t.equal(pinned.hash, projectHash(pinned));
  t.equal(pinned.services[0]!.name, 'app');
});
