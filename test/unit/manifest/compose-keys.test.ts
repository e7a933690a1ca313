// Every key of the Compose Specification (its published schema, schema/compose-spec.json) has an
// answer in ckpt: modelled by ckpt's own schema, or a verdict in compose/keys.ts. A key added to
// the spec, or dropped from ckpt's schema, fails here until it is given one.
import t from 'tap';
import { specKeys } from '../../../src/manifest/compose/spec-schema.js';
import { SERVICE_KEYS, TOP_LEVEL_KEYS } from '../../../src/manifest/compose/keys.js';
import { manifestSchema } from '../../../src/manifest/validate.js';
import { join } from 'node:path';
import { composeLoader } from '../../helpers/compose.js';

const ckpt = manifestSchema() as { properties: Record<string, unknown>; definitions: { service: { properties: Record<string, unknown> } } };

t.test('every service key of the spec is modelled by ckpt or has a verdict', async (t) => {
  const modelled = new Set(Object.keys(ckpt.definitions.service.properties));
  const missing = specKeys().service.filter((k) => !modelled.has(k) && !SERVICE_KEYS[k]);
  t.same(missing, [], 'no service key without an answer');
  t.ok(specKeys().service.length > 80, `${specKeys().service.length} service keys in the spec`);
  const stale = Object.keys(SERVICE_KEYS).filter((k) => !specKeys().service.includes(k) || modelled.has(k));
  t.same(stale, [], 'the table names only spec keys that ckpt\'s schema does not model');
});

t.test('every top-level key of the spec is modelled by ckpt or has a verdict', async (t) => {
  const modelled = new Set(Object.keys(ckpt.properties));
  t.same(specKeys().top.filter((k) => !modelled.has(k) && !TOP_LEVEL_KEYS[k]), []);
});

t.test('each table key, written in a service, gives its warning or refusal; a typo is still an unknown key', async (t) => {
  const { dir, load, problems } = composeLoader(t, 'ckpt-keys-');
  const r = await load('services:\n  app:\n    image: x\n    cap_add: [NET_ADMIN]\n    container_name: mine\n    expose: ["80"]\n');
  t.notMatch(r.warnings.join('\n'), /cap_add/, 'a container takes cap_add: no warning');
  t.same(r.project.services[0]!.container, { capAdd: ['NET_ADMIN'] });
  const opts = await load(
    'services:\n  app:\n    image: x\n    privileged: "true"\n    init: true\n    read_only: false\n    sysctls: [net.core.somaxconn=1024]\n    extra_hosts: {db: "10.0.0.2"}\n    shm_size: 64m\n    tmpfs: [/run, "/cache:size=1m"]\n    mem_limit: 512m\n    cpus: "0.5"\n    pids_limit: 100\n    stop_signal: SIGINT\n    dns: 1.1.1.1\n',
  );
  t.same(opts.project.services[0]!.container, {
    privileged: true,
    init: true,
    readOnly: false,
    sysctls: { 'net.core.somaxconn': '1024' },
    dns: ['1.1.1.1'],
    extraHosts: ['db:10.0.0.2'],
    shmSizeBytes: 64 * 1024 ** 2,
    tmpfs: ['/run', '/cache:size=1m'],
    memLimitBytes: 512 * 1024 ** 2,
    cpus: 0.5,
    pidsLimit: 100,
    stopSignal: 'SIGINT',
  }, 'compose\'s coercions: booleans and numbers as strings, byte sizes');
  t.equal(opts.warnings.length, 1, 'all honoured; init alone is named, since checkpoint refuses such a container');
  t.match(opts.warnings[0], /`init` is passed to Docker \(docker-init as pid 1\), but `ckpt checkpoint` refuses such a container/);
  const bad = await problems('services:\n  app:\n    image: x\n    privileged: maybe\n    mem_limit: lots\n    cpus: "half"\n');
  t.match(bad, /services\.app\.privileged: must be true or false/);
  t.match(bad, /services\.app\.mem_limit: must be a size/);
  t.match(bad, /services\.app\.cpus: must be a number/);
  t.match(r.warnings.join('\n'), /compose\.yaml:5:5: services\.app: `container_name` is ignored: ckpt names containers <project>-<service>-1/);
  t.match(r.warnings.join('\n'), /compose\.yaml:6:5: services\.app: `expose` is documentation here/);
  const p = await load('services:\n  app:\n    command: ["sleep", "1"]\n    cap_add: [NET_ADMIN]\n');
  t.match(p.warnings.join('\n'), /`cap_add` is a container option; a process service ignores it/);
  const pv = await load('services:\n  app:\n    command: ["sleep", "1"]\n    volumes: ["data:/data"]\nvolumes:\n  data:\n    driver: local\n');
  t.notMatch(pv.warnings.join('\n'), /services\.app: `volumes`/, 'a process service\'s volumes are mounted: no warning about them');
  t.match(pv.warnings.join('\n'), /volumes\.data: `driver` is not acted on by ckpt yet/);
  t.match(await problems('services:\n  app:\n    image: x\n    gpus: all\n'), /compose\.yaml:4:5: services\.app: `gpus` is refused: GPU state cannot be checkpointed by CRIU/);
  const tty = await load('services:\n  app:\n    image: x\n    tty: true\n    stdin_open: "yes"\n');
  t.match(tty.project.services[0]!.container, { tty: true, stdinOpen: true }, 'tty and stdin_open are container options (compose\'s boolean strings too)');
  t.same(tty.warnings, [], 'and neither is refused or warned about');
  t.match((await load('services:\n  app:\n    command: [x]\n    tty: true\n')).warnings.join('\n'), /`tty` is a container option; a process service has no terminal/);
  t.match(await problems('services:\n  app:\n    image: x\n    cap_ad: [NET_ADMIN]\n'), /unknown key `cap_ad` — did you mean `cap_add`\?/);
  const built = await load('services:\n  web:\n    build: .\n');
  t.equal(built.project.services[0]!.image, `${built.project.name}-web`, 'a service that only builds runs the image compose would name');
  t.equal(built.project.services[0]!.xCkpt.runtime, 'docker');
  t.same(built.project.services[0]!.build, { context: dir, dockerfile: 'Dockerfile', args: {}, labels: {}, cacheFrom: [], extraHosts: [], pull: false, noCache: false }, 'the short form: a context');
  const long = await load('services:\n  web:\n    image: web:dev\n    build:\n      context: ./app\n      dockerfile_inline: FROM scratch\n      args: [A=1, B]\n      target: dev\n      shm_size: 64m\n      extra_hosts: {db: 10.0.0.2}\n');
  t.match(long.project.services[0]!, { image: 'web:dev', build: { context: join(dir, 'app'), dockerfileInline: 'FROM scratch', args: { A: '1' }, target: 'dev', shmSizeBytes: 64 * 1024 ** 2, extraHosts: ['db:10.0.0.2'] } }, 'the long form');
  t.notOk('dockerfile' in long.project.services[0]!.build!, 'no Dockerfile with an inline one');
  t.match(await problems('services:\n  web:\n    build: {context: ., shm_size: lots}\n'), /services\.web\.build\.shm_size: must be a size/);
  const proc = await load('services:\n  web:\n    command: ["x"]\n    build: .\n    x-ckpt: {runtime: process}\n');
  t.match(proc.warnings.join('\n'), /services\.web: `build` is ignored: the service runs as a process/);
  const sec = await load('services:\n  app:\n    image: x\n    secrets: [a, {source: b, target: /b.txt, mode: 0440, uid: "1"}]\n    configs: [c]\nsecrets:\n  a: {file: ./a.txt}\n  b: {environment: B}\nconfigs:\n  c: {content: hi}\n');
  t.same(sec.project.services[0]!.secrets, [
    { kind: 'secret', name: 'a', target: '/run/secrets/a', from: { file: join(dir, 'a.txt') } },
    { kind: 'secret', name: 'b', target: '/b.txt', from: { env: 'B' }, uid: 1, mode: 0o440 },
    { kind: 'config', name: 'c', target: '/c', from: { content: 'hi' } },
  ], 'targets as compose makes them; mode 0440 is octal, as compose reads it; no secret value is kept');
  t.same(sec.warnings, []);
  t.match(await problems('services:\n  app:\n    image: x\n    secrets: [nope]\n'), /services\.app\.secrets\[0\]: names secret `nope`, which the top-level `secrets:` does not declare/);
  const psec = await load('services:\n  app:\n    command: [x]\n    secrets: [a]\nsecrets:\n  a: {file: ./a.txt}\n');
  t.match(psec.warnings.join('\n'), /`secrets` is not acted on by ckpt yet for a process service: nothing is mounted at \/run\/secrets/);
  const ext = await load('services:\n  app:\n    image: x\n    secrets: [a]\nsecrets:\n  a: {external: true}\n');
  t.match(ext.warnings.join('\n'), /secrets\.a: `external` secrets live in a swarm, which ckpt does not use/);
  const dep = await load('services:\n  app:\n    image: x\n    deploy:\n      replicas: 3\n      placement: {constraints: [node.role==manager]}\n      resources:\n        limits: {cpus: "0.5", memory: 256m, pids: 64}\n        reservations: {memory: 64m, devices: [{capabilities: [gpu]}]}\n');
  t.same(dep.project.services[0]!.container, { cpus: 0.5, memLimitBytes: 256 * 1024 ** 2, pidsLimit: 64, memReservationBytes: 64 * 1024 ** 2 }, 'deploy.resources limits and the memory reservation are the container\'s');
  t.match(dep.warnings.join('\n'), /services\.app\.deploy: `replicas` is not acted on by ckpt yet: one instance of the service runs \(3 asked for\)/);
  t.match(dep.warnings.join('\n'), /services\.app\.deploy: `placement` is for a swarm, which ckpt does not use/);
  t.match(dep.warnings.join('\n'), /reservations: `devices` is not acted on by ckpt yet/);
  const own = await load('services:\n  app:\n    image: x\n    mem_limit: 1g\n    deploy: {resources: {limits: {memory: 256m}}}\n');
  t.equal(own.project.services[0]!.container!.memLimitBytes, 1024 ** 3, 'the service\'s own key wins over deploy\'s');
  const nm = await load('services:\n  vpn:\n    image: v\n  app:\n    image: x\n    network_mode: service:vpn\n  iso:\n    image: y\n    network_mode: none\n');
  const app = nm.project.services.find((s) => s.name === 'app')!;
  t.same([app.container, app.networks, app.dependsOn], [{ networkMode: 'service:vpn' }, [], { vpn: { condition: 'service_started' } }], 'network_mode: no networks; service:x starts after x');
  t.match(nm.warnings.join('\n'), /services\.app\.network_mode: the container runs in another container's network namespace, and `ckpt checkpoint` refuses it/);
  t.notMatch(nm.warnings.join('\n'), /iso/, 'none is checkpointed like any container');
  const nested = await load('services:\n  app:\n    image: x\n    healthcheck:\n      test: ["CMD", "true"]\n      start_interval: 1s\n');
  t.match(nested.warnings.join('\n'), /services\.app\.healthcheck: `start_interval` is a Compose key that is not acted on by ckpt yet; it is ignored/, 'a nested spec key ckpt does not model is named too');
  t.match(await problems('services:\n  app:\n    image: x\n    x-ckpt:\n      restor: {}\n'), /unknown key `restor` — did you mean `restore`\?/, 'inside x-ckpt ckpt\'s schema decides alone');
  t.match(await problems('services:\n  app:\n    image: x\n    cpus: [1]\n'), /services\.app\.cpus: must be .*\(Compose Specification\)/, 'a value the spec refuses is refused, naming the spec');
});
