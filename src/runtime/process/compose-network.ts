// Compose networks for process services (x-ckpt.network: compose, or `networks:` on a process
// service): each service has a network namespace of its own, reaches the others by service name
// and alias, and keeps its address across checkpoint, restore and clone.
//
// Design (issue 15's network model for process services; runtime/docker/networks.ts has the
// containers' half):
// - Who creates the namespaces: ckpt. The stack's hub is the `ckpt-shim netns` holder of
//   stack-network.ts (it publishes the ports); in it, one Linux bridge per compose network, with
//   the network's gateway address. Each service gets a namespace of its own, held by another
//   `ckpt-shim netns` (no ports), and one veth per network it joins: eth0, eth1… inside, the
//   other end on the network's bridge in the hub. The hub does not forward between bridges, so
//   services meet only on the networks they share, as in compose; the hub has no uplink, so the
//   services reach only each other and whoever connects to a published port.
// - Who owns the addresses: ckpt, by this plan, which depends on the manifest only: the network's
//   `ipam` subnet (else 10.250.<n>.0/24), the gateway (.1 unless given), each `ipv4_address` as
//   asked, and the other services at a slot their name hashes to (the next free one on a
//   collision). So the same project always gets the same addresses, a restore or a clone needs no
//   record of them, and a service added to a running stack moves no other (an `up` recreates a
//   service whose address did move, and rewrites the hosts files of those it keeps).
// - Names: the shim binds a generated hosts file over /etc/hosts in the service's mount
//   namespace, with every service (and alias) it shares a network with, at the address on the
//   first network they share. A checkpoint names that mount as external (HOSTS_KEY) and a restore
//   binds the new one: a set never carries the file.
// - What a set records: nothing beyond the spec. The service's namespace is external to CRIU, as
//   a container's is to runc: CRIU dumps the sockets and restores them into the namespace ckpt
//   made again with the same addresses, so established connections between services survive.
// - How a clone gets its own: a clone is another stack with its own hub and namespaces, and the
//   same plan: the same names and addresses inside, isolated from the original; only its
//   published host ports differ (free ones).
// - While the stack is cut or restored, one bridge-family nft table in the hub drops the traffic
//   on its bridges (holdScript), so that no end of a connection moves while its peer is dumped
//   or not back yet; the thaw guard deletes it if ckpt dies.
// - A compose network that containers join too is Docker's: a process service on it lives in the
//   network namespace of a holder container (runtime/docker/net-holder.ts). If it is on networks
//   of the hub's as well, veths from the hub come into that namespace too (ckh0…, beside Docker's
//   eth0…, and no default route: Docker's is), and its hosts file names the hub's peers; this plan
//   knows only its hub part.
// Not yet: IPv6; an uplink from the hub (its services reach only each other and whoever connects
// to a published port).
import { CkptError } from '../../errors.js';
import type { NetworkAttachment, Project, Service } from '../../manifest/types.js';
import { run } from '../../util/exec.js';
import { ipToNum, numToIp, parseCidr, prefixMask } from '../../util/ipv4.js';

/** CRIU's key for the service's /etc/hosts bind mount (--external mnt[…]). */
export const HOSTS_KEY = 'ckpt-hosts';
/** the nft table (bridge family, in the hub) that holds the stack's traffic */
export const HOLD_TABLE = 'ckpt_hold';

export interface PlannedBridge {
  network: string;
  /** the bridge's name in the hub */
  bridge: string;
  subnet: string;
  prefixLen: number;
  gateway: string;
}

export interface PlannedInterface {
  network: string;
  /** its name inside the service's namespace */
  ifname: string;
  /** the other end's name, on the bridge in the hub */
  peer: string;
  bridge: string;
  ip: string;
  prefixLen: number;
  gateway: string;
}

export interface ServiceNetworkPlan {
  interfaces: PlannedInterface[];
  /** the service's /etc/hosts */
  hosts: string;
  /** it lives in a holder's namespace (it is on Docker's networks too): Docker's route is its default */
  inHolder?: boolean;
}

export interface ComposeNetworkPlan {
  bridges: PlannedBridge[];
  services: Map<string, ServiceNetworkPlan>;
}

export function onComposeNetworks(s: Service): boolean {
  return s.xCkpt.runtime === 'process' && s.xCkpt.network === 'compose';
}

/** The compose networks that containers join: Docker's, for process services too (runtime/docker/net-holder.ts). */
export function dockerNetworkKeys(project: Project): Set<string> {
  return new Set(project.services.filter((s) => s.xCkpt.runtime === 'docker').flatMap((s) => (s.networks ?? []).map((a) => a.network)));
}

/** A process service on networks that containers join: it lives in a network holder container (the loader refuses a mix). */
export function onDockerNetworks(project: Project, s: Service): boolean {
  if (!onComposeNetworks(s)) return false;
  const docker = dockerNetworkKeys(project);
  return (s.networks ?? []).some((a) => docker.has(a.network));
}

/** A process service's attachments to networks of the hub's (those no container joins). */
export function hubAttachments(project: Project, s: Service): NetworkAttachment[] {
  if (!onComposeNetworks(s)) return [];
  const docker = dockerNetworkKeys(project);
  return (s.networks ?? []).filter((a) => !docker.has(a.network));
}

/** A process service on networks of the hub's (it may be on Docker's too, from a holder's namespace). */
export function onHubNetworks(project: Project, s: Service): boolean {
  return hubAttachments(project, s).length > 0;
}

export function usesComposeNetworks(project: Project): boolean {
  return project.services.some((s) => onHubNetworks(project, s));
}

const DEFAULT_POOL = (i: number): string => `10.250.${i}.0/24`;

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** What a service's interfaces are, in one comparable form: a service started with others is recreated. */
export function addressesOf(plan: ComposeNetworkPlan, service: string): string[] | undefined {
  return plan.services.get(service)?.interfaces.map((i) => `${i.network}=${i.ip}/${i.prefixLen}`);
}

/** The bridges, addresses and hosts files of a project's process services (pure). */
export function planComposeNetworks(project: Project): ComposeNetworkPlan {
  // each member with its attachments to the hub's networks only (Docker's are its holder's)
  const members = project.services.filter((s) => onHubNetworks(project, s)).map((s) => ({ ...s, networks: hubAttachments(project, s) }));
  const inHolder = new Set(project.services.filter((s) => onDockerNetworks(project, s)).map((s) => s.name));
  const keys = [...new Set(members.flatMap((s) => s.networks.map((a) => a.network)))].sort();
  const bridges: PlannedBridge[] = keys.map((key, i) => {
    const ipam = project.networks?.find((n) => n.key === key)?.ipam?.find((c) => c.subnet && parseCidr(c.subnet));
    const cidr = parseCidr(ipam?.subnet ?? DEFAULT_POOL(i))!;
    const gateway = ipam?.gateway ?? numToIp(cidr.base + 1);
    return { network: key, bridge: `ckbr${i}`, subnet: `${numToIp(cidr.base)}/${cidr.prefixLen}`, prefixLen: cidr.prefixLen, gateway };
  });

  // addresses, network by network: fixed ones first, then the rest in the stack's order
  const address = new Map<string, string>(); // `${service}\0${network}`
  for (const b of bridges) {
    const cidr = parseCidr(b.subnet)!;
    const range = project.networks?.find((n) => n.key === b.network)?.ipam?.find((c) => c.ipRange && parseCidr(c.ipRange));
    const pool = range ? parseCidr(range.ipRange!)! : cidr;
    const taken = new Set([ipToNum(b.gateway), cidr.base, (cidr.base | ~prefixMask(cidr.prefixLen)) >>> 0]);
    const on = members.filter((s) => s.networks!.some((a) => a.network === b.network));
    for (const s of on) {
      const fixed = s.networks!.find((a) => a.network === b.network)!.ipv4Address;
      if (!fixed) continue;
      const n = ipToNum(fixed);
      if (((n & prefixMask(cidr.prefixLen)) >>> 0) !== cidr.base) {
        throw new CkptError('MANIFEST_INVALID', `service ${s.name}: ipv4_address ${fixed} is not in network ${b.network}'s subnet ${b.subnet}`, {
          hint: `Pick an address in ${b.subnet}, or set the network's ipam subnet.`,
        });
      }
      if (taken.has(n)) {
        throw new CkptError('MANIFEST_INVALID', `service ${s.name}: ipv4_address ${fixed} on network ${b.network} is taken (the gateway, the subnet's ends or another service)`, {
          hint: 'Give each service its own address.',
        });
      }
      taken.add(n);
      address.set(`${s.name}\0${b.network}`, fixed);
    }
    // A service's slot comes from its name, not its place in the stack, so that adding a service
    // to a running stack moves no other one (a collision probes on, in the order of the names).
    const first = pool.base + 1;
    const size = Math.max(0, ((pool.base | ~prefixMask(pool.prefixLen)) >>> 0) - first);
    for (const s of [...on].sort((x, y) => (x.name < y.name ? -1 : 1))) {
      if (address.has(`${s.name}\0${b.network}`)) continue;
      const start = size ? fnv1a(s.name) % size : 0;
      let found: number | undefined;
      for (let i = 0; i < size && found === undefined; i++) {
        const n = first + ((start + i) % size);
        if (!taken.has(n)) found = n;
      }
      if (found === undefined) {
        throw new CkptError('MANIFEST_INVALID', `network ${b.network} (${range?.ipRange ?? b.subnet}) has no address left for service ${s.name}`, {
          hint: 'Give the network a larger ipam subnet.',
        });
      }
      taken.add(found);
      address.set(`${s.name}\0${b.network}`, numToIp(found));
    }
  }

  const byNetwork = new Map(bridges.map((b) => [b.network, b]));
  const services = new Map<string, ServiceNetworkPlan>();
  // the hub's end of a service's veth is named after the service, not its place: an `up` that
  // adds a service must not pick a name a running one has
  const peerBase = new Map<string, string>();
  const used = new Set<string>();
  for (const s of [...members].sort((x, y) => (x.name < y.name ? -1 : 1))) {
    let base = `ck${fnv1a(s.name).toString(36)}`;
    for (let i = 0; used.has(base); i++) base = `ck${fnv1a(`${s.name}#${i}`).toString(36)}`;
    used.add(base);
    peerBase.set(s.name, base);
  }
  members.forEach((s) => {
    const interfaces = s.networks!.map((a, k): PlannedInterface => {
      const b = byNetwork.get(a.network)!;
      // in a holder's namespace, Docker's interfaces are eth0…: the hub's are ckh0…
      return { network: a.network, ifname: inHolder.has(s.name) ? `ckh${k}` : `eth${k}`, peer: `${peerBase.get(s.name)}n${k}`, bridge: b.bridge, ip: address.get(`${s.name}\0${a.network}`)!, prefixLen: b.prefixLen, gateway: b.gateway };
    });
    services.set(s.name, { interfaces, hosts: hostsFile(s, members, address), ...(inHolder.has(s.name) ? { inHolder: true } : {}) });
  });
  return { bridges, services };
}

function hostsFile(self: Service, members: Service[], address: Map<string, string>): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  const mine = self.networks!.map((a) => a.network);
  for (const other of members) {
    // compose's DNS: a peer is found on the first of our networks it is on too
    const shared = mine.find((n) => other.networks!.some((a) => a.network === n));
    if (!shared) continue;
    const names = [other.name, ...other.networks!.find((a) => a.network === shared)!.aliases];
    if (other === self && self.xCkpt.hostname && !names.includes(self.xCkpt.hostname)) names.push(self.xCkpt.hostname);
    lines.push(`${address.get(`${other.name}\0${shared}`)}\t${[...new Set(names)].join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A process service in a holder container's namespace: its own names, and Docker's DNS for the rest (pure). */
export function holderFiles(service: Service, ip: string | undefined): { hosts: string; resolv: string } {
  const names = [...new Set([service.name, ...(service.xCkpt.hostname ? [service.xCkpt.hostname] : []), ...(service.networks?.[0]?.aliases ?? [])])];
  return {
    hosts: ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', ...(ip ? [`${ip}\t${names.join(' ')}`] : []), ''].join('\n'),
    // what Docker writes into a container on a user-defined network
    resolv: 'nameserver 127.0.0.11\noptions ndots:0\n',
  };
}

/** CRIU's key for the /etc/resolv.conf bind mount of a service in a holder's namespace. */
export const RESOLV_KEY = 'ckpt-resolv';

async function ipBatch(netns: string, commands: string[], what: string): Promise<void> {
  if (commands.length === 0) return;
  const r = await run('nsenter', [`--net=${netns}`, 'ip', '-batch', '-'], { input: `${commands.join('\n')}\n` });
  if (r.exitCode !== 0) {
    throw new CkptError('SERVICE_START_FAILED', `cannot set up ${what}: ${r.stderr.trim() || r.stdout.trim()}`, {
      hint: 'ckpt needs iproute2 (`ip`) and nsenter; see `ckpt doctor`.',
    });
  }
}

/** The hub's bridges, each with its network's gateway address; those already there are readdressed (an `up` of a changed manifest). */
export async function setUpBridges(hubNetns: string, plan: ComposeNetworkPlan): Promise<void> {
  const r = await run('nsenter', [`--net=${hubNetns}`, 'ip', '-o', 'link', 'show', 'type', 'bridge']);
  const present = new Set([...r.stdout.matchAll(/^\d+: ([^:@]+)[:@]/gm)].map((m) => m[1]!));
  await ipBatch(
    hubNetns,
    plan.bridges.flatMap((b) => [
      present.has(b.bridge) ? `addr flush dev ${b.bridge}` : `link add ${b.bridge} type bridge`,
      `addr add ${b.gateway}/${b.prefixLen} dev ${b.bridge}`,
      `link set ${b.bridge} up`,
    ]),
    "the stack's compose networks",
  );
}

/** Wires a service's namespace (held by `netnsPid`) to the hub's bridges, with its addresses and route. */
export async function attachService(hubNetns: string, netnsPid: number, service: string, p: ServiceNetworkPlan): Promise<void> {
  await ipBatch(
    hubNetns,
    p.interfaces.flatMap((i) => [`link add ${i.peer} type veth peer name ${i.ifname} netns ${netnsPid}`, `link set ${i.peer} master ${i.bridge}`, `link set ${i.peer} up`]),
    `service ${service}'s network links`,
  );
  await ipBatch(
    `/proc/${netnsPid}/ns/net`,
    [
      ...p.interfaces.flatMap((i) => [`addr add ${i.ip}/${i.prefixLen} dev ${i.ifname}`, `link set ${i.ifname} up`]),
      ...(p.interfaces[0] && !p.inHolder ? [`route add default via ${p.interfaces[0].gateway}`] : []),
    ],
    `service ${service}'s addresses`,
  );
}

/** Drops every frame on the hub's bridges (pure). */
export function holdScript(table = HOLD_TABLE): string {
  const chain = (name: string): string => ` chain ${name} { type filter hook ${name} priority -300; policy drop; }`;
  return [`table bridge ${table} {`, chain('forward'), chain('input'), chain('output'), '}', ''].join('\n');
}

export async function hold(hubNetns: string, table = HOLD_TABLE): Promise<void> {
  const r = await run('nsenter', [`--net=${hubNetns}`, 'nft', '-f', '-'], { input: holdScript(table) });
  if (r.exitCode !== 0) {
    throw new CkptError('CHECKPOINT_FAILED', `cannot hold the stack's traffic: ${r.stderr.trim()}`, {
      hint: 'ckpt needs nftables with the bridge family (`ckpt doctor` checks it).',
    });
  }
}

export async function release(hubNetns: string, table = HOLD_TABLE): Promise<void> {
  await run('nsenter', [`--net=${hubNetns}`, 'nft', 'delete', 'table', 'bridge', table]);
}
