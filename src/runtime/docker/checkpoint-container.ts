// Checkpointing a container straight into a set: runc (the one Docker runs the container with),
// pointed at dockerd's own runc state root, writes CRIU's images into the set's directory. This
// skips what makes `docker checkpoint create` slow: containerd packing the images into its content
// store and dockerd unpacking them again. The container is already frozen by ckpt (its freezer
// cgroup, with the stack's other services); runc hands that cgroup to CRIU, which leaves it frozen.
//
// The container's writable layer is not in CRIU's images: the overlay upper directory is packed
// into rootfs-diff.tar beside them (whiteouts and opaque directories included), like Podman's.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CkptError } from '../../errors.js';
import { stateRoot } from '../../paths.js';
import { DUMP_LOG } from '../../criu/args.js';
import { criuFeatures } from '../../criu/features.js';
import { criuPath } from '../../criu/probe.js';
import { hintFor, logErrors } from '../../criu/run.js';
import { TOOL_ENV, runTool } from '../../util/exec.js';
import type { ServiceRecord } from '../types.js';
import { DOCKER_EXEC_ROOT, runcRootOf } from './oci-runtime.js';
import { captureVolumes, containerVolumes, planVolumes, type PlannedVolume } from './volumes.js';
import type { DataCaptured } from '../cut.js';
import { ROOTFS_DIFF } from './set-files.js';

export { ROOTFS_DIFF };

export const RUNC = process.env.CKPT_RUNC || '/usr/sbin/runc';
/** overlayfs keeps whiteouts as 0/0 devices and opaque directories as trusted.overlay.* xattrs */
export const TAR_LAYER_FLAGS = ['--numeric-owner', '--xattrs', '--xattrs-include=trusted.overlay.*'];

/** What the dump needs to know of the container, found before the freeze. */
export interface ContainerDumpPlan {
  id: string;
  runcRoot: string;
  upperDir?: string;
  /** its Docker volumes, stored in the set with it, each with its capture method */
  volumes: PlannedVolume[];
  /** the CRIU runc runs (ckpt's), and ckpt's CRIU options file for it (CRIU_CONFIG_FILE) */
  criu: string;
  criuConfig: string;
  /** dump established connections (all but x-ckpt.checkpoint.tcp: close) */
  tcpEstablished: boolean;
}

/**
 * CRIU options for ckpt's container checkpoints only. runc passes them on to CRIU through its
 * environment (CRIU_CONFIG_FILE), so /etc/criu/runc.conf, which every Docker checkpoint reads,
 * stays as it is.
 *
 * - Established connections are dumped (runc's --tcp-established: runc sends CRIU that option
 *   in every request, which would override this file): the restore brings them back between the
 *   stack's containers (addresses.ts says how).
 * - No network lock of CRIU's: each CRIU would lock its own container at its own moment, which
 *   keeps no cut of a connection between two containers; ckpt holds the whole stack's traffic
 *   itself (addresses.ts). Locking and unlocking Docker's netns also ran iptables six times:
 *   ~85 ms of a 256 MiB dump here. The images record the method, so the restore skips it too.
 * - tmpfs contents written without tar when they are simple (patch 0015): a container has five
 *   tmpfs mounts, each a tar, a shell and a gzip otherwise (~19 ms in all here).
 * - skip-in-flight: a connection the frozen program has not accepted yet is left out (its client
 *   sees a reset, as for a packet lost on the wire); CRIU would refuse the dump.
 * - x-ckpt.checkpoint.tcp: close: established connections dumped closed instead (the restore must
 *   say tcp-close too; ckpt-runc's options file does).
 */
export function containerDumpOptions(features: { tmpfsInline: boolean }, o: { tcpClose?: boolean } = {}): string[] {
  return ['network-lock skip', 'skip-in-flight', ...(features.tmpfsInline ? ['tmpfs-inline'] : []), ...(o.tcpClose ? ['tcp-close'] : [])];
}

/** The options file, named by its content under the state root: written once, never rewritten. */
function containerDumpConfig(lines: string[]): string {
  const text = lines.map((l) => `${l}\n`).join('');
  const dir = join(stateRoot(), 'criu');
  const file = join(dir, `container-dump-${createHash('sha256').update(text).digest('hex').slice(0, 12)}.conf`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, file);
  }
  return file;
}

/**
 * Read from runc's own state (its state.json under dockerd's runc root) and the mount table, not
 * asked of dockerd: loading the Docker client alone would cost a checkpoint ~250 ms.
 */
export async function planContainerDump(rec: ServiceRecord, o: { tcpClose?: boolean; sharedVolumeTargets?: ReadonlySet<string>; storeScratch: string }): Promise<ContainerDumpPlan> {
  const id = rec.containerId!;
  const root = runcRootOf(id);
  if (!root) {
    throw new CkptError('CHECKPOINT_FAILED', `service ${rec.service}: container ${id.slice(0, 12)} has no runc state under ${DOCKER_EXEC_ROOT}`, {
      hint: 'The container is not running, or dockerd runs it with another OCI runtime than runc; check it with docker ps.',
    });
  }
  const config = (JSON.parse(readFileSync(join(root, id, 'state.json'), 'utf8')) as { config?: { rootfs?: string; mounts?: { source?: string; destination?: string; device?: string }[] } }).config;
  const rootfs = config?.rootfs;
  const upperDir = rootfs ? overlayUpperDir(rootfs) : undefined;
  if (!upperDir) {
    throw new CkptError('CHECKPOINT_FAILED', `service ${rec.service}: the container's root filesystem ${rootfs ?? '?'} is not an overlay mount`, {
      hint: "ckpt captures a container's writable layer from overlay2; run dockerd with the overlay2 storage driver.",
    });
  }
  const criu = criuPath();
  // overlay2 keeps layers under <docker root>/overlay2/, volumes under <docker root>/volumes/
  const dockerRoot = upperDir.slice(0, Math.max(0, upperDir.indexOf('/overlay2/'))) || '/var/lib/docker';
  return { id, runcRoot: root, upperDir, volumes: planVolumes(containerVolumes(config?.mounts ?? [], dockerRoot, o.sharedVolumeTargets), o.storeScratch), criu, criuConfig: containerDumpConfig(containerDumpOptions(await criuFeatures(criu), o)), tcpEstablished: !o.tcpClose };
}

/** The upperdir= of the overlay mounted at `mountPoint` (from /proc/self/mountinfo). */
export function overlayUpperDir(mountPoint: string, mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (f[4] !== mountPoint || sep < 0 || f[sep + 1] !== 'overlay') continue;
    const opt = (f[sep + 3] ?? '').split(',').find((o) => o.startsWith('upperdir='));
    if (opt) return opt.slice('upperdir='.length);
  }
  return undefined;
}

/** runc's command line for a checkpoint into `dir` (pure). */
export function runcCheckpointArgs(plan: ContainerDumpPlan, dir: string, leaveRunning: boolean): string[] {
  // --file-locks: runc's flag (it tells CRIU file_locks in every request, over the options file)
  return ['--root', plan.runcRoot, '--criu', plan.criu, 'checkpoint', '--file-locks', '--image-path', dir, '--work-path', dir, ...(leaveRunning ? ['--leave-running'] : []), ...(plan.tcpEstablished ? ['--tcp-established'] : []), plan.id];
}

/** Packs the writable layer; run while the container is frozen, so it is the layer of the cut. */
export async function packRootfsDiff(upperDir: string, dir: string): Promise<void> {
  const r = await runTool('tar', ['-C', upperDir, ...TAR_LAYER_FLAGS, '-cf', join(dir, ROOTFS_DIFF), '.']);
  if (r.code !== 0) {
    throw new CkptError('CHECKPOINT_FAILED', `could not pack the container's writable layer (${upperDir}): ${r.output.trim()}`, {
      hint: 'tar must be installed (GNU tar, with xattr support).',
    });
  }
}

export async function dumpContainer(
  rec: ServiceRecord,
  plan: ContainerDumpPlan,
  dir: string,
  o: { leaveRunning: boolean; onStart?: (pid: number) => void; dataDir: (volume: string, method: string) => string },
  what: string,
): Promise<{ ms: number; logFile: string; data: DataCaptured[] }> {
  const started = performance.now();
  const args = runcCheckpointArgs(plan, dir, o.leaveRunning);
  const [dump, , data] = await Promise.all([
    runTool(RUNC, args, { ...TOOL_ENV, CRIU_CONFIG_FILE: plan.criuConfig }, o.onStart),
    plan.upperDir ? packRootfsDiff(plan.upperDir, dir) : undefined,
    captureVolumes(plan.volumes, dir, o.dataDir),
  ]);
  const logFile = join(dir, DUMP_LOG);
  if (dump.code !== 0) {
    const errors = existsSync(logFile) ? logErrors(logFile) : [];
    const tcp = errors.some((e) => /Connected TCP socket/.test(e));
    throw new CkptError('CHECKPOINT_FAILED', `checkpoint of ${what} (container ${rec.containerId?.slice(0, 12)}) failed: ${tcp ? 'it has established TCP connections' : (errors.at(-1) ?? dump.output.trim())}`, {
      details: [...errors.slice(0, -1).reverse(), dump.output.trim(), `command: ${RUNC} ${args.join(' ')}`].filter(Boolean),
      logFile,
      hint: tcp
        ? `CRIU would not dump its connections open. Set x-ckpt.checkpoint.tcp: close on ${what.replace(/^service /, '')}: they are restored closed, and the program reconnects.`
        : hintFor(errors, logFile),
    });
  }
  return { ms: performance.now() - started, logFile, data };
}
