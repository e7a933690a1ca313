// Network holders: how a process service joins a compose network that containers join too.
//
// Design (the other half of runtime/process/compose-network.ts): such a network is Docker's, so
// the process service lives in the network namespace of a container of its own,
// <project>-<service>-net, as a pod's processes live in its infra container's. The container
// runs ckpt-pause (native/ckpt-pause.c, static) from an image of that one file, which ckpt
// imports on first use (ckpt-net-holder:<hash of the binary>). Docker then gives the service
// what it gives a container: its addresses on the networks, its service name and aliases in
// Docker's DNS (containers find it by name; the process service asks Docker's DNS at 127.0.0.11
// through a resolv.conf bound over the host's), and its published ports.
// - The namespace is external to CRIU, as a container's is to runc: a checkpoint records the
//   holder's endpoints in the set like a container's, and a restore makes a new holder asking for
//   the same addresses (a clone: the same host part on the clone's networks, and the images'
//   sockets moved, with the containers', by criu/images/remap-inet.ts).
// - The holder is removed when the service stops; its namespace goes with it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tarStream from 'tar-stream';
import { join } from 'node:path';
import { CkptError } from '../../errors.js';
import type { Project, Service } from '../../manifest/types.js';
import { packageRoot } from '../../paths.js';
import type { ServiceRecord } from '../types.js';
import { containerEndpoints, type Endpoint } from './addresses.js';
import { docker, unreachable } from './client.js';
import { LABEL_PROJECT, LABEL_STATE, portBindings, stateTag } from './container-config.js';
import { removeLeftoverContainer } from './docker-runtime.js';
import { connectOtherNetworks, endpointConfig, ensureServiceNetworks } from './networks.js';

export const LABEL_NET_HOLDER = 'ckpt.net-holder';
const REPO = 'ckpt-net-holder';

const pausePath = (): string => join(packageRoot, 'native/bin/ckpt-pause');

export function holderName(project: string, service: string): string {
  return `${project}-${service}-net`;
}

function statusCode(e: unknown): number | undefined {
  return (e as { statusCode?: number }).statusCode;
}

let imageRef: Promise<string> | undefined;

/** The holders' image, imported once per binary. */
function holderImage(): Promise<string> {
  imageRef ??= (async () => {
    let bin: Buffer;
    try {
      bin = readFileSync(pausePath());
    } catch {
      throw new CkptError('TOOL_MISSING', `the network holder's program is missing: ${pausePath()}`, {
        hint: 'Run `npm run build` in the ckpt checkout (it compiles native/ckpt-pause.c).',
      });
    }
    const tag = createHash('sha256').update(bin).digest('hex').slice(0, 12);
    const ref = `${REPO}:${tag}`;
    try {
      await docker().getImage(ref).inspect();
      return ref;
    } catch (e) {
      if (statusCode(e) !== 404) throw unreachable(e) ?? e;
    }
    const pack = tarStream.pack();
    pack.entry({ name: 'pause', mode: 0o755 }, bin);
    pack.finalize();
    const progress = (await docker().importImage(pack as unknown as NodeJS.ReadableStream, { repo: REPO, tag })) as unknown as NodeJS.ReadableStream;
    await new Promise<void>((resolve, reject) => docker().modem.followProgress(progress, (err: Error | null) => (err ? reject(err) : resolve())));
    return ref;
  })();
  imageRef.catch(() => (imageRef = undefined));
  return imageRef;
}

export interface NetHolder {
  containerId: string;
  /** its json-file log: Docker's config.v2.json is beside it (saved-config.ts) */
  logFile: string;
  /** its pid on the host: the namespace is /proc/<pid>/ns/net */
  pid: number;
}

/**
 * Makes and starts the holder of a process service on its networks (made as for a container),
 * with its ports published; `addresses` asks for a restore's addresses (Docker name → IPv4).
 */
export async function startNetHolder(project: Project, service: Service, stateRoot: string, o: { addresses?: Record<string, string>; remapPorts?: boolean } = {}): Promise<NetHolder> {
  const d = docker();
  const image = await holderImage();
  const networks = await ensureServiceNetworks(project, service, stateRoot);
  const name = holderName(project.name, service.name);
  await removeLeftoverContainer(name, stateRoot);
  const { exposed, bindings } = portBindings(service, o.remapPorts);
  let c;
  try {
    c = await d.createContainer({
      name,
      Image: image,
      Entrypoint: ['/pause'],
      Hostname: service.xCkpt.hostname ?? service.name,
      Labels: { [LABEL_PROJECT]: project.name, [LABEL_NET_HOLDER]: service.name, [LABEL_STATE]: stateTag(stateRoot) },
      ExposedPorts: exposed,
      NetworkingConfig: { EndpointsConfig: { [networks[0]!]: endpointConfig(service, 0, o.addresses?.[networks[0]!]) } },
      HostConfig: { NetworkMode: networks[0], PortBindings: bindings },
    });
    await connectOtherNetworks(c, service, networks, o.addresses);
    await c.start();
  } catch (e) {
    await c?.remove({ force: true }).catch(() => {});
    if (e instanceof CkptError) throw e;
    throw unreachable(e) ?? new CkptError('SERVICE_START_FAILED', `service ${service.name}: docker could not make its network holder: ${(e as Error).message}`, { cause: e });
  }
  const info = await c.inspect();
  if (!info.State.Pid) throw new CkptError('SERVICE_START_FAILED', `service ${service.name}: its network holder ${name} did not start`, { hint: `See docker logs ${name}` });
  return { containerId: info.Id, logFile: info.LogPath, pid: info.State.Pid };
}

export async function removeNetHolder(containerId: string): Promise<void> {
  try {
    await docker().getContainer(containerId).remove({ force: true });
  } catch (e) {
    if (statusCode(e) !== 404) throw unreachable(e) ?? e;
  }
}

/** The holder as a container's record, for what reads Docker's files (saved-config.ts, addresses.ts). */
const asRecord = (service: string, h: { containerId: string; logFile: string }): ServiceRecord => ({ service, runtime: 'docker', configHash: '', startedAt: '', logFile: h.logFile, containerId: h.containerId });

export function holderEndpoints(service: string, h: { containerId: string; logFile: string }): Endpoint[] {
  return containerEndpoints(asRecord(service, h));
}
