// The pure parts of the docker runtime: a service as a container-create body, Docker's saved
// ports and json-file log lines as ckpt shows them, runc's checkpoint command line.
import t from 'tap';
import { containerConfig, containerName, stateTag } from '../../../src/runtime/docker/container-config.js';
import { dockerLogText } from '../../../src/runtime/docker/logs.js';
import { publishedPorts } from '../../../src/runtime/docker/docker-runtime.js';
import { containerDumpOptions, runcCheckpointArgs } from '../../../src/runtime/docker/checkpoint-container.js';
import { containerVolumes } from '../../../src/runtime/docker/volumes.js';
import { serviceConfigHash } from '../../../src/runtime/config-hash.js';
import type { Project, Service } from '../../../src/manifest/types.js';

const service: Service = {
  name: 'app',
  command: ['node', 'server.js'],
  entrypoint: ['/bin/sh', '-c'],
  commandOnly: ['node server.js'],
  workingDir: '/workspace',
  environment: { A: '1', PORT: '3000' },
  user: '1000:1000',
  dependsOn: {},
  restart: 'on-failure',
  restartMaxRetries: 3,
  image: 'ckpt-devcontainer:1',
  volumes: [
    { type: 'bind', source: '/home/me/src', target: '/workspace', readOnly: false },
    { type: 'bind', source: '/etc/app.conf', target: '/etc/app.conf', readOnly: true },
    { type: 'volume', source: 'cache', target: '/cache', readOnly: false },
  ],
  ports: [
    { host: '127.0.0.1', published: 3000, target: 3000, protocol: 'tcp' },
    { target: 9229, protocol: 'tcp' },
  ],
  xCkpt: { runtime: 'docker', network: 'host', hostname: 'dev', stopGracePeriodMs: 3000, checkpoint: {}, restore: { stdio: 'image', creds: 'image', pid: 'image', pages: 'copy' } },
};
const project: Project = { name: 'proj', file: '/m.yaml', workingDir: '/', services: [service], xCkpt: {}, hash: 'h' };

t.test('a service becomes a container-create body', async (t) => {
  const c = containerConfig(project, service, { stateRoot: '/run/ckpt' });
  t.equal(c.name, 'proj-app-1');
  t.equal(containerName('proj', 'app'), 'proj-app-1');
  t.same(c.Entrypoint, ['/bin/sh', '-c']);
  t.same(c.Cmd, ['node server.js']);
  t.same(c.Env, ['A=1', 'PORT=3000']);
  t.equal(c.WorkingDir, '/workspace');
  t.equal(c.User, '1000:1000');
  t.equal(c.Hostname, 'dev');
  t.same(c.Labels, { 'ckpt.project': 'proj', 'ckpt.service': 'app', 'ckpt.config-hash': serviceConfigHash(service), 'ckpt.state': stateTag('/run/ckpt') });
  t.same(c.ExposedPorts, { '3000/tcp': {}, '9229/tcp': {} });
  t.same(c.HostConfig!.PortBindings, { '3000/tcp': [{ HostIp: '127.0.0.1', HostPort: '3000' }], '9229/tcp': [{ HostIp: '', HostPort: '' }] });
  t.same(c.HostConfig!.Binds, ['/home/me/src:/workspace', '/etc/app.conf:/etc/app.conf:ro']);
  t.same(c.HostConfig!.Mounts, [{ Type: 'volume', Source: 'proj_cache', Target: '/cache', ReadOnly: false }]);
  t.same(c.HostConfig!.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  t.notOk('Runtime' in c.HostConfig!, "Docker's default runtime unless told");
});

t.test('a clone publishes on free host ports and may name the OCI runtime', async (t) => {
  const c = containerConfig({ ...project, name: 'copy' }, service, { stateRoot: '/run/ckpt', remapPorts: true, ociRuntime: 'ckpt-runc' });
  t.equal(c.name, 'copy-app-1');
  t.same(c.HostConfig!.PortBindings!['3000/tcp'], [{ HostIp: '127.0.0.1', HostPort: '' }]);
  t.equal(c.HostConfig!.Runtime, 'ckpt-runc');
  t.equal(c.Labels!['ckpt.config-hash'], serviceConfigHash(service), 'same configuration, same hash');
});

t.test('the state root tag keeps installs apart', async (t) => {
  t.not(stateTag('/run/ckpt'), stateTag('/tmp/x/state'));
  t.match(stateTag('/run/ckpt'), /^[0-9a-f]{8}$/);
});

t.test("Docker's saved ports as ps shows them", async (t) => {
  t.same(publishedPorts({ '3000/tcp': [{ HostIp: '127.0.0.1', HostPort: '32768' }], '9229/tcp': null, '53/udp': [{ HostIp: '', HostPort: '5353' }] }), [
    '0.0.0.0:5353->53/udp',
    '127.0.0.1:32768->3000/tcp',
  ]);
  t.same(publishedPorts(undefined), []);
});

t.test('json-file log lines show their text', async (t) => {
  t.equal(dockerLogText('{"log":"dev server on 3000\\n","stream":"stdout","time":"2026-01-01T00:00:00Z"}'), 'dev server on 3000');
  t.equal(dockerLogText('{"log":"no newline","stream":"stderr"}'), 'no newline');
  t.equal(dockerLogText('plain text'), 'plain text');
  t.equal(dockerLogText('{broken'), '{broken');
});

t.test("runc's checkpoint command line", async (t) => {
  const plan = { id: 'abc', runcRoot: '/run/docker/runtime-runc/moby', volumes: [], criu: '/usr/local/sbin/criu', criuConfig: '/run/ckpt/criu/x.conf', tcpEstablished: false };
  const head = ['--root', '/run/docker/runtime-runc/moby', '--criu', '/usr/local/sbin/criu', 'checkpoint', '--file-locks', '--image-path', '/s/app', '--work-path', '/s/app'];
  t.same(runcCheckpointArgs(plan, '/s/app', true), [...head, '--leave-running', 'abc']);
  t.same(runcCheckpointArgs(plan, '/s/app', false), [...head, 'abc'], 'runc runs the CRIU ckpt runs (CKPT_CRIU), not whichever is first in PATH');
  t.same(runcCheckpointArgs({ ...plan, tcpEstablished: true }, '/s/app', true), [...head, '--leave-running', '--tcp-established', 'abc'], 'connections dumped: a flag, as runc overrides a CRIU options file with its own');
});

t.test("ckpt's CRIU options for container dumps", async (t) => {
  t.same(containerDumpOptions({ tmpfsInline: true }), ['network-lock skip', 'skip-in-flight', 'tmpfs-inline'], 'ckpt holds the traffic itself');
  t.same(containerDumpOptions({ tmpfsInline: false }), ['network-lock skip', 'skip-in-flight'], 'a CRIU without patch 0015 is not given its option (it would refuse the file)');
  t.same(containerDumpOptions({ tmpfsInline: true }, { tcpClose: true }), ['network-lock skip', 'skip-in-flight', 'tmpfs-inline', 'tcp-close'], 'x-ckpt.checkpoint.tcp: close');
});

t.test("a container's volumes, from runc's mounts", async (t) => {
  const mounts = [
    { source: 'proc', destination: '/proc', device: 'proc' },
    { source: '/var/lib/docker/volumes/p_data/_data', destination: '/data', device: 'bind' },
    { source: '/var/lib/docker/volumes/3f2a9c/_data', destination: '/cache', device: 'bind' },
    { source: '/home/dev/src', destination: '/app', device: 'bind' },
    { source: '/var/lib/docker/containers/abc/hosts', destination: '/etc/hosts', device: 'bind' },
    { source: '/var/lib/docker/volumes/p_data/_data/sub', destination: '/sub', device: 'bind' },
  ];
  t.same(containerVolumes(mounts, '/var/lib/docker/'), [
    { target: '/data', source: '/var/lib/docker/volumes/p_data/_data' },
    { target: '/cache', source: '/var/lib/docker/volumes/3f2a9c/_data' },
  ], 'named and anonymous volumes; bind mounts, Docker\'s own files and a volume\'s subdirectory are not volumes');
  t.same(containerVolumes(mounts, '/srv/docker'), [], 'another Docker root');
  t.same(containerVolumes(mounts, '/var/lib/docker', new Set(['/cache'])), [{ target: '/data', source: '/var/lib/docker/volumes/p_data/_data' }], 'an external volume is shared: left out');
});

t.test('compose container options in HostConfig', async (t) => {
  const { hostOptions } = await import('../../../src/runtime/docker/container-config.js');
  t.same(hostOptions({ capAdd: ['NET_ADMIN'], cpus: 0.5, tmpfs: ['/run', '/cache:size=1m,mode=1777'], memLimitBytes: 1024, readOnly: true }), {
    CapAdd: ['NET_ADMIN'],
    ReadonlyRootfs: true,
    Tmpfs: { '/run': '', '/cache': 'size=1m,mode=1777' },
    Memory: 1024,
    NanoCpus: 500_000_000,
  });
  t.same(hostOptions({}), {});
});

t.test('tty and stdin_open are the container\'s Config, not its HostConfig', async (t) => {
  const c = containerConfig(project, { ...service, container: { tty: true, stdinOpen: true } }, { stateRoot: '/run/ckpt' });
  t.equal(c.Tty, true);
  t.equal(c.OpenStdin, true);
  t.notOk('Tty' in c.HostConfig! || 'OpenStdin' in c.HostConfig!);
  const plain = containerConfig(project, service, { stateRoot: '/run/ckpt' });
  t.notOk('Tty' in plain || 'OpenStdin' in plain, 'neither unless asked');
});

t.test('network_mode in Docker\'s terms', async (t) => {
  const { dockerNetworkMode } = await import('../../../src/runtime/docker/container-config.js');
  t.equal(dockerNetworkMode('shop', 'service:vpn'), 'container:shop-vpn-1');
  t.equal(dockerNetworkMode('shop', 'host'), 'host');
  t.equal(dockerNetworkMode('shop', 'none'), 'none');
  t.equal(dockerNetworkMode('shop', 'container:abc'), 'container:abc');
});

t.test('a project network\'s create request', async (t) => {
  const { networkCreateOptions } = await import('../../../src/runtime/docker/networks.js');
  const o = networkCreateOptions('shop', { key: 'back', internal: true, ipam: [{ subnet: '172.28.0.0/16' }], labels: { team: 'pay', 'ckpt.project': 'forged' }, attachable: true }, '/run/ckpt');
  t.match(o, { Name: 'shop_back', Driver: 'bridge', Internal: true, Attachable: true, IPAM: { Driver: 'default', Config: [{ Subnet: '172.28.0.0/16' }] } });
  t.equal(o.Labels!['team'], 'pay', 'the user\'s labels');
  t.equal(o.Labels!['ckpt.project'], 'shop', 'ckpt\'s own win');
  t.equal(networkCreateOptions('shop', { key: 'x', name: 'given' }, '/run/ckpt').Name, 'given');
});

t.test("a restore's addresses: subnets and host parts", async (t) => {
  const { subnetOf, translate, lockScript } = await import('../../../src/runtime/docker/addresses.js');
  t.equal(subnetOf({ ip: '172.18.0.3', prefixLen: 16 }), '172.18.0.0/16');
  t.equal(subnetOf({ ip: '192.168.96.130', prefixLen: 20 }), '192.168.96.0/20');
  t.equal(translate('172.18.0.3', 16, '192.168.96.0/20'), '192.168.96.3', "a clone's container keeps its host part");
  t.equal(translate('172.18.1.3', 16, '192.168.96.0/20'), '192.168.97.3');
  t.equal(translate('172.18.200.3', 16, '192.168.96.0/20'), undefined, 'a host part the new subnet cannot hold');
  const nft = lockScript('ckpt_hold_shop_1', ['172.18.0.2', '172.18.0.3']);
  t.match(nft, /table bridge ckpt_hold_shop_1 \{/);
  t.match(nft, /elements = \{ 172\.18\.0\.2, 172\.18\.0\.3 \}/);
  t.match(nft, /hook forward .* ip saddr @stack drop; ip daddr @stack drop;/, 'between the containers, on the bridge');
  t.match(nft, /hook input .* ip saddr @stack drop;/);
  t.match(nft, /hook output .* ip daddr @stack drop;/);
});
