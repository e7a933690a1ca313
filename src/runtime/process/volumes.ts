// A process service's compose volumes, mounted in its own mount namespace by the shim, as a
// container's are by Docker (data/snapshot.ts has how their data gets into a set):
// - a named volume is a directory of ckpt's own, <volumes root>/<project>_<name> (Docker's
//   naming), made on first use (a btrfs subvolume where the root is on btrfs, so a capture is a
//   snapshot), removed by `down -v`; `external: true` uses <volumes root>/<name> as it is, and
//   never stores or replaces it. An anonymous one (`- /data`) is named after its service and
//   target. A new volume is filled with what the host has at the target, with its owner and
//   mode (Docker's copy-up from the image, `volume.nocopy` turns it off); with nothing there (or
//   an empty directory, such as the mount point an earlier `up` made) it belongs to the
//   service's user, so a service that runs as postgres can write its own.
// - a bind mount is the host path, read-only with `:ro`; the short form makes a missing source
//   directory, the long form only with `bind.create_host_path`, as compose does.
// - tmpfs mounts are the service's own memory: CRIU dumps their contents with the tree.
// Mount points missing on the host are made there (empty directories, or an empty file for a
// file bind), since a process service's root is the host's.
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { CkptError } from '../../errors.js';
import type { Project, Service, VolumeMount } from '../../manifest/types.js';
import { volumesRoot } from '../../paths.js';
import { fsTypeOf, removeTreeSync } from '../../data/snapshot.js';

const slug = (target: string): string => target.replace(/[^A-Za-z0-9]+/g, '-').replace(/-+$/, '');

/**
 * The volume's name in a set, and in ckpt's volumes root after `<project>_`: a named volume's own
 * name; for an anonymous volume and a captured bind, '@' and a name after its target, which no
 * named volume can have ('' for tmpfs and other binds).
 */
export function volumeKey(service: string, v: VolumeMount): string {
  if (v.type === 'bind') return `@bind${slug(v.target)}`;
  if (v.type !== 'volume') return '';
  if (v.source) return v.source;
  return `@${service}-anon${slug(v.target)}`;
}

/** Where the volume lives on the host. */
export function volumePath(project: string, service: string, v: VolumeMount, root = volumesRoot()): string {
  return v.external ? join(root, v.external) : join(root, `${project}_${volumeKey(service, v)}`);
}

/** The volumes of a service that a set stores (named or anonymous, not external). */
export function storedVolumes(service: Service): VolumeMount[] {
  return service.volumes.filter((v) => v.type === 'volume' && !v.external);
}

/** Its bind mounts listed in x-ckpt.checkpoint.capture_binds: stored like volumes. */
export function capturedBinds(service: Service): VolumeMount[] {
  const targets = new Set(service.xCkpt.checkpoint.capture_binds ?? []);
  return service.volumes.filter((v) => v.type === 'bind' && targets.has(v.target));
}

/** A clone's own copy of a captured bind (it must never write the original's host directory). */
export function cloneBindPath(project: string, service: string, v: VolumeMount, root = volumesRoot()): string {
  return join(root, `${project}_${service}-${volumeKey(service, v)}`);
}

/** uid and gid of `user[:group]` (names or numbers), via the host's databases */
function idsOf(spec: string | undefined): { uid: number; gid: number } {
  if (!spec) return { uid: 0, gid: 0 };
  const [user, group] = spec.split(':') as [string, string | undefined];
  const look = (db: string, key: string): string[] | undefined => {
    const r = spawnSync('getent', [db, key], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim().split(':') : undefined;
  };
  const pw = look('passwd', user);
  const uid = pw ? Number(pw[2]) : /^\d+$/.test(user) ? Number(user) : NaN;
  if (!Number.isInteger(uid)) {
    throw new CkptError('MANIFEST_INVALID', `user ${JSON.stringify(user)} does not exist on this host`, { hint: 'Create the user, or give a numeric uid in `user:`.' });
  }
  let gid = pw ? Number(pw[3]) : uid;
  if (group) {
    const gr = look('group', group);
    gid = gr ? Number(gr[2]) : /^\d+$/.test(group) ? Number(group) : NaN;
    if (!Number.isInteger(gid)) throw new CkptError('MANIFEST_INVALID', `group ${JSON.stringify(group)} does not exist on this host`, { hint: 'Create the group, or give a numeric gid.' });
  }
  return { uid, gid };
}

function makeVolumeDir(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o711 });
  if (fsTypeOf(dirname(path)) === 'btrfs') {
    const r = spawnSync('btrfs', ['-q', 'subvolume', 'create', path], { encoding: 'utf8' });
    if (r.status === 0) return;
  }
  mkdirSync(path, { mode: 0o755 });
}

/** A new volume, seeded as Docker seeds one from its image: the target's content, owner and mode. */
function createVolume(path: string, v: VolumeMount, service: Service): void {
  makeVolumeDir(path);
  let seed: ReturnType<typeof statSync> | undefined;
  try {
    seed = statSync(v.target);
  } catch {
    seed = undefined;
  }
  // an empty target (often the mount point an earlier `up` made) has nothing to seed from
  if (seed?.isDirectory() && readdirSync(v.target).length > 0) {
    chownSync(path, seed.uid, seed.gid);
    chmodSync(path, seed.mode & 0o7777);
    if (!v.noCopy) {
      const r = spawnSync('cp', ['-a', '--reflink=auto', `${v.target}/.`, `${path}/`], { encoding: 'utf8' });
      if (r.status !== 0) {
        removeTreeSync(path);
        throw new CkptError('SERVICE_START_FAILED', `service ${service.name}: could not fill the new volume ${path} from ${v.target}: ${r.stderr.trim()}`, {
          hint: 'Set `volume: {nocopy: true}` on the mount to start it empty.',
        });
      }
    }
    return;
  }
  const { uid, gid } = idsOf(service.user);
  chownSync(path, uid, gid);
}

function makeMountPoint(target: string, sourceIsDir: boolean): void {
  if (existsSync(target)) return;
  if (sourceIsDir) mkdirSync(target, { recursive: true, mode: 0o755 });
  else {
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    writeFileSync(target, '', { mode: 0o644 });
  }
}

export interface ServiceMount {
  kind: 'bind' | 'bind-ro' | 'tmpfs' | 'tmpfs-ro';
  /** host path (binds) */
  source?: string;
  target: string;
  /** tmpfs options */
  options?: string;
  /** CRIU's key for it when it is external to the dump (binds: volumes and host paths) */
  key?: string;
}

const depth = (p: string): number => p.split('/').filter(Boolean).length;

/**
 * Makes what the service's mounts need (volumes, bind sources if allowed, mount points) and
 * returns them parents first. `sources` overrides a volume's path (a restore's copy of it).
 */
export function prepareMounts(project: Project, service: Service, sources: Map<string, string> = new Map()): ServiceMount[] {
  const out: ServiceMount[] = [];
  service.volumes.forEach((v, i) => {
    if (v.type === 'tmpfs') {
      const opts = [v.tmpfs?.sizeBytes !== undefined ? `size=${v.tmpfs.sizeBytes}` : '', v.tmpfs?.mode !== undefined ? `mode=${v.tmpfs.mode.toString(8)}` : ''].filter(Boolean).join(',');
      makeMountPoint(v.target, true);
      out.push({ kind: v.readOnly ? 'tmpfs-ro' : 'tmpfs', target: v.target, options: opts || 'mode=1777' });
      return;
    }
    let source: string;
    if (v.type === 'bind' && sources.has(volumeKey(service.name, v))) {
      // a captured bind brought back by a restore (a clone's own copy, or the host directory)
      source = sources.get(volumeKey(service.name, v))!;
    } else if (v.type === 'bind') {
      source = v.source!;
      if (!existsSync(source)) {
        if (!v.createHostPath) {
          throw new CkptError('SERVICE_START_FAILED', `service ${service.name}: the bind mount's source ${source} does not exist`, {
            hint: 'Create it, or set `bind: {create_host_path: true}` on the mount (the short form "src:dst" makes it).',
          });
        }
        mkdirSync(source, { recursive: true, mode: 0o755 });
      }
    } else {
      source = sources.get(volumeKey(service.name, v)) ?? volumePath(project.name, service.name, v);
      if (!existsSync(source)) {
        if (v.external) {
          throw new CkptError('SERVICE_START_FAILED', `service ${service.name}: the external volume ${v.external} does not exist (${source})`, {
            hint: `Create it first (mkdir ${source}), or remove \`external: true\` so that ckpt makes it.`,
          });
        }
        createVolume(source, v, service);
      }
    }
    makeMountPoint(v.target, lstatSync(source).isDirectory());
    out.push({ kind: v.readOnly ? 'bind-ro' : 'bind', source, target: v.target, key: `ckpt-vol-${i}` });
  });
  return out.sort((a, b) => depth(a.target) - depth(b.target));
}

/** The shim's arguments for the mounts. */
export function mountArgs(mounts: ServiceMount[]): string[] {
  return mounts.flatMap((m) => (m.kind === 'tmpfs' || m.kind === 'tmpfs-ro' ? [`--${m.kind}`, m.target, m.options!] : [`--${m.kind}`, m.source!, m.target]));
}

/** The mounts CRIU must treat as external at a dump (key → path in the service's namespace). */
export function externalVolumeMounts(service: Service): { key: string; path: string }[] {
  return service.volumes.flatMap((v, i) => (v.type === 'tmpfs' ? [] : [{ key: `ckpt-vol-${i}`, path: v.target }]));
}

/** `down -v`: the project's own volumes (external ones stay); returns the names removed. */
export function removeProjectVolumes(project: Project, root = volumesRoot()): string[] {
  const removed: string[] = [];
  for (const s of project.services.filter((x) => x.xCkpt.runtime === 'process')) {
    for (const v of storedVolumes(s)) {
      const path = volumePath(project.name, s.name, v, root);
      if (!existsSync(path)) continue;
      removeTreeSync(path);
      removed.push(`${project.name}_${volumeKey(s.name, v)}`);
    }
    // a clone's copies of captured binds are ckpt's; the host directories they came from never are
    for (const v of capturedBinds(s)) {
      const path = cloneBindPath(project.name, s.name, v, root);
      if (!existsSync(path)) continue;
      removeTreeSync(path);
      removed.push(`${project.name}_${s.name}-${volumeKey(s.name, v)}`);
    }
  }
  return [...new Set(removed)];
}
