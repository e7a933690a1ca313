// A process service on compose networks that containers join: its namespace is a network
// holder container's (runtime/docker/net-holder.ts has the design), and its names are Docker's.
// Loaded only for such a service: a process-only stack never loads dockerode.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Project, Service } from '../../manifest/types.js';
import { holderFiles } from './compose-network.js';

export interface HeldNet {
  containerId: string;
  logFile: string;
  pid: number;
  net: { ownNetns: string; hostsFile: string; resolvFile: string };
}

/** Starts the service's holder (asking for `addresses` on a restore) and writes its hosts and resolv.conf. */
export async function joinDockerNetworks(
  project: Project,
  service: Service,
  serviceDir: string,
  stateRoot: string,
  o: { addresses?: Record<string, string>; remapPorts?: boolean } = {},
): Promise<HeldNet> {
  const { holderEndpoints, removeNetHolder, startNetHolder } = await import('../docker/net-holder.js');
  const h = await startNetHolder(project, service, stateRoot, o);
  try {
    const files = holderFiles(service, holderEndpoints(service.name, h)[0]?.ip);
    const hostsFile = join(serviceDir, 'hosts');
    const resolvFile = join(serviceDir, 'resolv.conf');
    writeFileSync(hostsFile, files.hosts, { mode: 0o644 });
    writeFileSync(resolvFile, files.resolv, { mode: 0o644 });
    return { ...h, net: { ownNetns: `/proc/${h.pid}/ns/net`, hostsFile, resolvFile } };
  } catch (e) {
    await removeNetHolder(h.containerId);
    throw e;
  }
}
