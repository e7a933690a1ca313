// Restoring a container of a set into a new container created with the service's configuration
// (a clone when the project name differs), so any number of copies of one checkpoint can run.
// Docker stays in charge: dockerd creates, starts, logs and stops the container; only where the
// process comes from changes. Two ways, the first available wins:
//
//  ckpt-runc  dockerd runs the container with ckpt's OCI runtime wrapper (ckpt-runc.sh), which
//             turns the shim's `create` into `runc restore` of the set's images, read in place.
//  docker     `POST /containers/{id}/start?checkpoint=NAME`, Docker's own restore. What Docker 20.10
//             gets wrong is worked around here:
//               - --checkpoint-dir is refused (moby #37344): the set's images are mounted (a
//                 read-only overlay, no copy) into the new container's checkpoints folder instead;
//               - the start call must carry the checkpoint as a query parameter and no body;
//               - containerd unpacks the images into /tmp/ctrd-checkpoint* and never removes
//                 them: a marker file in the overlay finds this restore's copy, which is removed.
//
// The writable layer (rootfs-diff.tar) is unpacked into the new container's upper directory
// before it starts, so the restored process sees the files it had written.
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CkptError } from '../../errors.js';
import { RESTORE_LOG } from '../../criu/args.js';
import { logErrors } from '../../criu/run.js';
import { runTool } from '../../util/exec.js';
import type { Project, Service } from '../../manifest/types.js';
import type { ServiceRecord } from '../types.js';
import { docker, requireDocker } from './client.js';
import { TAR_LAYER_FLAGS } from './checkpoint-container.js';
import { ROOTFS_DIFF } from './set-files.js';
import { unpackVolumes } from './volumes.js';
import { ReplacedTrees } from '../../data/snapshot.js';
import { containerRecord, createServiceContainer } from './docker-runtime.js';
import { CKPT_OCI_RUNTIME, RESTORE_REQUESTS } from './oci-runtime.js';


export interface ContainerRestoreOptions {
  stateRoot: string;
  remapPorts: boolean;
  /** resolves when the set is verified (rejects: the container never runs) */
  verified: Promise<void>;
  /**
   * ckpt's restore gate (native/restore-gate.sh): with ckpt-runc the restore runs while the set is
   * verified and the process waits before it resumes until the verdict file says "ok"; without
   * it (Docker's own restore) the container starts only once `verified` resolves.
   */
  gate?: { script: string; verdictFile: string; ckptPid: number; arrivedDir?: string };
  /** CRIU maps the private pages from the set's images instead of copying them (patch 0012) */
  mapPages?: boolean;
  /** the set was dumped with tcp-close, which CRIU then wants at the restore too */
  tcpClose?: boolean;
  /** the image ID the set was taken on: the container is made from it, not from the tag's image of now */
  imageId?: string;
  /** its addresses, Docker network name → IPv4 (addresses.ts planRestoreAddresses) */
  addresses?: Record<string, string>;
  /** where CRIU reads the images from, when not imagesDir: the set's images with the sockets moved to the new addresses */
  criuImagesDir?: string;
  /** restore even if files the set references changed since (CRIU --allow-changed-files) */
  allowChangedFiles?: boolean;
}

export interface ContainerRestoreResult {
  record: ServiceRecord;
  /** from creating the container to it running */
  ms: number;
  /** just the start call (where the images are read) */
  startMs: number;
  path: 'ckpt-runc' | 'docker';
  /** its volumes brought back from the set */
  data: { volume: string; method: string; ms: number }[];
  /** what those volumes held before, kept until the whole stack is back */
  replaced: ReplacedTrees;
}

export async function restoreContainer(project: Project, service: Service, imagesDir: string, o: ContainerRestoreOptions): Promise<ContainerRestoreResult> {
  await requireDocker();
  const t0 = performance.now();
  const c = await createServiceContainer(project, service, {
    stateRoot: o.stateRoot,
    remapPorts: o.remapPorts,
    ...(o.imageId ? { image: o.imageId } : {}),
    ...(o.addresses ? { addresses: o.addresses } : {}),
  });
  let started = false;
  const replaced = new ReplacedTrees();
  try {
    const info = await c.inspect();
    // What the restore path cannot do is refused before anything is unpacked into the container
    // (a kept volume would lose its newer contents for a restore that then does not happen).
    const path = info.HostConfig?.Runtime === CKPT_OCI_RUNTIME ? 'ckpt-runc' : 'docker';
    if (path === 'docker' && o.mapPages) {
      throw new CkptError('RESTORE_FAILED', `service ${service.name}: pages: map needs ckpt's OCI runtime; Docker's own restore copies the pages`, {
        hint: 'Register ckpt-runc with dockerd (sudo bash scripts/dockerd.sh) and leave CKPT_DOCKER_RESTORE unset, or restore with --pages copy.',
      });
    }
    if (path === 'docker' && o.tcpClose) {
      throw new CkptError('RESTORE_FAILED', `service ${service.name} was checkpointed with tcp: close, which Docker's own restore cannot tell CRIU`, {
        hint: 'Register ckpt-runc with dockerd (sudo bash scripts/dockerd.sh) and leave CKPT_DOCKER_RESTORE unset.',
      });
    }
    // Docker's checkpoint API (start --checkpoint) exists only in experimental mode; ckpt-runc
    // restores through a plain start.
    if (path === 'docker') await requireDocker({ experimental: true });
    if (path === 'docker' && !o.tcpClose && readdirSync(imagesDir).some((n) => n.startsWith('tcp-stream-'))) {
      throw new CkptError('RESTORE_FAILED', `service ${service.name} was checkpointed with open TCP connections, which Docker's own restore cannot bring back (it does not tell CRIU tcp-established)`, {
        hint: 'Register ckpt-runc with dockerd (sudo bash scripts/dockerd.sh) and leave CKPT_DOCKER_RESTORE unset, or checkpoint with x-ckpt.checkpoint.tcp: close.',
      });
    }
    const upper = (info.GraphDriver?.Data as Record<string, string> | undefined)?.['UpperDir'];
    const diff = join(imagesDir, ROOTFS_DIFF);
    if (existsSync(diff) && upper) {
      const r = await runTool('tar', ['-C', upper, ...TAR_LAYER_FLAGS, '-xpf', diff]);
      if (r.code !== 0) throw new CkptError('RESTORE_FAILED', `service ${service.name}: could not unpack the writable layer: ${r.output.trim()}`);
    }
    const data = await unpackVolumes(imagesDir, info.Mounts ?? [], service.name, o.verified, replaced);
    if (path === 'docker' || !o.gate) await o.verified;
    const s0 = performance.now();
    const criuImages = o.criuImagesDir ?? imagesDir;
    if (path === 'ckpt-runc') {
      await startThroughWrapper(c.id, criuImages, service, o.stateRoot, o.gate, { mapPages: Boolean(o.mapPages), tcpClose: Boolean(o.tcpClose), allowChangedFiles: Boolean(o.allowChangedFiles) });
    } else await startThroughDocker(c.id, criuImages, service);
    started = true;
    const startMs = performance.now() - s0;
    return { record: await containerRecord(service, c.id), ms: performance.now() - t0, startMs, path, data, replaced };
  } finally {
    if (!started) {
      // a volume's contents before this restore come back, as the container goes
      replaced.putBack();
      await c.remove({ force: true, v: true }).catch(() => {});
    }
  }
}

async function startThroughWrapper(
  id: string,
  imagesDir: string,
  service: Service,
  stateRoot: string,
  gate: ContainerRestoreOptions['gate'],
  criu: { mapPages: boolean; tcpClose: boolean; allowChangedFiles: boolean },
): Promise<void> {
  const req = join(RESTORE_REQUESTS, id);
  mkdirSync(req, { recursive: true, mode: 0o700 });
  writeFileSync(join(req, 'images'), imagesDir);
  // CRIU reads this file in runc's RPC mode too (CRIU_CONFIG_FILE, set by ckpt-runc).
  const conf = [
    ...(gate ? [`action-script ${gate.script}`] : []),
    ...(criu.mapPages ? ['map-pages'] : []),
    ...(criu.tcpClose ? ['tcp-close'] : []),
    ...(criu.allowChangedFiles ? ['allow-changed-files'] : []),
  ];
  if (conf.length) writeFileSync(join(req, 'criu.conf'), conf.map((l) => `${l}\n`).join(''));
  // runc's own flag: runc tells CRIU tcp_established in every request, over the options file
  if (!criu.tcpClose) writeFileSync(join(req, 'tcp-established'), '');
  // and file_locks: ckpt's checkpoints take the locks (runc checkpoint --file-locks)
  writeFileSync(join(req, 'file-locks'), '');
  if (gate) {
    const q = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;
    writeFileSync(join(req, 'gate.env'), `CKPT_GATE=${q(gate.verdictFile)}\nCKPT_PID=${gate.ckptPid}\n${gate.arrivedDir ? `CKPT_ARRIVED=${q(gate.arrivedDir)}\n` : ''}`);
  }
  try {
    await docker().getContainer(id).start();
  } catch (e) {
    const log = join(req, RESTORE_LOG);
    const errors = existsSync(log) ? logErrors(log) : [];
    // The log goes with the request directory: a copy is kept, and named.
    const kept = existsSync(log) ? join(stateRoot, 'logs', `restore-${service.name}-${id.slice(0, 12)}.log`) : undefined;
    if (kept) {
      mkdirSync(join(kept, '..'), { recursive: true, mode: 0o700 });
      copyFileSync(log, kept);
    }
    // runc's answer when the wrapper dockerd runs drops --console-socket (one older than tty support)
    const staleWrapper = /without setting console socket/.test((e as Error).message);
    // CRIU's first words are the cause; "Restoring FAILED" and its cgroup helper's end follow from it
    const cause = errors.find((l) => !/Restoring FAILED|cgroupd: recv req error/.test(l)) ?? errors[0];
    const dockerdLog = 'dockerd\'s log (/var/log/ckpt-dockerd.log) has the runtime\'s own messages.';
    throw new CkptError('RESTORE_FAILED', `restore of service ${service.name} into container ${id.slice(0, 12)} failed: ${cause ?? (e as Error).message}`, {
      details: [...errors.filter((l) => l !== cause), (e as Error).message],
      ...(kept ? { logFile: kept } : {}),
      hint: staleWrapper
        ? 'The ckpt-runc that dockerd runs cannot restore a container with a terminal (tty: true): install this version of it with sudo bash scripts/dockerd.sh.'
        : kept
          ? `CRIU's log of the restore: ${kept}; ${dockerdLog}`
          : dockerdLog,
      cause: e,
    });
  } finally {
    rmSync(req, { recursive: true, force: true });
  }
}

async function startThroughDocker(id: string, imagesDir: string, service: Service): Promise<void> {
  const root = ((await docker().info()) as { DockerRootDir?: string }).DockerRootDir || '/var/lib/docker';
  const name = `ckpt-${randomBytes(4).toString('hex')}`;
  const target = join(root, 'containers', id, 'checkpoints', name);
  const marker = mkdtempSync(join(tmpdir(), 'ckpt-marker-'));
  const token = `ckpt-restore-${name}`;
  writeFileSync(join(marker, token), '');
  mkdirSync(target, { recursive: true });
  let mounted = false;
  try {
    // lowerdir order: the marker first; no upperdir makes a read-only overlay.
    const m = await runTool('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${marker}:${imagesDir}`, target]);
    if (m.code !== 0) throw new CkptError('RESTORE_FAILED', `service ${service.name}: could not mount the set's images for docker: ${m.output.trim()}`);
    mounted = true;
    try {
      // Query parameter, no body: Docker rejects a body on start since API 1.24.
      await docker().getContainer(id).start({ _query: { checkpoint: name }, _body: {} } as never);
    } catch (e) {
      throw new CkptError('RESTORE_FAILED', `restore of service ${service.name} through docker start --checkpoint failed: ${(e as Error).message}`, {
        hint: 'dockerd\'s log (/var/log/ckpt-dockerd.log) says more.',
        cause: e,
      });
    }
  } finally {
    if (mounted) await runTool('umount', [target]);
    rmSync(target, { recursive: true, force: true });
    rmSync(marker, { recursive: true, force: true });
    removeContainerdCopy(token);
  }
}

/** containerd's task service unpacks a restore's images into $TMPDIR/ctrd-checkpoint* and leaves them. */
export function removeContainerdCopy(token: string): void {
  for (const dir of new Set(['/tmp', tmpdir()])) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.startsWith('ctrd-checkpoint'));
    } catch {
      continue;
    }
    for (const n of names) {
      if (existsSync(join(dir, n, token))) rmSync(join(dir, n), { recursive: true, force: true });
    }
  }
}

