// A project's compose networks in Docker, so that containers find each other by service name and
// alias through Docker's embedded DNS, as with compose.
//
// Design (this step of the network model; the whole of it is issue 15's item 3):
// - Who creates: ckpt, when it makes a container (up, restore, clone): each network the container
//   joins is made once, as <project>_<key> (or its `name:`), labelled with ckpt's project and
//   state tag; an `external` one must exist and is only joined. `down` removes the project's own.
// - Who owns the addresses: Docker's IPAM, from the network's `ipam` subnets when given; an
//   `ipv4_address` is asked for as the service's fixed address.
// - What a set records: the service's attachments are in its spec (names, aliases, addresses);
//   a restore or clone makes the container on the networks of the project it comes back as.
// - How a clone gets its own: a clone is another project, so it gets networks of its own
//   (<clone>_default…), isolated from the original's, with the same names and aliases inside.
//   It gets other addresses: Docker refuses two bridges on one subnet, so connections between
//   containers come back closed in a clone (x-ckpt.checkpoint.tcp: close), as before.
// - Process services are not on these networks yet (they keep x-ckpt.network).
import type Dockerode from 'dockerode';
import { CkptError } from '../../errors.js';
import type { Project, ProjectNetwork, Service } from '../../manifest/types.js';
import { docker, unreachable } from './client.js';
import { LABEL_PROJECT, LABEL_STATE, stateTag } from './container-config.js';

export const LABEL_NETWORK = 'ckpt.network';

/** The Docker name of a project network, as compose names it. */
export function dockerNetworkName(project: string, n: ProjectNetwork): string {
  return n.name ?? `${project}_${n.key}`;
}

function statusCode(e: unknown): number | undefined {
  return (e as { statusCode?: number }).statusCode;
}

/** The network's create request (pure: tested without Docker). */
export function networkCreateOptions(project: string, n: ProjectNetwork, stateRoot: string): Dockerode.NetworkCreateOptions {
  return {
    Name: dockerNetworkName(project, n),
    Driver: n.driver ?? 'bridge',
    CheckDuplicate: true,
    ...(n.internal ? { Internal: true } : {}),
    ...(n.driverOpts ? { Options: n.driverOpts } : {}),
    ...(n.ipam?.length
      ? { IPAM: { Driver: 'default', Config: n.ipam.map((c) => ({ ...(c.subnet ? { Subnet: c.subnet } : {}), ...(c.gateway ? { Gateway: c.gateway } : {}), ...(c.ipRange ? { IPRange: c.ipRange } : {}) })) } }
      : {}),
    ...(n.attachable ? { Attachable: true } : {}),
    Labels: { ...n.labels, [LABEL_PROJECT]: project, [LABEL_NETWORK]: n.key, [LABEL_STATE]: stateTag(stateRoot) },
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
  try {
    const info = (await docker().getNetwork(name).inspect()) as { Labels?: Record<string, string> };
    if (!n.external && info.Labels?.[LABEL_STATE] !== stateTag(stateRoot)) {
      throw new CkptError('SERVICE_START_FAILED', `a Docker network named ${name} exists and was not made by this ckpt for project ${project.name}`, {
        hint: `Remove it (docker network rm ${name}), declare it external: true to join it, or use another project name (-p).`,
      });
    }
    return;
  } catch (e) {
    if (e instanceof CkptError) throw e;
    if (statusCode(e) !== 404) throw unreachable(e) ?? e;
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

/** The EndpointsConfig entry of one attachment: the service name and its aliases, its fixed address. */
export function endpointConfig(service: Service, index: number): Dockerode.EndpointSettings {
  const a = service.networks![index]!;
  return {
    Aliases: [service.name, ...a.aliases],
    ...(a.ipv4Address || a.ipv6Address ? { IPAMConfig: { ...(a.ipv4Address ? { IPv4Address: a.ipv4Address } : {}), ...(a.ipv6Address ? { IPv6Address: a.ipv6Address } : {}) } } : {}),
  };
}

/** Joins a created container to the service's networks after the first (Docker takes one at create). */
export async function connectOtherNetworks(container: Dockerode.Container, service: Service, names: string[]): Promise<void> {
  for (let i = 1; i < names.length; i++) {
    try {
      await docker().getNetwork(names[i]!).connect({ Container: container.id, EndpointConfig: endpointConfig(service, i) });
    } catch (e) {
      throw unreachable(e) ?? new CkptError('SERVICE_START_FAILED', `service ${service.name}: could not join network ${names[i]}: ${(e as Error).message}`, { cause: e });
    }
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
