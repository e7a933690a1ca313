// The build request ckpt sends to dockerd for a BuildSpec, and up's plan once an image is rebuilt.
import t from 'tap';
import { buildOptions, INLINE_DOCKERFILE } from '../../../src/runtime/docker/build.js';
import { planUp } from '../../../src/core/stack.js';
import { serviceConfigHash } from '../../../src/runtime/config-hash.js';
import type { BuildSpec, Project, Service } from '../../../src/manifest/types.js';
import type { ServiceRecord } from '../../../src/runtime/types.js';

const spec: BuildSpec = { context: '/src/app', dockerfile: 'Dockerfile', args: { A: '1' }, labels: { l: 'v' }, cacheFrom: [], extraHosts: [], pull: false, noCache: false };

t.test('the /build query of a BuildSpec', async (t) => {
  t.same(buildOptions(spec, 'p-web'), { t: 'p-web', dockerfile: 'Dockerfile', buildargs: { A: '1' }, labels: { l: 'v' }, rm: true, forcerm: true });
  const full: BuildSpec = { ...spec, dockerfile: undefined, dockerfileInline: 'FROM x', target: 'dev', cacheFrom: ['c:1'], network: 'host', shmSizeBytes: 1024, extraHosts: ['db:10.0.0.2', 'x:1.2.3.4'], pull: true, noCache: true };
  delete full.dockerfile;
  t.same(buildOptions(full, 'p-web'), {
    t: 'p-web',
    dockerfile: INLINE_DOCKERFILE,
    buildargs: { A: '1' },
    labels: { l: 'v' },
    rm: true,
    forcerm: true,
    target: 'dev',
    cachefrom: ['c:1'],
    networkmode: 'host',
    shmsize: 1024,
    extrahosts: 'db:10.0.0.2,x:1.2.3.4',
    pull: true,
    nocache: true,
  });
});

t.test('up recreates a running container whose image was rebuilt, and keeps one whose image is the same', async (t) => {
  const service = { name: 'web', image: 'p-web', build: spec } as unknown as Service;
  const project = { name: 'p', services: [service] } as unknown as Project;
  const rec: ServiceRecord = { service: 'web', runtime: 'docker', configHash: serviceConfigHash(service), startedAt: '', logFile: '', containerId: 'c', imageId: 'sha256:old' };
  const alive = () => true;
  t.same(planUp(project, { web: rec }, alive, new Map([['web', 'sha256:new']])).map((s) => [s.action, s.cause]), [['recreate', 'image rebuilt']]);
  t.same(planUp(project, { web: rec }, alive, new Map([['web', 'sha256:old']])).map((s) => s.action), ['keep']);
  t.same(planUp(project, { web: rec }, alive).map((s) => s.action), ['keep'], 'no build: nothing to compare');
});
