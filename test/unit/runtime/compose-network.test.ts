// The compose networks of process services (runtime/process/compose-network.ts): the plan is the
// manifest's alone, so a restore and a clone get the same addresses; names follow compose's DNS.
import t from 'tap';
import { addressesOf, holderFiles, holdScript, onDockerNetworks, onHubNetworks, planComposeNetworks } from '../../../src/runtime/process/compose-network.js';
import { wantedPorts } from '../../../src/runtime/process/stack-network.js';
import { CkptError } from '../../../src/errors.js';
import { composeLoader } from '../../helpers/compose.js';

const { load, problems } = composeLoader(t, 'ckpt-pnet-');

const STACK = `
networks:
  back:
    ipam:
      config: [{ subnet: 10.77.0.0/24 }]
  front: {}
services:
  db:
    command: ["sleep", "1"]
    networks:
      back:
        aliases: [database, pg]
        ipv4_address: 10.77.0.10
  app:
    command: ["sleep", "1"]
    networks:
      front:
        priority: 1
      back: {}
    ports: ["127.0.0.1:8080:80"]
  edge:
    command: ["sleep", "1"]
    hostname: edge-host
    networks: [front]
  host:
    command: ["sleep", "1"]
`;

t.test('a process service with networks: is on compose networks; one without keeps host', async (t) => {
  const { project, warnings } = await load(STACK);
  t.same(Object.fromEntries(project.services.map((s) => [s.name, s.xCkpt.network])), { db: 'compose', app: 'compose', edge: 'compose', host: 'host' });
  t.same(warnings, [], 'nothing to warn about');
  t.same(project.services.find((s) => s.name === 'app')!.networks!.map((a) => a.network), ['front', 'back'], 'priority orders the interfaces');
  const x = await load('x-ckpt:\n  network: compose\nservices:\n  a:\n    command: ["sleep", "1"]\n');
  t.same(x.project.services[0]!.networks, [{ network: 'default', aliases: [] }], 'x-ckpt.network: compose without networks: joins default');
});

t.test('the plan: bridges, fixed and hashed addresses, interface names', async (t) => {
  const { project } = await load(STACK);
  const plan = planComposeNetworks(project);
  t.same(plan.bridges, [
    { network: 'back', bridge: 'ckbr0', subnet: '10.77.0.0/24', prefixLen: 24, gateway: '10.77.0.1' },
    { network: 'front', bridge: 'ckbr1', subnet: '10.250.1.0/24', prefixLen: 24, gateway: '10.250.1.1' },
  ]);
  const ifs = (s: string) => plan.services.get(s)!.interfaces;
  t.same(ifs('db').map((i) => `${i.ifname}=${i.ip}@${i.bridge}`), ['eth0=10.77.0.10@ckbr0'], 'db has its fixed address');
  t.same(ifs('app').map((i) => `${i.ifname}@${i.bridge}`), ['eth0@ckbr1', 'eth1@ckbr0'], 'first network first');
  const all = [...plan.services.values()].flatMap((p) => p.interfaces);
  t.ok(all.every((i) => i.ip.startsWith(i.network === 'back' ? '10.77.0.' : '10.250.1.') && !/\.(0|1|255)$/.test(i.ip)), 'in the subnet, never the gateway or an end');
  t.equal(new Set(all.map((i) => i.ip)).size, all.length, 'no address twice');
  t.notOk(plan.services.has('host'));
  t.same(planComposeNetworks(project), plan, 'the same manifest, the same plan (restore, clone)');
  const peers = all.map((i) => i.peer);
  t.equal(new Set(peers).size, peers.length, 'veth peers have distinct names in the hub');
  t.ok(peers.every((p) => p.length <= 15), 'and fit IFNAMSIZ');

  const more = planComposeNetworks((await load(STACK.replace('  host:\n', '  aaa:\n    command: ["sleep", "1"]\n    networks: [front, back]\n  host:\n'))).project);
  for (const s of ['db', 'app', 'edge']) t.same(addressesOf(more, s), addressesOf(plan, s), `adding a service moves no address (${s})`);
  // five services on a /29 (.2-.6 free): every slot is taken, whatever the names hash to
  const five = ['a', 'b', 'c', 'd', 'e'].map((n) => `  ${n}:\n    command: ["sleep", "1"]\n    networks: [n]\n`).join('');
  const tiny = planComposeNetworks((await load(`networks:\n  n:\n    ipam:\n      config: [{ subnet: 10.9.0.0/29 }]\nservices:\n${five}`)).project);
  t.same([...tiny.services.values()].map((p) => p.interfaces[0]!.ip).sort(), ['10.9.0.2', '10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6'], 'collisions probe on to the free addresses');
});

t.test('hosts files: the peers on shared networks, with aliases; hostname; no others', async (t) => {
  const plan = planComposeNetworks((await load(STACK)).project);
  const ip = (s: string, n: string) => plan.services.get(s)!.interfaces.find((i) => i.network === n)!.ip;
  const app = plan.services.get('app')!.hosts;
  t.match(app, /^127\.0\.0\.1\tlocalhost\n/);
  t.ok(app.includes(`\n10.77.0.10\tdb database pg\n`), 'db by name and aliases, on back');
  t.ok(app.includes(`\n${ip('app', 'front')}\tapp\n`), 'itself at its first network');
  t.ok(app.includes(`\n${ip('edge', 'front')}\tedge\n`), 'a peer by its service name (its hostname is its own, as in compose)');
  const edge = plan.services.get('edge')!.hosts;
  t.ok(edge.includes(`\n${ip('edge', 'front')}\tedge edge-host\n`), 'a service finds its own hostname');
  t.notMatch(edge, /db/, 'edge shares no network with db');
  t.ok(edge.includes(`\n${ip('app', 'front')}\tapp\n`), 'app at its address on front');
});

t.test('published ports go to the service\'s address in the hub', async (t) => {
  const { project } = await load(STACK);
  const appIp = planComposeNetworks(project).services.get('app')!.interfaces[0]!.ip;
  t.same(wantedPorts(project, false), [{ service: 'app', hostIp: '127.0.0.1', hostPort: 8080, target: 80, targetIp: appIp }]);
  t.same(wantedPorts(project, true)[0]!.hostPort, 0, 'a clone asks for a free port');
});

t.test('bad addresses are refused with the network and the fix', async (t) => {
  const wrong = STACK.replace('ipv4_address: 10.77.0.10', 'ipv4_address: 10.78.0.10');
  const e = await load(wrong).then(({ project }) => planComposeNetworks(project)).catch((x: unknown) => x);
  t.ok(e instanceof CkptError);
  t.match((e as CkptError).message, /ipv4_address 10\.78\.0\.10 is not in network back's subnet 10\.77\.0\.0\/24/);
  const gw = await load(STACK.replace('ipv4_address: 10.77.0.10', 'ipv4_address: 10.77.0.1')).then(({ project }) => planComposeNetworks(project)).catch((x: unknown) => x);
  t.match((gw as CkptError).message, /is taken/);
  const small = STACK.replace('subnet: 10.77.0.0/24', 'subnet: 10.77.0.0/30');
  const full = await load(small.replace('ipv4_address: 10.77.0.10', 'ipv4_address: 10.77.0.2')).then(({ project }) => planComposeNetworks(project)).catch((x: unknown) => x);
  t.match((full as CkptError).message, /network back \(10\.77\.0\.0\/30\) has no address left for service app/);
});

t.test('what the loader says about compose networks on process services', async (t) => {
  const ignored = await load('services:\n  a:\n    command: ["sleep", "1"]\n    x-ckpt: { network: stack }\n    networks: [n]\nnetworks:\n  n: {}\n');
  t.match(ignored.warnings.join('\n'), /services\.a: `networks` is ignored: x-ckpt\.network is `stack`; a process service joins compose networks with x-ckpt\.network: compose/);
  t.match(ignored.warnings.join('\n'), /networks: `n` is not created: no service joins compose networks/);
  const mixed = await load('services:\n  a:\n    command: ["sleep", "1"]\n    networks: [n]\n  b:\n    image: x\n    networks: [n]\nnetworks:\n  n: {}\n');
  t.same(mixed.warnings, [], 'a network of containers and process services is honoured (network holders)');
  t.same(mixed.project.services.map((s) => [s.name, onDockerNetworks(mixed.project, s), onHubNetworks(mixed.project, s)]), [['a', true, false], ['b', false, false]]);
  t.same(planComposeNetworks(mixed.project).bridges, [], 'the hub has no bridge for it: it is Docker\'s');
  t.same(wantedPorts(mixed.project, false), [], 'and Docker publishes its ports');
  const both = await load('services:\n  a:\n    command: ["sleep", "1"]\n    networks: [n, m]\n  b:\n    image: x\n    networks: [n]\n  c:\n    command: ["sleep", "1"]\n    networks: [m]\nnetworks:\n  n: {}\n  m: {}\n');
  t.same(both.warnings, [], 'a process service on both kinds of networks is honoured');
  const bp = planComposeNetworks(both.project);
  t.same(bp.bridges.map((b) => b.network), ['m'], 'the hub has a bridge only for the network without containers');
  t.same(bp.services.get('a')!.interfaces.map((i) => `${i.ifname}@${i.network}`), ['ckh0@m'], "in its holder's namespace, the hub's interface beside Docker's eth0");
  t.equal(bp.services.get('a')!.inHolder, true, 'and no default route of the hub');
  t.ok(bp.services.get('c')!.hosts.includes(`${bp.services.get('a')!.interfaces[0]!.ip}\ta\n`), 'c finds a on m');
  const opts = await load('services:\n  a:\n    command: ["sleep", "1"]\n    networks:\n      n:\n        ipv6_address: "fd00::2"\n        mac_address: "02:42:ac:11:00:02"\nnetworks:\n  n:\n    driver: overlay\n    labels: [x=y]\n');
  const w = opts.warnings.join('\n');
  t.match(w, /services\.a\.networks\.n: `mac_address` is not acted on by ckpt yet: the service joins n without it/);
  t.match(w, /services\.a\.networks\.n: `ipv6_address` is not acted on for a process service: its compose networks are IPv4 only/);
  t.match(w, /networks\.n: `driver` is not acted on: the process services' network `n` is a bridge of ckpt's own/);
  t.match(w, /networks\.n: `labels` is for Docker networks/);
  t.match(await problems('services:\n  a:\n    command: ["sleep", "1"]\n    networks: [n]\nnetworks:\n  n:\n    external: true\n'), /networks\.n: is an external \(Docker\) network, which process services \(a\) cannot join/);
  const dock = await load('services:\n  b:\n    image: x\n    networks:\n      n:\n        link_local_ips: ["169.254.1.1"]\nnetworks:\n  n: {}\n');
  t.match(dock.warnings.join('\n'), /`link_local_ips` is not acted on by ckpt yet: the service joins n without it/, 'a container is told too');
});

t.test('the hold drops every frame on the hub\'s bridges', async (t) => {
  t.match(holdScript(), /^table bridge ckpt_hold \{\n chain forward \{ type filter hook forward priority -300; policy drop; \}\n chain input .*\n chain output .*\n\}\n$/);
});

t.test('a service in a network holder: its own names, and Docker\'s DNS', async (t) => {
  const { project } = await load('services:\n  a:\n    command: ["sleep", "1"]\n    hostname: box\n    networks:\n      n:\n        aliases: [alpha]\n  b:\n    image: x\n    networks: [n]\nnetworks:\n  n: {}\n');
  const f = holderFiles(project.services.find((s) => s.name === 'a')!, '172.20.0.3');
  t.equal(f.hosts, '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n172.20.0.3\ta box alpha\n');
  t.equal(f.resolv, 'nameserver 127.0.0.11\noptions ndots:0\n');
});

t.test('network_mode on a process service: host and none are honoured, the rest is named', async (t) => {
  const { project, warnings } = await load(
    'services:\n  h:\n    command: ["sleep", "1"]\n    network_mode: host\n  n:\n    command: ["sleep", "1"]\n    network_mode: none\n  s:\n    command: ["sleep", "1"]\n    network_mode: "service:h"\n  o:\n    command: ["sleep", "1"]\n    network_mode: none\n    x-ckpt: { network: stack }\n',
  );
  t.same(Object.fromEntries(project.services.map((s) => [s.name, s.xCkpt.network])), { h: 'host', n: 'private', s: 'host', o: 'stack' });
  const w = warnings.join('\n');
  t.match(w, /services\.s: `network_mode: service:h` is not acted on for a process service \(it takes host and none\); its network is `host`/);
  t.match(w, /services\.o: `network_mode` is overridden by x-ckpt\.network: stack/);
  t.notMatch(w, /services\.(h|n):/, 'host and none need no word');
});
