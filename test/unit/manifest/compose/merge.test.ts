// The merge of compose files (compose/merge.ts), rule by rule, on the model before validation,
// and through the whole loader: the merged project, and problems named by their file and line.
import t from 'tap';
import { loadModel } from '../../../../src/manifest/compose/model.js';
import { loadProject, loadProjectWithWarnings } from '../../../../src/manifest/index.js';
import type { CkptError } from '../../../../src/errors.js';

/** The merged model of in-memory files /p/a.yaml, /p/b.yaml, … (in that order). */
function merged(...texts: string[]): { value: Record<string, unknown>; issues: string[] } {
  const files = Object.fromEntries(texts.map((text, i) => [`/p/${String.fromCharCode(97 + i)}.yaml`, text]));
  const m = loadModel({ files: Object.keys(files), projectDir: '/p', env: { X: 'x' }, readManifest: (p) => files[p], readText: () => undefined, cwd: '/p' });
  return { value: m.value as Record<string, unknown>, issues: m.sources.issues.map((i) => i.message) };
}
const svc = (...texts: string[]): Record<string, unknown> => ((merged(...texts).value['services'] as Record<string, unknown>)['web'] as Record<string, unknown>);

t.test('mappings merge key by key; a later scalar wins; a null keeps the earlier value', async (t) => {
  const { value } = merged('name: one\nservices:\n  web: {image: a, user: u, deploy: {resources: {limits: {cpus: "1"}}}}\n', 'name: two\nservices:\n  web: {image: b, user: null, deploy: {resources: {limits: {memory: 1g}}}}\n  db: {image: d}\n');
  t.equal(value['name'], 'two');
  t.same(value['services'], { web: { image: 'b', user: 'u', deploy: { resources: { limits: { cpus: '1', memory: '1g' } } } }, db: { image: 'd' } });
});

t.test('command, entrypoint and healthcheck.test are replaced; other lists appended', async (t) => {
  const web = svc('services:\n  web: {command: [a, b], entrypoint: x, healthcheck: {test: [CMD, a], retries: 2}, group_add: [g1], security_opt: [s1]}\n', 'services:\n  web: {command: [c], entrypoint: [y], healthcheck: {test: [CMD, b]}, group_add: [g2], security_opt: [s1]}\n');
  t.same(web, { command: ['c'], entrypoint: ['y'], healthcheck: { test: ['CMD', 'b'], retries: 2 }, group_add: ['g1', 'g2'], security_opt: ['s1', 's1'] });
});

t.test('unique entries: ports, expose, volumes by target, secrets and configs by target, dns and capabilities by value', async (t) => {
  const web = svc(
    'services:\n  web:\n    ports: ["8080:80", "9000:9000"]\n    expose: [1, "2"]\n    volumes: [data:/data, ./a:/a]\n    secrets: [s1, {source: s2, target: /x}]\n    configs: [c1]\n    dns: 1.1.1.1\n    cap_add: [NET_ADMIN]\n    extra_hosts: ["a=1.2.3.4"]\n',
    'services:\n  web:\n    ports: ["8080:80", {target: 81, published: 8081}]\n    expose: ["2", 3]\n    volumes: [{type: volume, source: other, target: /data}]\n    secrets: [{source: s3, target: s1}, {source: s4, target: /x}]\n    configs: [{source: c2, target: /c1}]\n    dns: [8.8.8.8, 1.1.1.1]\n    cap_add: [NET_ADMIN, SYS_TIME]\n    extra_hosts: ["a=1.2.3.4", "b=5.6.7.8"]\n',
  );
  t.same(web['ports'], ['8080:80', '9000:9000', { target: 81, published: 8081 }]);
  t.same(web['expose'], [1, '2', 3]);
  t.same(web['volumes'], [{ type: 'volume', source: 'other', target: '/data' }, './a:/a'], 'a volume with the same target takes its place');
  t.same(web['secrets'], [{ source: 's3', target: 's1' }, { source: 's4', target: '/x' }], 's1 is /run/secrets/s1 both ways');
  t.same(web['configs'], [{ source: 'c2', target: '/c1' }]);
  t.same(web['dns'], ['1.1.1.1', '8.8.8.8'], 'a string is a one-item list');
  t.same(web['cap_add'], ['NET_ADMIN', 'SYS_TIME']);
  t.same(web['extra_hosts'], ['a=1.2.3.4', 'b=5.6.7.8']);
});

t.test('KEY=VALUE lists and mappings merge as mappings: environment, labels, build.args, sysctls', async (t) => {
  const web = svc(
    'services:\n  web:\n    environment: [A=1, B=2, C]\n    labels: {l1: a}\n    build: {context: ., args: [X=1]}\n    sysctls: [net.a=1]\n',
    'services:\n  web:\n    environment: {B: "3", D: null}\n    labels: [l2=b, l1=c]\n    build: {args: {Y: 2}}\n    sysctls: [net.a=2, net.b=1]\n',
  );
  t.same(web['environment'], { A: '1', B: '3', C: null, D: null });
  t.same(web['labels'], { l1: 'c', l2: 'b' });
  t.same(web['build'], { context: '.', args: { X: '1', Y: 2 } });
  t.same(web['sysctls'], ['net.a=2', 'net.b=1'], 'two lists stay a list, the later entry of a key in the earlier place');
});

t.test('depends_on and networks: a list merges as a mapping of its names; build: a string is its context', async (t) => {
  const web = svc('services:\n  web: {depends_on: [db], networks: [front], build: ./app}\n', 'services:\n  web: {depends_on: {cache: {condition: service_healthy}}, networks: {back: {aliases: [w]}}, build: {dockerfile: D}}\n');
  t.same(web['depends_on'], { db: { condition: 'service_started' }, cache: { condition: 'service_healthy' } });
  t.same(web['networks'], { front: null, back: { aliases: ['w'] } });
  t.same(web['build'], { context: './app', dockerfile: 'D' });
  t.same(svc('services:\n  web: {depends_on: [db]}\n', 'services:\n  web: {depends_on: [db, cache]}\n')['depends_on'], ['db', 'cache'], 'two lists: their union');
});

t.test('logging merges for the same driver; ulimits entries are replaced', async (t) => {
  t.same(svc('services:\n  web: {logging: {driver: json-file, options: {a: "1"}}}\n', 'services:\n  web: {logging: {options: {b: "2"}}}\n')['logging'], { driver: 'json-file', options: { a: '1', b: '2' } });
  t.same(svc('services:\n  web: {logging: {driver: json-file, options: {a: "1"}}}\n', 'services:\n  web: {logging: {driver: syslog}}\n')['logging'], { driver: 'syslog' });
  t.same(svc('services:\n  web: {ulimits: {nofile: {soft: 1, hard: 2}, nproc: 5}}\n', 'services:\n  web: {ulimits: {nofile: 9}}\n')['ulimits'], { nofile: 9, nproc: 5 });
});

t.test('!reset removes what earlier files set, !override replaces it', async (t) => {
  const web = svc('services:\n  web: {image: a, ports: ["80:80"], environment: {A: "1", B: "2"}, dns: [1.1.1.1]}\n', 'services:\n  web:\n    ports: !reset []\n    environment:\n      A: !reset null\n    dns: !override [8.8.8.8]\n');
  t.same(web, { image: 'a', environment: { B: '2' }, dns: ['8.8.8.8'] });
  t.same(svc('services:\n  web: {image: a, user: !reset u}\n'), { image: 'a' }, 'in a single file, a !reset value is left out');
});

t.test('values that cannot be merged: a problem at the later one, which is kept', async (t) => {
  const r = merged('services:\n  web: {image: a, cap_add: [A]}\n', 'services:\n  web: {cap_add: {x: 1}}\n');
  t.same(r.issues, ['is a mapping, where a.yaml has a list: the two cannot be merged, so this one replaces it']);
});

t.test('each file is interpolated on its own, before the merge', async (t) => {
  t.same(svc('services:\n  web: {image: "$X"}\n', 'services:\n  web: {user: "${X}-2"}\n'), { image: 'x', user: 'x-2' });
});

t.test('the loader: -f files merged, the first one\'s directory is the project directory', async (t) => {
  const dir = t.testdir({
    'compose.yaml': 'services:\n  web: {image: nginx, environment: {A: "1"}, volumes: [./data:/data]}\n',
    '.env': 'TAG=from-dotenv\n',
    other: { 'more.yaml': 'services:\n  web: {image: "nginx:${TAG}", volumes: [./more:/more]}\n' },
  });
  const { project } = await loadProjectWithWarnings({ cwd: dir, files: ['compose.yaml', 'other/more.yaml'], env: {} });
  const web = project.services[0]!;
  t.equal(web.image, 'nginx:from-dotenv', 'the project\'s .env interpolates every file');
  t.same(web.volumes.map((v) => v.source), [`${dir}/data`, `${dir}/more`], 'relative paths of later files are relative to the project directory');
  t.same(project.files, [`${dir}/compose.yaml`, `${dir}/other/more.yaml`]);
  t.equal(project.file, `${dir}/compose.yaml`);
});

t.test('a problem in the second file is reported with its name and line', async (t) => {
  const dir = t.testdir({
    'compose.yaml': 'services:\n  web:\n    image: nginx\n    ports: ["80:80"]\n',
    'prod.yaml': 'services:\n  web:\n    restart: never\n    ports:\n      - "nope"\n  db:\n    image: pg\n    bogus: 1\n',
  });
  const err = (await loadProject({ cwd: dir, files: ['compose.yaml', 'prod.yaml'], env: {} }).catch((e: unknown) => e)) as CkptError;
  t.equal(err.code, 'MANIFEST_INVALID');
  t.equal(err.message, 'compose.yaml: 3 problems');
  t.same(err.details, [
    'prod.yaml:3:14: services.web.restart: must be one of `no`, `always`, `on-failure`, `on-failure:N` or `unless-stopped`',
    'prod.yaml:5:9: services.web.ports[0]: "nope": container port "nope" is not a port number — write "8080:80", "127.0.0.1:8080:80/udp", a number, or a mapping with `target`',
    'prod.yaml:8:5: services.db: unknown key `bogus`',
  ]);
});

t.test('problems of both files: each file\'s own, in the order the files were given', async (t) => {
  const dir = t.testdir({ 'a.yaml': 'services:\n  web: {image: x, command: "${OOPS"}\n', 'b.yaml': 'services:\n  web:\n    stop_grace_period: soon\n' });
  const err = (await loadProject({ cwd: dir, files: ['a.yaml', 'b.yaml'], env: {} }).catch((e: unknown) => e)) as CkptError;
  t.same(err.details, ['a.yaml:2:28: services.web.command: unterminated "${" in "${OOPS"', 'b.yaml:3:24: services.web.stop_grace_period: "soon" is not a duration — write a number with a unit, like 500ms, 10s or 1m30s']);
});
