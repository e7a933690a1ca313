// A project's compose networks in Docker, so that containers find each other by service name and
// alias through Docker's embedded DNS, as with compose.
//
// Design (the network model of issue 15; addresses.ts has the part about connections):
// - Who creates: ckpt, when it makes a container (up, restore, clone): each network the container
//   joins is made once, as <project>_<key> (or its `name:`), labelled with ckpt's project and
//   state tag; an `external` one must exist and is only joined. `down` removes the project's own.
// - Who owns the addresses: Docker's IPAM, from the network's `ipam` subnets when given; an
//   `ipv4_address` is asked for as the service's fixed address. A restore pins the subnet (the
//   recorded one, or for a clone a free one Docker chose) so that each container can ask for its
//   address; a network made on a pinned subnet says so in a label, as Docker's inspect does not.
// - What a set records: the service's attachments are in its spec (names, aliases, addresses),
//   and each container's endpoints at the cut (addresses.ts).
// - How a clone gets its own: a clone is another project, so it gets networks of its own
//   (<clone>_default…), isolated from the original's, with the same names and aliases inside, on
//   another subnet (Docker refuses two bridges on one): each container keeps its host part of the
//   address, and the images' connections are moved to the clone's addresses.
// - A process service on such a network (x-ckpt.network: compose) lives in the namespace of a
//   network holder container of its own (net-holder.ts): to Docker it is one more container.
import type Dockerode from 'dockerode';
import { CkptError } from '../../errors.js';
import type { Project, ProjectNetwork, Service } from '../../manifest/types.js';
import { docker, unreachable } from './client.js';
import { LABEL_PROJECT, LABEL_STATE, stateTag } from './container-config.js';

export const LABEL_NETWORK = 'ckpt.network';
/** the subnet a network was made on at ckpt's request (containers may ask for addresses on it) */
export const LABEL_SUBNET = 'ckpt.subnet';

/** A subnet a network is made on: a.b.c.d/len and its gateway. */
export interface PinnedSubnet {
  subnet: string;
  gateway?: string;
}

/** The Docker name of a project network, as compose names it. */
export function dockerNetworkName(project: string, n: ProjectNetwork): string {
  return n.name ?? `${project}_${n.key}`;
}

function statusCode(e: unknown): number | undefined {
  return (e as { statusCode?: number }).statusCode;
}

/** The network's create request (pure: tested without Docker). */
export function networkCreateOptions(project: string, n: ProjectNetwork, stateRoot: string, pin?: PinnedSubnet): Dockerode.NetworkCreateOptions {
  const ipam = pin ? [{ subnet: pin.subnet, ...(pin.gateway ? { gateway: pin.gateway } : {}) }] : n.ipam;
  return {
    Name: dockerNetworkName(project, n),
    Driver: n.driver ?? 'bridge',
    CheckDuplicate: true,
    ...(n.internal ? { Internal: true } : {}),
    ...(n.driverOpts ? { Options: n.driverOpts } : {}),
    ...(ipam?.length
      ? { IPAM: { Driver: 'default', Config: ipam.map((c) => ({ ...(c.subnet ? { Subnet: c.subnet } : {}), ...(c.gateway ? { Gateway: c.gateway } : {}), ...(c.ipRange ? { IPRange: c.ipRange } : {}) })) } }
      : {}),
    ...(n.attachable ? { Attachable: true } : {}),
    Labels: { ...n.labels, [LABEL_PROJECT]: project, [LABEL_NETWORK]: n.key, [LABEL_STATE]: stateTag(stateRoot), ...(pin ? { [LABEL_SUBNET]: pin.subnet } : {}) },
  };
}

/**
 * Services of a stack are restored at once, and Docker's duplicate check is not atomic: two
 * creates of one name can both succeed. Each network is made under a lock of this process.
 */
const making = new Map<string, Promise<unknown>>();
function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const before = making.get(key) ?? Promise.resolve();
  const run = before.then(fn, fn);
  making.set(key, run.catch(() => undefined));
  return run;
}

/** Makes the networks a service joins (those that are missing); returns their Docker names, in order. */
export async function ensureServiceNetworks(project: Project, service: Service, stateRoot: string): Promise<string[]> {
  const names: string[] = [];
  for (const a of service.networks ?? []) {
    const n = project.networks?.find((x) => x.key === a.network);
    if (!n) throw new CkptError('INTERNAL', `internal error: service ${service.name} joins network ${a.network}, which project ${project.name} does not have`);
    const name = dockerNetworkName(project.name, n);
    names.push(name);
    await serialized(name, () => ensureNetwork(project, service, n, name, stateRoot));
  }
  return names;
}

async function ensureNetwork(project: Project, service: Service, n: ProjectNetwork, name: string, stateRoot: string): Promise<void> {
  const info = await inspectNetwork(name);
  if (info) {
    if (!n.external && info.Labels?.[LABEL_STATE] !== stateTag(stateRoot)) {
      throw new CkptError('SERVICE_START_FAILED', `a Docker network named ${name} exists and was not made by this ckpt for project ${project.name}`, {
        hint: `Remove it (docker network rm ${name}), declare it external: true to join it, or use another project name (-p).`,
      });
    }
    return;
  }
  if (n.external) {
    throw new CkptError('SERVICE_START_FAILED', `service ${service.name}: external network ${name} does not exist`, {
      hint: `Create it first (docker network create ${name}), or drop external: true to let ckpt make a network of the project.`,
    });
  }
  try {
    await docker().createNetwork(networkCreateOptions(project.name, n, stateRoot));
  } catch (e) {
    // another ckpt made it meanwhile
    if (statusCode(e) === 409) return;
    throw unreachable(e) ?? new CkptError('SERVICE_START_FAILED', `could not create the network ${name}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The EndpointsConfig entry of one attachment: the service name and its aliases, its fixed
 * address (`ipv4` — a restore's — before the manifest's ipv4_address).
 */
export function endpointConfig(service: Service, index: number, ipv4?: string): Dockerode.EndpointSettings {
  const a = service.networks![index]!;
  const v4 = ipv4 ?? a.ipv4Address;
  return {
    Aliases: [service.name, ...a.aliases],
    ...(v4 || a.ipv6Address ? { IPAMConfig: { ...(v4 ? { IPv4Address: v4 } : {}), ...(a.ipv6Address ? { IPv6Address: a.ipv6Address } : {}) } } : {}),
  };
}

/** Joins a created container to the service's networks after the first (Docker takes one at create). */
export async function connectOtherNetworks(container: Dockerode.Container, service: Service, names: string[], addresses: Record<string, string> = {}): Promise<void> {
  for (let i = 1; i < names.length; i++) {
    try {
      await docker().getNetwork(names[i]!).connect({ Container: container.id, EndpointConfig: endpointConfig(service, i, addresses[names[i]!]) });
    } catch (e) {
      throw unreachable(e) ?? new CkptError('SERVICE_START_FAILED', `service ${service.name}: could not join network ${names[i]}: ${(e as Error).message}`, { cause: e });
    }
  }
}

/**
 * Makes network `n` of the project on a pinned subnet, for a restore: `want` (the recorded one)
 * when Docker takes it, else a free one Docker picks (made once to learn it, then again pinned).
 * An existing network of the project is kept: its pin is the one its label says (none when it was
 * made by `up`, whose containers then get what Docker gives). Returns the pin.
 */
export async function ensurePinnedNetwork(project: Project, n: ProjectNetwork, stateRoot: string, want?: PinnedSubnet): Promise<PinnedSubnet | undefined> {
  const name = dockerNetworkName(project.name, n);
  return serialized(name, async () => {
    const existing = await inspectNetwork(name);
    if (existing) {
      if (existing.Labels?.[LABEL_STATE] !== stateTag(stateRoot)) {
        throw new CkptError('RESTORE_FAILED', `a Docker network named ${name} exists and was not made by this ckpt for project ${project.name}`, {
          hint: `Remove it (docker network rm ${name}), or restore under another name: ckpt clone <set> --as <name>.`,
        });
      }
      const pinned = existing.Labels?.[LABEL_SUBNET];
      return pinned ? { subnet: pinned, ...(existing.IPAM?.Config?.[0]?.Gateway ? { gateway: existing.IPAM.Config[0].Gateway } : {}) } : undefined;
    }
    if (want) {
      try {
        await docker().createNetwork(networkCreateOptions(project.name, n, stateRoot, want));
        return want;
      } catch (e) {
        // taken meanwhile by another network: a free subnet below, and the images are moved to it
        if (!/overlap|in use/i.test((e as Error).message)) throw unreachable(e) ?? new CkptError('RESTORE_FAILED', `could not create the network ${name}: ${(e as Error).message}`, { cause: e });
      }
    }
    try {
      const probe = await docker().createNetwork(networkCreateOptions(project.name, n, stateRoot));
      const c = ((await probe.inspect()) as { IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] } }).IPAM?.Config?.[0];
      await probe.remove();
      const pin = c?.Subnet ? { subnet: c.Subnet, ...(c.Gateway ? { gateway: c.Gateway } : {}) } : undefined;
      await docker().createNetwork(networkCreateOptions(project.name, n, stateRoot, pin));
      return pin;
    } catch (e) {
      throw unreachable(e) ?? new CkptError('RESTORE_FAILED', `could not create the network ${name}: ${(e as Error).message}`, { cause: e });
    }
  });
}

interface NetworkInfo {
  Labels?: Record<string, string>;
  IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] };
}

async function inspectNetwork(name: string): Promise<NetworkInfo | undefined> {
  try {
    return (await docker().getNetwork(name).inspect()) as NetworkInfo;
  } catch (e) {
    if (statusCode(e) === 404) return undefined;
    throw unreachable(e) ?? e;
  }
}

/** down: the project's own networks (not external ones), once its containers are gone. */
export async function removeProjectNetworks(project: Project, stateRoot: string): Promise<string[]> {
  const removed: string[] = [];
  for (const n of project.networks ?? []) {
    if (n.external) continue;
    const name = dockerNetworkName(project.name, n);
    try {
      const info = (await docker().getNetwork(name).inspect()) as { Labels?: Record<string, string> };
      if (info.Labels?.[LABEL_STATE] !== stateTag(stateRoot)) continue;
      await docker().getNetwork(name).remove();
      removed.push(name);
    } catch (e) {
      if (statusCode(e) === 404) continue;
      throw unreachable(e) ?? new CkptError('SERVICE_START_FAILED', `could not remove the network ${name}: ${(e as Error).message}`, {
        hint: `A container outside the stack may still be on it: docker network inspect ${name}`,
        cause: e,
      });
    }
  }
  return removed;
}
