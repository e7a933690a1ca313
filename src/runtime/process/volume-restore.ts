// A restore brings each volume back as it was at the cut (volumes.ts has where volumes live).
//
// The rule for the data a restore would replace: **refuse unless --replace**. A live volume that
// is not the set's tree, entry for entry (owner, mode, size, mtime), holds data written since the
// cut, or never in the set; restoring over it without being asked would lose it silently. The
// refusal names each such volume, its size and its last write, and the three ways on: keep it in
// a set first (`ckpt checkpoint`), drop it (`ckpt down -v`), or `--replace`. Why not an automatic
// set of the old data: it would hold data without the memory that goes with it (the stack is
// down), grow the store behind the user's back on every roll, and cost a full copy on ext4.
//
// With --replace (or nothing to lose), the live volume is moved aside (a rename: O(1) on every
// filesystem), the set's tree is copied into its place (a snapshot or reflink where the
// filesystem allows), and the old one is deleted only once every service is back; a failed
// restore puts it back. A clone's volumes are new (<clone>_<name>): nothing is replaced.
//
// A bind mount listed in x-ckpt.checkpoint.capture_binds is treated as a volume whose home is its
// host directory: the stack restored as itself gets that directory back (under the same rule),
// a clone a copy of its own in the volumes root (<clone>_<service>-bind-<target>), so that it
// never writes the original's files; the service's record says where it was mounted from.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Service, VolumeMount } from '../../manifest/types.js';
import { ReplacedTrees, dataWouldBeLost, materializeTree } from '../../data/snapshot.js';
import { DATA_DIR, dataIndexName, readDataIndex, sameAsIndex, type DataIndex } from '../../store/index.js';
import { formatBytes } from '../../util/time.js';
import type { RestoreContext, SetServiceMeta } from '../cut.js';
import { capturedBinds, cloneBindPath, storedVolumes, volumeKey, volumePath } from './volumes.js';

export class VolumeRestore {
  private readonly replaced = new ReplacedTrees();

  constructor(
    private readonly ctx: RestoreContext,
    private readonly services: Service[],
  ) {}

  private stored(service: Service, key: string): { tree: string; index: DataIndex } | undefined {
    const tree = join(this.ctx.setDir, DATA_DIR, service.name, key);
    const indexFile = join(this.ctx.setDir, service.name, dataIndexName(key));
    if (!existsSync(tree) || !existsSync(indexFile)) return undefined;
    return { tree, index: readDataIndex(indexFile) };
  }

  /**
   * Where a stored volume or captured bind lives for the restored stack: a volume at its
   * project's path; a captured bind at the host directory it was taken from when the stack comes
   * back as itself, at a copy of its own for a clone (never the original's host directory).
   */
  private livePath(s: Service, v: VolumeMount, meta: SetServiceMeta | undefined): string {
    if (v.type !== 'bind') return volumePath(this.ctx.project.name, s.name, v);
    if (this.ctx.project.name === this.ctx.setProject) return meta?.bindSources?.[v.target] ?? v.source!;
    return cloneBindPath(this.ctx.project.name, s.name, v);
  }

  /** Before anything is made: refuse to lose data the set does not hold, unless --replace. */
  check(meta: Record<string, SetServiceMeta>): void {
    if (this.ctx.replaceData) return;
    const lost: string[] = [];
    for (const s of this.services) {
      for (const v of [...storedVolumes(s), ...capturedBinds(s)]) {
        const key = volumeKey(s.name, v);
        const got = this.stored(s, key);
        const live = this.livePath(s, v, meta[s.name]);
        if (!got || !existsSync(live) || sameAsIndex(live, got.index)) continue;
        const when = statSync(live).mtime.toISOString().replace(/\.\d+Z$/, 'Z');
        const what = v.type === 'bind' ? `the bind mount ${live}` : `${this.ctx.project.name}_${key}`;
        lost.push(`${what} (service ${s.name}, at ${v.target}; ${live}, changed since the cut, last at ${when}; the set holds ${formatBytes(got.index.bytes)})`);
      }
    }
    if (lost.length) throw dataWouldBeLost(this.ctx.setName, this.ctx.project.name, lost);
  }

  /** Puts the set's copy of each of the service's volumes in place; returns volume key → path. */
  async bringBack(
    service: Service,
    meta: SetServiceMeta,
  ): Promise<{ sources: Map<string, string>; data: { volume: string; method: string; ms: number }[]; bindSources: Record<string, string> }> {
    const sources = new Map<string, string>();
    const data: { volume: string; method: string; ms: number }[] = [];
    const bindSources: Record<string, string> = {};
    for (const v of [...storedVolumes(service), ...capturedBinds(service)]) {
      const key = volumeKey(service.name, v);
      const got = this.stored(service, key);
      if (!got) continue; // not in the set (taken before it had volumes): the live one, or a new one
      const live = this.livePath(service, v, meta);
      if (v.type === 'bind' && live !== v.source) bindSources[v.target] = live;
      this.replaced.replace(live);
      const t0 = performance.now();
      const method = await materializeTree(got.tree, live);
      data.push({ volume: key, method, ms: performance.now() - t0 });
      sources.set(key, live);
    }
    return { sources, data, bindSources };
  }

  /** Every service is back: the replaced data goes. */
  finish(): void {
    this.replaced.drop();
  }

  /** The restore failed: the set's copies go, and what they replaced comes back. */
  abort(): void {
    this.replaced.putBack();
  }
}
