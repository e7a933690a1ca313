// Listing, removing, collecting and inspecting checkpoint sets.
import { join } from 'node:path';
import type { InspectReport } from '../criu/images/index.js';
import { Store, type GcReport, type SetInfo } from '../store/index.js';

export function listSets(storeRoot: string): SetInfo[] {
  const store = new Store(storeRoot);
  return store.listSets();
}

export function getSet(storeRoot: string, name: string): SetInfo {
  return new Store(storeRoot).getSet(name);
}

export async function removeSet(storeRoot: string, name: string): Promise<{ freedBytes: number }> {
  return new Store(storeRoot).removeSet(name);
}

export async function gc(storeRoot: string): Promise<GcReport> {
  const store = new Store(storeRoot);
  store.init();
  return store.gc();
}

export async function verifySet(storeRoot: string, name: string) {
  return new Store(storeRoot).verifySet(name);
}

/** The image decoders are loaded by the one command that needs them, not by every ckpt run. */
const images = (): Promise<typeof import('../criu/images/inspect.js')> => import('../criu/images/inspect.js');

export interface SetInspection {
  set: SetInfo;
  services: { service: string; report: InspectReport }[];
}

/** Per service, what CRIU's images say: processes, memory, files, mappings, sockets. */
export async function inspectSet(storeRoot: string, name: string, opts: { services?: string[] } = {}): Promise<SetInspection> {
  const set = getSet(storeRoot, name);
  const services = set.services.filter((s) => !opts.services?.length || opts.services.includes(s));
  return {
    set,
    services: await Promise.all(
      services.map(async (service) => ({ service, report: await (await images()).inspectImages(join(set.dir, service), { checkFiles: true }) })),
    ),
  };
}
