// `ckpt restore <set>` and `ckpt clone <set> --as <name>`: verify the set, then bring each
// service back under a fresh ckpt-shim (in dependency order), each in a cgroup of its own, with a
// new log handed to CRIU in place of the one the service had at checkpoint time.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { criuRestoreDetached } from '../criu/run.js';
import { CkptError } from '../errors.js';
import { isValidProjectName } from '../manifest/project-name.js';
import type { Project, Service, ServiceRestoreOptions } from '../manifest/types.js';
import { requireFeatures, type PatchedOption } from '../criu/features.js';
import { restoreGatePath, shimPath } from '../paths.js';
import { serviceConfigHash } from '../runtime/config-hash.js';
import { createCgroup, killCgroup, removeCgroup, serviceCgroup } from '../runtime/process/freezer.js';
import { restoreContainer } from '../runtime/docker/restore-container.js';
import { removeProjectNetworks } from '../runtime/index.js';
import {
  STACK_NETNS_KEY,
  lockNetwork,
  netnsPath,
  startStackNetwork,
  stopStackNetwork,
  unlockNetwork,
  usesStackNetwork,
  wantedPorts,
} from '../runtime/process/stack-network.js';
import { StackStateStore, type StackState } from '../state/stack-state.js';
import { Store, type SetInfo } from '../store/index.js';
import { readStat } from '../util/proc.js';
import { waitFor } from '../util/time.js';
import { remappedImages } from '../criu/images/remap-inet.js';
import { holdTraffic, type RestoreAddressPlan, type TrafficHold } from '../runtime/docker/addresses.js';
import { ThawGuard } from '../runtime/process/guard.js';
import type { SetServiceMeta } from './checkpoint.js';
import { ev } from './events.js';
import { cgroupReadBytes, dirFileBytes, meterProgress } from './progress.js';
import { down, type CoreContext } from './stack.js';
import { readRestoreStatsSafe, type RestoreStatsSummary } from './stats.js';

export interface RestoreOptions {
  storeRoot: string;
  /** the project name of the restored stack: a clone when it differs from the set's project */
  as?: string;
  /** stop the running stack of that name first */
  replace?: boolean;
  /**
   * The manifest the user named (-f): the set must have been taken from a stack of these
   * services. What is restored is still the configuration the set recorded; a service the file
   * has changed since is named in a warning.
   */
  manifest?: Project;
  /** override every service's x-ckpt.restore (flags of restore and clone) */
  stdio?: ServiceRestoreOptions['stdio'];
  creds?: ServiceRestoreOptions['creds'];
  pid?: ServiceRestoreOptions['pid'];
  pages?: ServiceRestoreOptions['pages'];
  /** restore even if files the set references were replaced or modified since (CRIU refuses by default) */
  allowChangedFiles?: boolean;
  /**
   * Re-hash every file of the set. By default a file hashed in full before (at commit, or by an
   * earlier restore or verify) whose inode is unchanged since is not read again (store/verified.ts).
   */
  fullVerify?: boolean;
  /**
   * Restore a one-service set into this process's own stdio (its terminal), DragonFly's
   * `checkpoint -r`: fds 0-2 inherited; `exited` then resolves with the program's exit code.
   */
  here?: boolean;
}

export interface ServiceRestoreStats extends RestoreStatsSummary {
  service: string;
  /** wall time from launching CRIU to the tree running under its shim */
  restoreWallMs: number;
}

export interface RestoreResult {
  set: SetInfo;
  project: string;
  verifyMs: number;
  /** from the first service's restore to the last one running */
  restoreMs: number;
  totalMs: number;
  services: ServiceRestoreStats[];
  state: StackState;
  /** with `here`: the program's exit code once it ends */
  exited?: Promise<number>;
}

/**
 * What a service takes from its image and what from whoever restores it. A process service
 * normally runs as pid 1 of a pid namespace of its own, which CRIU recreates on restore: its
 * pids are fresh outside already, so `pid: fresh` asks CRIU for a new namespace only for a
 * program that ran in the host's (ckpt run).
 */
function restoreModes(service: Service, opts: RestoreOptions, meta?: SetServiceMeta): ServiceRestoreOptions {
  const r = service.xCkpt.restore;
  // Dumped under a restore's pid namespace holder: only a new namespace can take the tree back.
  const pid = meta?.externalPidns ? 'fresh' : (opts.pid ?? r.pid);
  return {
    stdio: opts.here ? 'inherit' : (opts.stdio ?? r.stdio),
    creds: opts.creds ?? r.creds,
    pid: pid === 'fresh' && service.xCkpt.pidNamespace !== 'host' ? 'image' : pid,
    // Sets taken before x-ckpt.restore.pages existed hold specs without it.
    pages: opts.pages ?? r.pages ?? 'copy',
  };
}

function neededFeatures(modes: ServiceRestoreOptions[]): PatchedOption[] {
  const f = new Set<PatchedOption>();
  for (const m of modes) {
    if (m.stdio === 'inherit') f.add('inheritStdio');
    if (m.creds === 'inherit') f.add('inheritCreds');
    if (m.pid === 'fresh') f.add('restorePidns');
    if (m.pages === 'map') f.add('mapPages');
  }
  return [...f];
}

interface SetExtra {
  spec: Project;
  services: Record<string, SetServiceMeta>;
}

function setExtra(set: SetInfo): SetExtra {
  const extra = set.extra as Partial<SetExtra> | undefined;
  if (!extra?.spec || !extra.services) {
    throw new CkptError('STORE_CORRUPT', `set ${set.name} has no stack description (set.json lacks extra.spec)`, {
      hint: 'The set was not written by `ckpt checkpoint`; remove it with `ckpt rm`.',
    });
  }
  return extra as SetExtra;
}

/**
 * A container comes back on the exact image it was checkpointed on (its writable layer and
 * memory belong to that image); a set whose image is gone here is refused before anything runs.
 */
async function requireImages(set: SetInfo, services: Service[], meta: Record<string, SetServiceMeta>): Promise<void> {
  const wanted = services.filter((s) => meta[s.name]?.runtime === 'docker' && meta[s.name]?.imageId);
  if (wanted.length === 0) return;
  const { imageId } = await import('../runtime/docker/build.js');
  for (const s of wanted) {
    const id = meta[s.name]!.imageId!;
    if (await imageId(id)) continue;
    const short = id.replace(/^sha256:/, '').slice(0, 12);
    const now = s.image ? await imageId(s.image) : undefined;
    throw new CkptError('RESTORE_FAILED', `set ${set.name}: the image of service ${s.name} (${s.image ?? '?'}, ${short}) is not on this machine${now ? `; ${s.image} is now another image (${now.replace(/^sha256:/, '').slice(0, 12)})` : ''}`, {
      hint: `The container's files and memory belong to that exact image: load it from a machine that has it (docker save ${short} -o image.tar there, docker load -i image.tar here). A rebuild makes another image, which the set cannot run on.`,
    });
  }
}

/**
 * The containers' networks and addresses, before any is made: the cut's for the same project, a
 * clone's own with the images' sockets moved to them (runtime/docker/addresses.ts).
 */
async function addressPlan(project: Project, set: SetInfo, services: Service[], meta: Record<string, SetServiceMeta>, stateRoot: string): Promise<RestoreAddressPlan | undefined> {
  const recorded = Object.fromEntries(services.flatMap((s) => (meta[s.name]?.runtime === 'docker' && meta[s.name]?.endpoints?.length ? [[s.name, meta[s.name]!.endpoints!]] : [])));
  if (Object.keys(recorded).length === 0) return undefined;
  const { planRestoreAddresses } = await import('../runtime/docker/addresses.js');
  return planRestoreAddresses(project, set.project, recorded, stateRoot);
}

/** -f on restore and clone: refuse a set of other services; warn of each service the file changed since. */
export function compareWithManifest(set: SetInfo, spec: Project, manifest: Project): string[] {
  const file = manifest.file ?? 'the manifest';
  const theirs = new Map(manifest.services.map((s) => [s.name, s]));
  const absent = set.services.filter((n) => !theirs.has(n));
  if (absent.length) {
    throw new CkptError('USAGE', `set ${set.name} was taken from stack ${set.project} (services ${set.services.join(', ')}); ${file} has no service ${absent.join(', ')}`, {
      hint: `Restore it without -f (ckpt restore ${set.name}), or pick one of this file's sets: ckpt sets -f ${file}`,
    });
  }
  const recorded = new Map(spec.services.map((s) => [s.name, s]));
  const changed = set.services.filter((n) => recorded.has(n) && serviceConfigHash(recorded.get(n)!) !== serviceConfigHash(theirs.get(n)!));
  return changed.map(
    (n) => `${n}: ${file} has changed this service since set ${set.name} was taken; the set's own configuration is restored (ckpt up -f ${file} afterwards recreates it as the file says, losing its restored state)`,
  );
}

export async function restore(ctx: CoreContext, setName: string, opts: RestoreOptions): Promise<RestoreResult> {
  const started = performance.now();
  if (opts.as !== undefined && !isValidProjectName(opts.as)) {
    // It names containers, cgroups and state directories: Docker alone would refuse it half-way.
    throw new CkptError('USAGE', `the project name ${JSON.stringify(opts.as)} is not valid`, {
      hint: 'Use lowercase letters, digits, `-` and `_`, starting with a letter or digit (as docker compose -p).',
    });
  }
  const store = new Store(opts.storeRoot);
  const set = store.getSet(setName);
  const { spec, services: meta } = setExtra(set);
  if (opts.manifest) for (const text of compareWithManifest(set, spec, opts.manifest)) ctx.events(ev({ type: 'message', level: 'warn', text }));
  // --here is a copy for this terminal, gone when the program ends: it never takes the set's name.
  const projectName = opts.as ?? (opts.here ? `${set.project}-here-${process.pid}` : set.project);
  const emit = (service: string | undefined, phase: string, detail?: Record<string, unknown>): void =>
    ctx.events(ev({ type: 'restore', project: projectName, set: setName, phase, ...(service ? { service } : {}), ...(detail ? { detail } : {}) }));

  const services = spec.services.filter((s) => set.services.includes(s.name));
  if (opts.here && services.length !== 1) {
    throw new CkptError('USAGE', `--here restores one program into this terminal; set ${setName} holds ${services.length} services`, {
      hint: `Restore the whole stack without --here (ckpt restore ${setName}), or take a set of one service: ckpt checkpoint <set> <service>`,
    });
  }
  const pinned = services.filter((s) => meta[s.name]?.externalPidns);
  if (opts.pid === 'image' && pinned.length > 0) {
    throw new CkptError('USAGE', `--pid image: ${pinned.map((s) => s.name).join(', ')} in set ${setName} ran with fresh pids (a pid namespace of its own); it restores only into a new one`, {
      hint: `Restore it with --pid fresh (the default for programs of ckpt run): ckpt restore ${setName}`,
    });
  }
  if (opts.here && meta[services[0]!.name]?.runtime === 'docker') {
    throw new CkptError('USAGE', `--here restores a program into this terminal; ${services[0]!.name} in set ${setName} is a container`, {
      hint: `Restore it as a container: ckpt restore ${setName} (then ckpt logs -f, or docker attach)`,
    });
  }
  await requireImages(set, services, meta);
  await requireFeatures(
    [...neededFeatures(services.map((s) => restoreModes(s, opts, meta[s.name]))), ...(opts.allowChangedFiles ? (['allowChangedFiles'] as const) : [])],
    `restoring set ${setName}`,
  );

  const states = new StackStateStore(ctx.stateRoot);
  if (states.read(projectName)) {
    if (!opts.replace) {
      throw new CkptError('STACK_ALREADY_RUNNING', `a stack named ${projectName} is running`, {
        hint: `Replace it with \`ckpt restore ${setName} --replace\`, stop it with \`ckpt down -p ${projectName}\`, or start a copy beside it: ckpt clone ${setName} --as <name>`,
      });
    }
    await down(ctx, projectName);
  }

  const project: Project = { ...spec, name: projectName };
  const state: StackState = {
    project: projectName,
    manifestFile: spec.file,
    spec: project,
    createdAt: new Date().toISOString(),
    fromSet: setName,
    services: {},
  };
  const lock = await states.lock(projectName);
  const stats: ServiceRestoreStats[] = [];
  let exited: Promise<number> | undefined;
  const r0 = performance.now();
  // The set's hashes are checked while CRIU restores (each on its own core); every restored
  // tree waits at CRIU's pre-resume point (native/restore-gate.sh) for the verdict.
  const gateDir = join(states.dir(projectName), 'gate');
  rmSync(gateDir, { recursive: true, force: true });
  mkdirSync(gateDir, { recursive: true, mode: 0o700 });
  const verdict = join(gateDir, 'verdict');
  const arrivedDir = join(gateDir, 'arrived');
  mkdirSync(arrivedDir, { mode: 0o700 });
  let verifyMs = 0;
  let unchanged = 0;
  let hold: TrafficHold | undefined;
  let guard: ThawGuard | undefined;
  try {
    if (usesStackNetwork(project)) {
      // A clone publishes on free host ports; the stack itself on the ports its manifest names.
      const remap = projectName !== set.project;
      state.network = await startStackNetwork(join(states.dir(projectName), 'network'), wantedPorts(project, remap));
      states.write(state);
      await lockNetwork(state.network);
    }
    emit(undefined, 'verifying');
    const verifying = (async () => {
      const v0 = performance.now();
      try {
        const report = await store.verifySet(setName, { trustUnchanged: !opts.fullVerify });
        unchanged = report.unchanged;
      } catch (e) {
        writeFileSync(verdict, 'bad');
        // The gate stops a tree that reaches its resume point; a CRIU stuck on damaged images
        // would never get there, so everything restoring is killed as well.
        for (const s of services) killCgroup(serviceCgroup(ctx.stateRoot, projectName, s.name));
        throw e;
      }
      verifyMs = performance.now() - v0;
      emit(undefined, 'verified', { ms: verifyMs, unchanged });
    })();
    // The stack resumes at one moment, as it was cut at one: the verdict waits for every tree to
    // reach the gate (or for its restore to end, where it passes no gate: Docker's own restore).
    let oneFailed = false;
    let settled = 0;
    const released = (async () => {
      await verifying;
      if (services.length > 1) {
        const all = await waitFor(() => (oneFailed ? false : readdirSync(arrivedDir).length + settled >= services.length ? true : undefined), { timeoutMs: 300_000, intervalMs: 2 });
        if (all !== true) {
          writeFileSync(verdict, 'bad');
          return;
        }
      }
      writeFileSync(verdict, 'ok');
    })();
    released.catch(() => undefined);
    verifying.catch(() => undefined);
    const plan = await addressPlan(project, set, services, meta, ctx.stateRoot);
    for (const text of plan?.warnings ?? []) ctx.events(ev({ type: 'message', level: 'warn', text }));
    const held = Object.values(plan?.requests ?? {}).flatMap((r) => Object.values(r));
    if (held.length > 1) {
      // a guard removes the hold if ckpt dies before it lets the traffic through
      guard = new ThawGuard();
      const g = guard;
      hold = await holdTraffic(projectName, held, states.dir(projectName), (t) => g.watchNftTable(t), 'RESTORE_FAILED');
    }
    // With the network held (or the services not sharing one), order does not matter: all
    // services are restored at once.
    const restoring = Promise.allSettled(
      services.map(async (service) => {
        try {
          await restoreOne(service);
        } catch (e) {
          // the others wait at the gate for this one: they are told at once
          oneFailed = true;
          writeFileSync(verdict, 'bad');
          throw e;
        } finally {
          settled++;
        }
      }),
    );
    async function restoreOne(service: Service): Promise<void> {
      const m = meta[service.name]!;
      if (m.runtime === 'docker') {
        // A new container with the service's configuration. Through ckpt-runc the restored
        // process waits at the same gate as process services; Docker's own restore starts the
        // container only once the set is verified.
        emit(service.name, 'restoring');
        // runc restores into a cgroup Docker makes meanwhile: only the start and the end are seen
        const containerBytes = dirFileBytes(join(set.dir, service.name));
        const meter = meterProgress(ctx.events, { op: 'restore', project: projectName, set: setName, service: service.name }, containerBytes, () => 0);
        const imagesDir = join(set.dir, service.name);
        const c = await restoreContainer(project, service, imagesDir, {
          stateRoot: ctx.stateRoot,
          remapPorts: projectName !== set.project,
          verified: verifying,
          gate: { script: restoreGatePath(), verdictFile: verdict, ckptPid: process.pid, arrivedDir },
          ...(plan?.requests[service.name] ? { addresses: plan.requests[service.name]! } : {}),
          criuImagesDir: plan ? remappedImages(imagesDir, plan.map, join(gateDir, 'images', service.name)) : imagesDir,
          mapPages: restoreModes(service, opts, m).pages === 'map',
          tcpClose: Boolean(m.tcpClose),
          ...(m.imageId ? { imageId: m.imageId } : {}),
        }).finally(() => meter.stop());
        meter.finish(containerBytes);
        state.services[service.name] = c.record;
        stats.push({ service: service.name, restoreWallMs: c.ms });
        emit(service.name, 'restored', { ms: c.ms, startMs: c.startMs, pid: c.record.initPid, container: c.record.containerId, path: c.path });
        return;
      }
      const serviceDir = states.serviceDir(projectName, service.name);
      rmSync(serviceDir, { recursive: true, force: true });
      mkdirSync(serviceDir, { recursive: true, mode: 0o700 });
      const workDir = join(serviceDir, 'criu');
      mkdirSync(workDir, { mode: 0o700 });
      const logFile = join(serviceDir, 'service.log');
      writeFileSync(logFile, '', { mode: 0o640 });
      const cgroup = serviceCgroup(ctx.stateRoot, projectName, service.name);
      createCgroup(cgroup);
      emit(service.name, 'restoring');
      const imageBytes = dirFileBytes(join(set.dir, service.name));
      let readBytes = 0;
      const meter = meterProgress(ctx.events, { op: 'restore', project: projectName, set: setName, service: service.name }, imageBytes, () =>
        (readBytes = Math.min(Math.floor(imageBytes * 0.99), Math.max(readBytes, cgroupReadBytes(cgroup)))),
      );
      const modes = restoreModes(service, opts, m);
      const r = await criuRestoreDetached(
        {
          imagesDir: join(set.dir, service.name),
          workDir,
          pidFile: join(serviceDir, 'init.pid'),
          actionScript: restoreGatePath(),
          inheritCreds: modes.creds === 'inherit',
          restorePidns: modes.pid === 'fresh',
          mapPages: modes.pages === 'map',
          tcpClose: Boolean(m.tcpClose),
          externalMounts: m.hostMounts ?? [],
          allowChangedFiles: Boolean(opts.allowChangedFiles),
        },
        {
          ...(opts.here ? { stdio: 'here' as const } : modes.stdio === 'inherit' ? { stdio: 'pipe' as const } : {}),
          shim: shimPath(),
          serviceDir,
          cgroup,
          logFile,
          logKey: m.logKey,
          env: { CKPT_GATE: verdict, CKPT_PID: String(process.pid), CKPT_ARRIVED: arrivedDir },
          ...(service.xCkpt.network === 'stack' && state.network ? { netns: { path: netnsPath(state.network), key: STACK_NETNS_KEY } } : {}),
        },
        `service ${service.name} from set ${setName}`,
      ).finally(() => meter.stop());
      meter.finish(imageBytes);
      if (r.exited) exited = r.exited;
      const initPid = Number(readFileSync(join(serviceDir, 'init.pid'), 'utf8').trim());
      const shimPid = Number(readFileSync(join(serviceDir, 'shim.pid'), 'utf8').trim());
      state.services[service.name] = {
        service: service.name,
        runtime: 'process',
        configHash: serviceConfigHash(service),
        startedAt: new Date().toISOString(),
        logFile,
        shimPid,
        cgroup,
        initPid,
        initStartTicks: readStat(initPid)?.startTicks,
      };
      stats.push({ service: service.name, restoreWallMs: r.ms, ...readRestoreStatsSafe(workDir) });
      emit(service.name, 'restored', { ms: r.ms, pid: initPid });
    }
    const [verified, restored] = await Promise.allSettled([verifying, restoring]);
    // A failed verification is the error to report (the restores fail because of it).
    if (verified.status === 'rejected') throw verified.reason;
    const failed = restored.status === 'fulfilled' ? restored.value.find((r) => r.status === 'rejected') : undefined;
    if (failed) throw (failed as PromiseRejectedResult).reason;
    await hold?.release();
    hold = undefined;
    states.write(state);
    if (state.network) await unlockNetwork(state.network);
  } catch (e) {
    states.write(state);
    lock.release();
    // Leave nothing half-restored behind: what came back is stopped again, and the cgroups of
    // services that never came back (their shims killed and reaped what CRIU had made) go too.
    for (const s of services) if (!state.services[s.name]) removeCgroup(serviceCgroup(ctx.stateRoot, projectName, s.name));
    if (Object.keys(state.services).length) await down(ctx, projectName, { timeoutMs: 1000 });
    else {
      if (state.network) await stopStackNetwork(state.network);
      await removeProjectNetworks(project, ctx.stateRoot).catch(() => undefined);
      states.remove(projectName);
    }
    throw e;
  } finally {
    await hold?.release().catch(() => undefined);
    guard?.release();
    rmSync(gateDir, { recursive: true, force: true });
  }
  lock.release();
  const restoreMs = performance.now() - r0;
  stats.sort((a, b) => a.service.localeCompare(b.service));
  emit(undefined, 'done', { ms: restoreMs });
  return { set, project: projectName, verifyMs, restoreMs, totalMs: performance.now() - started, services: stats, state, ...(exited ? { exited } : {}) };
}
