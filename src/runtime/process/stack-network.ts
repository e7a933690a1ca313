// A stack's shared network namespace (x-ckpt.network: stack), like a compose network: one
// `ckpt-shim netns` process holds it and publishes the services' ports from the host into it.
// Services join it; CRIU treats it as external (it belongs to no one service), so a restore or a
// clone hands CRIU a new one — which is how 8 clones of a stack listen on the same ports without
// colliding: each has its own namespace, and its published host ports are remapped.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../util/exec.js';
import { CkptError } from '../../errors.js';
import type { Project, Service } from '../../manifest/types.js';
import { shimPath } from '../../paths.js';
import { isAlive, readStat } from '../../util/proc.js';
import { waitFor } from '../../util/time.js';
import { HOLD_TABLE, addressesOf, attachService, holdScript, onDockerNetworks, planComposeNetworks, setUpBridges, usesComposeNetworks } from './compose-network.js';

/** CRIU's key for the stack namespace: `--external net[inode]:KEY` at dump, `--inherit-fd fd[4]:KEY` at restore. */
export const STACK_NETNS_KEY = 'ckpt-stack-net';
export const STACK_NETNS_FD = 4;

export interface PublishedPort {
  service: string;
  hostIp: string;
  hostPort: number;
  target: number;
  /** the service's address on the hub's bridges (compose networks); else 127.0.0.1 in the namespace */
  targetIp?: string;
}

export interface StackNetwork {
  pid: number;
  startTicks?: number;
  ports: PublishedPort[];
  /** the hub has compose networks' bridges (compose-network.ts) */
  bridges?: boolean;
}

/** A stack namespace is the home of `stack` services and the hub of `compose` ones (on networks without containers). */
export function usesStackNetwork(project: Project): boolean {
  return project.services.some((s) => s.xCkpt.runtime === 'process' && s.xCkpt.network === 'stack') || usesComposeNetworks(project);
}

/** The ports to publish: each `stack` or `compose` service's tcp ports; `remap` asks for free host ports (clones). */
export function wantedPorts(project: Project, remap: boolean): PublishedPort[] {
  const out: PublishedPort[] = [];
  const plan = usesComposeNetworks(project) ? planComposeNetworks(project) : undefined;
  for (const s of project.services) {
    // Docker publishes the ports of a process service on Docker's networks (its holder's)
    if (s.xCkpt.runtime !== 'process' || (s.xCkpt.network !== 'stack' && s.xCkpt.network !== 'compose') || onDockerNetworks(project, s)) continue;
    const targetIp = plan?.services.get(s.name)?.interfaces[0]?.ip;
    for (const p of s.ports) {
      if (p.protocol !== 'tcp') continue;
      out.push({ service: s.name, hostIp: p.host ?? '0.0.0.0', hostPort: remap ? 0 : (p.published ?? p.target), target: p.target, ...(targetIp ? { targetIp } : {}) });
    }
  }
  return out;
}

export function netnsPath(net: Pick<StackNetwork, 'pid'>): string {
  return `/proc/${net.pid}/ns/net`;
}

/** The stack's namespace for `project`, with its ports published and its compose networks' bridges; `remap` for a clone. */
export async function startStackNetwork(dir: string, project: Project, remap: boolean): Promise<StackNetwork> {
  const net = await startNetnsHolder(dir, wantedPorts(project, remap));
  if (usesComposeNetworks(project)) {
    try {
      await setUpBridges(netnsPath(net), planComposeNetworks(project));
    } catch (e) {
      await stopStackNetwork(net);
      throw e;
    }
    net.bridges = true;
  }
  return net;
}

/** An `up` of a changed manifest: the hub gets the bridges of networks added since. */
export async function refreshStackNetwork(net: StackNetwork, project: Project): Promise<void> {
  if (!usesComposeNetworks(project)) return;
  await setUpBridges(netnsPath(net), planComposeNetworks(project));
  net.bridges = true;
}

/** A `ckpt-shim netns` holding a new network namespace, publishing `ports` into it. */
export async function startNetnsHolder(dir: string, ports: PublishedPort[]): Promise<StackNetwork> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const args = ['netns', '--state', dir, ...ports.flatMap((p) => ['--publish', `${p.hostIp}:${p.hostPort}:${p.targetIp ? `${p.targetIp}:` : ''}${p.target}`])];
  const child = spawn(shimPath(), args, { detached: true, stdio: 'ignore' });
  child.unref();
  const pid = await waitFor(
    () => {
      try {
        return Number(readFileSync(join(dir, 'netns.pid'), 'utf8').trim()) || undefined;
      } catch {
        return undefined;
      }
    },
    { timeoutMs: 5000, intervalMs: 5 },
  );
  if (!pid) {
    let why = '';
    try {
      why = readFileSync(join(dir, 'netns-failed'), 'utf8').trim();
    } catch {
      why = 'the network holder did not start';
    }
    throw new CkptError('SERVICE_START_FAILED', `cannot create the stack's network: ${why}`, {
      hint: /in use/i.test(why) ? 'Another program (or stack) already publishes that port; stop it or change `ports:`.' : `See ${join(dir, 'shim.log')}`,
      logFile: join(dir, 'shim.log'),
    });
  }
  const actual = readFileSync(join(dir, 'ports'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':'));
  return {
    pid,
    startTicks: readStat(pid)?.startTicks,
    ports: ports.map((p, i) => ({ ...p, hostPort: Number(actual[i]?.[1] ?? p.hostPort) })),
  };
}

/**
 * A compose-networks service's own namespace, wired to the hub (`hubNetns`) with the plan's
 * addresses, and its hosts file: made before the service starts or is restored into it.
 */
export async function startServiceNetns(
  project: Project,
  service: Service,
  serviceDir: string,
  hubNetns: string | undefined,
): Promise<{ holder: StackNetwork; netns: string; hostsFile: string; addresses: string[] }> {
  if (!hubNetns) throw new Error(`service ${service.name} joins compose networks, but the stack has no hub namespace`);
  const all = planComposeNetworks(project);
  const plan = all.services.get(service.name);
  if (!plan) throw new Error(`service ${service.name} is not in its project's compose network plan`);
  const holder = await startNetnsHolder(join(serviceDir, 'netns'), []);
  try {
    await attachService(hubNetns, holder.pid, service.name, plan);
  } catch (e) {
    await stopStackNetwork(holder);
    throw e;
  }
  const hostsFile = join(serviceDir, 'hosts');
  writeFileSync(hostsFile, plan.hosts, { mode: 0o644 });
  return { holder, netns: netnsPath(holder), hostsFile, addresses: addressesOf(all, service.name)! };
}

/**
 * A service in a holder's namespace (Docker's networks) that is on networks of the hub's too: the
 * hub's veths come into the holder's namespace, and its hosts file names the hub's peers.
 */
export async function attachHolderToHub(project: Project, service: Service, holderPid: number, hostsFile: string, hubNetns: string | undefined): Promise<string[]> {
  if (!hubNetns) throw new Error(`service ${service.name} joins compose networks of the hub, but the stack has no hub namespace`);
  const all = planComposeNetworks(project);
  const plan = all.services.get(service.name)!;
  await attachService(hubNetns, holderPid, service.name, plan);
  writeFileSync(hostsFile, plan.hosts, { mode: 0o644 });
  return addressesOf(all, service.name)!;
}

export async function stopStackNetwork(net: Pick<StackNetwork, 'pid' | 'startTicks'>): Promise<void> {
  if (!isAlive(net.pid, net.startTicks)) return;
  process.kill(net.pid, 'SIGTERM');
  await waitFor(() => (isAlive(net.pid, net.startTicks) ? undefined : true), { timeoutMs: 3000, intervalMs: 10 });
  if (isAlive(net.pid, net.startTicks)) process.kill(net.pid, 'SIGKILL');
}

/** The inode CRIU names the stack namespace by, as seen from a member process. */
export function netnsInode(pid: number): string {
  const inode = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`))?.[1];
  if (!inode) throw new CkptError('CHECKPOINT_FAILED', `cannot read the network namespace of process ${pid}`);
  return inode;
}

/**
 * While services are restored one by one into a new namespace, no packet may flow: a restored
 * TCP end would otherwise talk to a peer not yet restored and get reset. nftables rules inside
 * the namespace drop everything until unlocked.
 */
export async function lockNetwork(net: StackNetwork): Promise<void> {
  const rules =
    'table inet ckpt_restore_lock {\n chain in { type filter hook input priority -300; policy drop; }\n chain out { type filter hook output priority -300; policy drop; }\n}\n' +
    (net.bridges ? holdScript(HOLD_TABLE) : '');
  const r = await run('nsenter', [`--net=${netnsPath(net)}`, 'nft', '-f', '-'], { input: rules });
  if (r.exitCode !== 0) {
    throw new CkptError('RESTORE_FAILED', `cannot lock the stack's network during restore: ${r.stderr}`, {
      hint: 'ckpt needs nftables (apt-get install nftables).',
    });
  }
}

export async function unlockNetwork(net: StackNetwork): Promise<void> {
  await run('nsenter', [`--net=${netnsPath(net)}`, 'nft', '-f', '-'], {
    input: `delete table inet ckpt_restore_lock\n${net.bridges ? `delete table bridge ${HOLD_TABLE}\n` : ''}`,
  });
}
