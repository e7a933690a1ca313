// Listing, removing, collecting and inspecting checkpoint sets.
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ROOTFS_DIFF, storedVolumes } from '../runtime/docker/set-files.js';
import type { InspectReport } from '../criu/images/index.js';
import { DATA_DIR, Store, dataIndexName, readDataIndex, type GcReport, type SetInfo } from '../store/index.js';

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

/** A container's writable layer and volumes, beside its CRIU images. */
function containerParts(dir: string): NonNullable<InspectReport['container']> {
  const size = (f: string): number | undefined => {
    try {
      return statSync(join(dir, f)).size;
    } catch {
      return undefined;
    }
  };
  const rootfsDiffBytes = size(ROOTFS_DIFF);
  return {
    ...(rootfsDiffBytes !== undefined ? { rootfsDiffBytes } : {}),
    volumes: storedVolumes(dir).map((v) => {
      if (v.file) return { target: v.target, file: v.file, bytes: size(v.file) ?? 0 };
      // a data tree: its index has the bytes
      const index = join(dir, dataIndexName(v.data!));
      return { target: v.target, file: `${DATA_DIR}/${basename(dir)}/${v.data}`, bytes: existsSync(index) ? readDataIndex(index).bytes : 0 };
    }),
  };
}

/** Per service, what CRIU's images say: processes, memory, files, mappings, sockets. */
export async function inspectSet(storeRoot: string, name: string, opts: { services?: string[] } = {}): Promise<SetInspection> {
  const set = getSet(storeRoot, name);
  const services = set.services.filter((s) => !opts.services?.length || opts.services.includes(s));
  const meta = (set.extra as { services?: Record<string, { runtime?: string }> } | undefined)?.services ?? {};
  return {
    set,
    services: await Promise.all(
      services.map(async (service) => {
        const dir = join(set.dir, service);
        // A container's paths are inside its own root: the host's files say nothing about them.
        const container = meta[service]?.runtime === 'docker';
        const report = await (await images()).inspectImages(dir, { checkFiles: !container });
        if (container) {
          report.container = containerParts(dir);
          report.notes.push("a container: its referenced files are in its image, writable layer and volumes, not checked against the host's");
        }
        return { service, report };
      }),
    ),
  };
}
