// `ckpt doctor`: is this machine ready? Each failing line names the command that fixes it.
import { accessSync, constants, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { release } from 'node:os';
import { criuCheck, probeCriu } from '../criu/probe.js';
import { PATCHED_OPTIONS, criuFeatures, type PatchedOption } from '../criu/features.js';
import { isCkptError } from '../errors.js';
import { packageRoot, shimPath, volumesRoot } from '../paths.js';
import { fsTypeOf, methodBetween } from '../data/snapshot.js';
import { KERNEL_FEATURES, probeKernelFeatures, type FeatureNeed, type KernelFeatureResult } from './kernel-features.js';

/** A kernel feature as a doctor line: a missing one fails only if every stack needs it. */
function featureCheck(f: KernelFeatureResult, criu: string): DoctorCheck {
  const line: DoctorCheck = { name: f.name, group: 'kernel', need: f.need, ok: f.ok, detail: f.for };
  if (f.ok) return line;
  const why = f.detail && f.detail !== 'missing' ? ` (${f.detail})` : '';
  if (f.need === 'required') return { ...line, detail: `missing, needed for ${f.for}${why}`, fix: `a kernel with this feature; details: ${criu} check --feature ${f.name} -v4` };
  if (f.need === 'containers') return { ...line, optional: true, detail: `missing: image services cannot run (${f.for})${why}`, fix: `a kernel with this feature, for containers; process services run without it` };
  return { ...line, optional: true, detail: `missing: ${f.without ?? f.for}` };
}

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** the command (or step) that fixes a failing check */
  fix?: string;
  /** failing does not block process stacks */
  optional?: boolean;
  /** the kernel features of core/kernel-features.ts: what each is needed by */
  group?: 'kernel';
  need?: FeatureNeed;
}

export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

function writable(dir: string): { ok: boolean; detail: string } {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const probe = join(dir, `.doctor-${process.pid}`);
    writeFileSync(probe, 'x', { mode: 0o600 });
    rmSync(probe);
    return { ok: true, detail: `${dir} is writable` };
  } catch (e) {
    return { ok: false, detail: `${dir}: ${(e as Error).message}` };
  }
}

/**
 * How a checkpoint captures process services' volumes into the store (data/snapshot.ts): a
 * copy is slow in the data's size, so it is an optional failure with the way to the fast ones.
 */
function dataCheck(storeRoot: string, volumes: string): DoctorCheck {
  const made = writable(volumes);
  if (!made.ok) return { name: 'volumes', ok: false, optional: true, detail: made.detail, fix: `sudo mkdir -p ${volumes}, or set CKPT_VOLUMES` };
  const { method, why } = methodBetween(volumes, storeRoot);
  const fast = method !== 'copy';
  const fsv = fsTypeOf(volumes);
  return {
    name: 'volumes',
    ok: fast,
    optional: true,
    detail: `${volumes} (${fsv}) → store (${fsTypeOf(storeRoot)}): ${method}, ${why}${fast ? '' : '; a checkpoint copies each volume while the stack is frozen'}`,
    fix: 'put CKPT_VOLUMES and the store on one btrfs or XFS (reflink=1) filesystem, e.g. mount one at /var/lib/ckpt',
  };
}

const rel = (p: string): string => p.replace(`${process.cwd()}/`, '');

export async function doctor(opts: { stateRoot: string; storeRoot: string }): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const build = `sudo bash ${rel(join(packageRoot, 'criu-patches/build.sh'))}`;
  const root = process.getuid?.() === 0;
  checks.push({
    name: 'root',
    ok: root,
    detail: root ? 'running as root' : `running as uid ${process.getuid?.()}`,
    fix: 'run ckpt as root: sudo ckpt …',
  });

  const cr = existsSync('/proc/sys/kernel/ns_last_pid');
  checks.push({
    name: 'kernel',
    ok: cr,
    detail: `Linux ${release()}${cr ? ', CONFIG_CHECKPOINT_RESTORE' : ': no /proc/sys/kernel/ns_last_pid (CONFIG_CHECKPOINT_RESTORE is off)'}`,
    fix: 'boot a kernel built with CONFIG_CHECKPOINT_RESTORE=y',
  });

  try {
    const info = await probeCriu();
    checks.push({ name: 'criu', ok: true, detail: `${info.path} ${info.version}` });
    checks.push({
      name: 'criu build',
      ok: info.patched,
      detail: info.patched
        ? `ckpt build ${info.expectedStamp}`
        : `installed ${info.gitId ?? info.stamp ?? 'stock CRIU'}, this checkout's patches are ${info.expectedStamp}`,
      fix: build,
    });
    const features = await criuFeatures(info.path);
    const missing = Object.entries(PATCHED_OPTIONS).filter(([k]) => !features[k as PatchedOption]);
    checks.push({
      name: 'criu options',
      ok: missing.length === 0,
      detail: missing.length === 0 ? Object.values(PATCHED_OPTIONS).join(' ') : `missing ${missing.map(([, f]) => f).join(' ')}`,
      fix: build,
    });
    const check = await criuCheck(info.path);
    checks.push({
      name: 'criu check',
      ok: check.ok,
      detail: check.ok ? 'kernel supports what CRIU needs' : check.output.split('\n').slice(-3).join(' | '),
      fix: `${info.path} check -v4   # read what the kernel lacks`,
    });
    for (const f of await probeKernelFeatures(info.path)) checks.push(featureCheck(f, info.path));
  } catch (e) {
    if (!isCkptError(e)) throw e;
    checks.push({ name: 'criu', ok: false, detail: e.message, fix: build });
    // without CRIU only the host's side can be looked at
    const hostOnly = KERNEL_FEATURES.filter((f) => 'host' in f.probe);
    for (const f of await probeKernelFeatures('', hostOnly)) checks.push(featureCheck(f, 'criu'));
  }

  let shimOk = false;
  try {
    accessSync(shimPath(), constants.X_OK);
    shimOk = true;
  } catch {
    shimOk = false;
  }
  checks.push({
    name: 'shim',
    ok: shimOk,
    detail: shimOk ? shimPath() : `${shimPath()} is missing`,
    fix: `npm --prefix ${rel(packageRoot) || '.'} run build`,
  });

  const state = writable(opts.stateRoot);
  checks.push({ name: 'state dir', ...state, fix: `sudo mkdir -p ${opts.stateRoot}, or set CKPT_STATE_DIR` });
  const store = writable(opts.storeRoot);
  checks.push({ name: 'store', ...store, fix: `sudo mkdir -p ${opts.storeRoot}, or pass --store / set CKPT_STORE` });
  if (store.ok) checks.push(dataCheck(opts.storeRoot, volumesRoot()));

  // Loaded only here: the Docker client costs ~200 ms of start-up every other command would pay.
  const { pingDocker } = await import('../runtime/docker/ping.js');
  const docker = await pingDocker();
  checks.push({
    name: 'dockerd',
    optional: true,
    // ckpt checkpoints containers through runc; only Docker's own restore path (taken when
    // ckpt-runc is not registered) needs Docker's experimental checkpoint API.
    ok: docker.reachable && (docker.experimental === true || docker.ckptRuntime === true) && docker.ckptRuntimeCurrent !== false,
    detail: docker.reachable
      ? `Docker ${docker.version}, ${
          docker.ckptRuntime
            ? docker.ckptRuntimeCurrent === false
              ? "ckpt-runc registered, but it differs from this ckpt's (one from before tty support cannot restore a tty: true container)"
              : 'ckpt-runc registered'
            : 'ckpt-runc not registered (restores go through docker start --checkpoint: slower)'
        }, ${
          docker.experimental ? 'experimental' : docker.ckptRuntime ? 'not experimental (needed only by CKPT_DOCKER_RESTORE=docker)' : 'NOT experimental: containers cannot be restored'
        }`
      : `not reachable (${docker.error}); needed only for image services`,
    fix: docker.reachable
      ? 'sudo bash scripts/dockerd.sh   # installs this ckpt\'s ckpt-runc, registers it, sets "experimental": true in /etc/docker/daemon.json'
      : 'sudo bash scripts/dockerd.sh   # installs docker.io, sets "experimental": true, starts dockerd',
  });
  // containers' volumes stay in Docker's data root: captured fast only when the store shares its filesystem
  if (docker.reachable && docker.rootDir && store.ok) {
    const vols = join(docker.rootDir, 'volumes');
    const { method, why } = methodBetween(vols, opts.storeRoot);
    checks.push({
      name: 'docker volumes',
      ok: method !== 'copy',
      optional: true,
      detail: `${vols} (${fsTypeOf(vols)}) → store (${fsTypeOf(opts.storeRoot)}): ${method === 'btrfs-snapshot' ? 'reflink' : method}, ${why}${method === 'copy' ? "; a checkpoint copies each container's volume while the stack is frozen" : ''}`,
      fix: "put Docker's data-root (daemon.json) and the store on one btrfs or XFS (reflink=1) filesystem",
    });
  }

  return { ok: checks.every((c) => c.ok || c.optional), checks };
}
