// A container's addresses across a cut, so that the connections between a stack's containers
// survive a checkpoint and a restore, and a clone's connections come back between the clone's own.
//
// - At the cut: every container's endpoints (network, address, prefix, gateway) are read from the
//   config Docker keeps on disk and recorded in the set. CRIU dumps established connections
//   (tcp-established). Each CRIU would lock only its own container's network namespace, at its
//   own moment, and a segment could then reach a peer already dumped after its sender was dumped:
//   lost in the set. So ckpt holds the traffic of all the stack's addresses itself, on the host's
//   bridges (one nft table of the bridge family, made before the first dump and removed after the
//   last), and CRIU's own lock is skipped. The thaw guard removes the table if ckpt dies.
// - At a restore of the same project: the project's networks are made again on the recorded
//   subnets and every container asks for its recorded address, so nothing in the images changes.
// - At a clone (or where an address is taken): Docker gives other addresses; the images' sockets
//   are rewritten with the old → new map of the whole stack (criu/images/remap-inet.ts), both
//   ends of each connection alike.
// - At every multi-service restore the restored trees resume together (the restore gate waits for
//   all of them), and the containers' traffic is held from before the first is started until all
//   are back: each CRIU takes its sockets out of repair mode when its own tasks resume, and a
//   segment that reaches a peer still in repair mode is answered with a reset (seen here: an
//   app's pooled connection reset within 6 ms of the release). TCP resends what was held.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CkptError } from '../../errors.js';
import { runTool } from '../../util/exec.js';
import type { Project } from '../../manifest/types.js';
import type { ServiceRecord } from '../types.js';
import { dockerNetworkName, ensurePinnedNetwork } from './networks.js';
import { savedConfig } from './saved-config.js';
import { ipToNum, numToIp, prefixMask } from '../../util/ipv4.js';

/** One network attachment of a container, as a set records it. */
export interface Endpoint {
  /** the Docker network's name */
  network: string;
  ip: string;
  prefixLen: number;
  gateway?: string;
}

/** The container's endpoints, from the config Docker keeps on disk. */
export function containerEndpoints(rec: ServiceRecord): Endpoint[] {
  return Object.entries(savedConfig(rec)?.NetworkSettings?.Networks ?? {})
    .filter(([, e]) => e.IPAddress)
    .map(([network, e]) => ({ network, ip: e.IPAddress!, prefixLen: e.IPPrefixLen ?? 32, ...(e.Gateway ? { gateway: e.Gateway } : {}) }))
    .sort((a, b) => a.network.localeCompare(b.network));
}


/** a.b.c.d/len with the host bits cleared: the subnet an endpoint's network had */
export function subnetOf(e: Pick<Endpoint, 'ip' | 'prefixLen'>): string {
  return `${numToIp((ipToNum(e.ip) & prefixMask(e.prefixLen)) >>> 0)}/${e.prefixLen}`;
}

/** The nft script holding all traffic from and to `ips` on the host's bridges (pure). */
export function lockScript(table: string, ips: string[]): string {
  const set = ips.join(', ');
  return [
    `table bridge ${table} {`,
    `  set stack { type ipv4_addr; elements = { ${set} } }`,
    '  chain forward { type filter hook forward priority -300; policy accept; ip saddr @stack drop; ip daddr @stack drop; }',
    '  chain input { type filter hook input priority -300; policy accept; ip saddr @stack drop; }',
    '  chain output { type filter hook output priority -300; policy accept; ip daddr @stack drop; }',
    '}',
    '',
  ].join('\n');
}

export interface TrafficHold {
  table: string;
  /** lets the traffic through; again after a release that succeeded, does nothing */
  release(): Promise<void>;
}

/**
 * Holds the traffic of the stack's addresses until release(). `scratch` is a directory for the
 * script; `onTable` names the table before it exists (the guard must know it if ckpt dies).
 */
export async function holdTraffic(
  project: string,
  ips: string[],
  scratch: string,
  onTable: (table: string) => void,
  code: 'CHECKPOINT_FAILED' | 'RESTORE_FAILED' = 'CHECKPOINT_FAILED',
  /** tells apart the holds of two parts of one cut (the process part's holders: 'p') */
  part = '',
): Promise<TrafficHold | undefined> {
  if (ips.length === 0) return undefined;
  const table = `ckpt_hold_${project.replace(/[^a-zA-Z0-9_]/g, '_')}_${part}${process.pid}`;
  const file = join(scratch, `hold${part}.nft`);
  writeFileSync(file, lockScript(table, [...new Set(ips)].sort()), { mode: 0o600 });
  onTable(table);
  const r = await runTool('nft', ['-f', file]);
  rmSync(file, { force: true });
  if (r.code !== 0) {
    throw new CkptError(code, `could not hold the stack's network traffic: nft: ${r.output.trim()}`, {
      hint: 'ckpt needs nft (Debian package nftables) and the kernel\'s nf_tables bridge family; ckpt doctor checks both.',
    });
  }
  let released = false;
  return {
    table,
    // once: a failed release may be tried again (an abort after a failed finish)
    release: async () => {
      if (released) return;
      const d = await runTool('nft', ['delete', 'table', 'bridge', table]);
      if (d.code !== 0 && !/No such file/.test(d.output)) {
        throw new CkptError(code, `could not let the stack's traffic through again: nft: ${d.output.trim()}`, {
          hint: `Remove the table by hand: nft delete table bridge ${table}`,
        });
      }
      released = true;
    },
  };
}

/** The address with `ip`'s host part on `subnet` (a.b.c.d/len); undefined when it does not fit. */
export function translate(ip: string, prefixLen: number, subnet: string): string | undefined {
  const [base, len] = subnet.split('/');
  const toLen = Number(len);
  const host = (ipToNum(ip) & ~prefixMask(prefixLen)) >>> 0;
  if (toLen < 0 || toLen > 32 || host > (~prefixMask(toLen) >>> 0)) return undefined;
  return numToIp(((ipToNum(base!) & prefixMask(toLen)) | host) >>> 0);
}

/** The set's endpoints of the restored project's services (containers' and network holders'), by service. */
export function recordedEndpoints(project: Project, meta: Record<string, { endpoints?: Endpoint[] }>): Record<string, Endpoint[]> {
  return Object.fromEntries(project.services.flatMap((s) => (meta[s.name]?.endpoints?.length ? [[s.name, meta[s.name]!.endpoints!]] : [])));
}

export interface RestoreAddressPlan {
  /** per service: Docker network name → the address it asks for */
  requests: Record<string, Record<string, string>>;
  /** the cut's address → the restored one, for the images' sockets (identity left out) */
  map: Map<string, string>;
  warnings: string[];
}

/**
 * Before a restore makes its containers: the project's networks on pinned subnets (the cut's for
 * the same project, free ones for a clone) and each container's address on them, host part kept.
 * `recorded` is the set's endpoints per service; `setProject` the project the set was taken from.
 */
export async function planRestoreAddresses(project: Project, setProject: string, recorded: Record<string, Endpoint[]>, stateRoot: string): Promise<RestoreAddressPlan> {
  const plan: RestoreAddressPlan = { requests: {}, map: new Map(), warnings: [] };
  const clone = project.name !== setProject;
  for (const n of project.networks ?? []) {
    const before = dockerNetworkName(setProject, n);
    const on = Object.entries(recorded).flatMap(([service, es]) => es.filter((e) => e.network === before).map((e) => ({ service, e })));
    if (on.length === 0) continue;
    if (n.external || (clone && n.name)) {
      // one network shared with the original: its addresses are the original's, not the clone's to take
      if (clone) plan.warnings.push(`network ${before} is ${n.external ? 'external' : `named (name: ${n.name})`}: the clone joins the original's network, with other addresses; connections over it come back only where the program reconnects`);
      continue;
    }
    const first = on[0]!.e;
    const want = clone ? undefined : { subnet: subnetOf(first), ...(first.gateway ? { gateway: first.gateway } : {}) };
    const pin = await ensurePinnedNetwork(project, n, stateRoot, want);
    const after = dockerNetworkName(project.name, n);
    for (const { service, e } of on) {
      const ip = pin ? translate(e.ip, e.prefixLen, pin.subnet) : undefined;
      if (!ip) {
        plan.warnings.push(`service ${service}: no address like ${e.ip} on network ${after}${pin ? ` (${pin.subnet})` : ''}; Docker gives it one, and its connections over that network come back only where the program reconnects`);
        continue;
      }
      (plan.requests[service] ??= {})[after] = ip;
      if (ip !== e.ip) plan.map.set(e.ip, ip);
    }
    if (clone && n.ipam?.some((c) => c.subnet) && pin) plan.warnings.push(`network ${after} of the clone is on ${pin.subnet}, not on the manifest's subnet (the original has it)`);
  }
  return plan;
}
