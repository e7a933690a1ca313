// `ckpt checkpoint <set>`: one consistent cut of a running stack. Every selected service's
// freezer cgroup is frozen before the first dump starts; then each frozen tree is dumped by its
// own CRIU (concurrently), into a set the store publishes only once it is complete.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { criuDump } from '../criu/run.js';
import { DUMP_LOG } from '../criu/args.js';
import { criuFeatures, requireFeatures } from '../criu/features.js';
import type { DumpStatsSummary } from './stats.js';
import { CkptError } from '../errors.js';
import { runtimeFor } from '../runtime/index.js';
import { dumpContainer, planContainerDump, type ContainerDumpPlan } from '../runtime/docker/checkpoint-container.js';
import { freeze, thaw, vforkInProgress } from '../runtime/process/freezer.js';
import { sleep } from '../util/time.js';
import { ThawGuard, waitForGuard } from '../runtime/process/guard.js';
import { STACK_NETNS_KEY, netnsInode, stopStackNetwork } from '../runtime/process/stack-network.js';
import type { ServiceRecord } from '../runtime/types.js';
import { PIDNS_KEY, foreignPidns } from '../runtime/process/pidns.js';
import { StackStateStore, type StackState } from '../state/stack-state.js';
import { Store, type SetInfo } from '../store/index.js';
import { ev } from './events.js';
import { sharedHostMounts, type HostMount } from '../runtime/process/host-mounts.js';
import { containerEndpoints, holdTraffic, type Endpoint, type TrafficHold } from '../runtime/docker/addresses.js';
import { cgroupAnonBytes, dirFileBytes, meterProgress } from './progress.js';
import type { CoreContext } from './stack.js';

export interface CheckpointOptions {
  storeRoot: string;
  /** only these services (default: all) */
  services?: string[];
  /** stop the stack after the dump instead of leaving it running */
  stop?: boolean;
  /** replace an existing set of that name */
  replace?: boolean;
}

export interface ServiceCheckpointStats extends DumpStatsSummary {
  service: string;
  /** bytes of image files written for the service */
  bytes: number;
  /** wall time of its criu dump */
  dumpWallMs: number;
}

export interface CheckpointResult {
  set: SetInfo;
  /** from the first freeze to the last service frozen */
  freezeMs: number;
  /** from the first freeze to the stack running again (or stopped) */
  frozenMs: number;
  totalMs: number;
  services: ServiceCheckpointStats[];
}

/** Per-service facts a restore needs that CRIU's images do not say. */
export interface SetServiceMeta {
  runtime: 'process' | 'docker';
  /** CRIU's --inherit-fd key ("pipe:[inode]") of the service's output pipe, replaced on restore ('' for containers: runc maps their stdio) */
  logKey: string;
  rssBytes?: number;
  /** the host's tmpfs mounts in the service's namespace, not dumped: bound from the host on restore */
  hostMounts?: HostMount[];
  /** dumped inside a pid namespace of a restore's making, not its own (see criu/args.ts externalPidns) */
  externalPidns?: boolean;
  /** x-ckpt.checkpoint.tcp: close — CRIU wants --tcp-close at the restore too */
  tcpClose?: boolean;
  /** a container's image ID: the restore makes the container from this image, and refuses without it */
  imageId?: string;
  /** a container's addresses at the cut: a restore asks for them again, a clone maps its own onto them */
  endpoints?: Endpoint[];
}

/** Test hook: CKPT_FAULT=<point> makes ckpt SIGKILL itself there (fault-injection tests). */
function faultPoint(point: 'freeze' | 'dump' | 'commit'): void {
  if (process.env.CKPT_FAULT === point) process.kill(process.pid, 'SIGKILL');
}

/** The shim pipes the init's stdout/stderr into the log; CRIU knows that pipe as pipe:[inode]. */
function outputPipeKey(rec: ServiceRecord): string {
  const link = readlinkSync(`/proc/${rec.initPid}/fd/1`);
  if (!link.startsWith('pipe:')) {
    throw new CkptError('CHECKPOINT_FAILED', `service ${rec.service} has no output pipe (fd 1 is ${link})`, {
      hint: `It was started by an older ckpt; recreate it: ckpt down -p <project> && ckpt up -d`,
    });
  }
  return link;
}

function dirBytes(dir: string, names: string[]): number {
  return names.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

export async function checkpoint(ctx: CoreContext, projectName: string, setName: string, opts: CheckpointOptions): Promise<CheckpointResult> {
  const states = new StackStateStore(ctx.stateRoot);
  const state = states.read(projectName);
  if (!state) {
    throw new CkptError('STACK_NOT_RUNNING', `no stack named ${projectName} is running`, {
      hint: 'Start it with `ckpt up -d`, or list running stacks with `ckpt ls`.',
    });
  }
  const selected = selectServices(state, opts.services);
  // Docker's init (docker-init, bind-mounted at /sbin/docker-init) is dumped, but neither runc's
  // restore nor Docker's own brings it back (criu: "Can't remount ... with MS_PRIVATE"): refused
  // before anything is frozen, rather than a set that cannot be restored.
  for (const r of selected) {
    const c = r.runtime === 'docker' ? state.spec.services.find((s) => s.name === r.service)?.container : undefined;
    if (c?.init) {
      throw new CkptError('CHECKPOINT_FAILED', `service ${r.service} runs with init: true (docker-init), whose container runc cannot restore`, {
        hint: 'Remove `init: true` (or run an init such as tini from the image\'s entrypoint, which is part of the image), then ckpt up -d again.',
      });
    }
    // a network namespace that is not the container's own holds sockets a restore cannot own
    if (c?.networkMode && c.networkMode !== 'none' && c.networkMode !== 'bridge') {
      throw new CkptError('CHECKPOINT_FAILED', `service ${r.service} runs with network_mode: ${c.networkMode}: its sockets live in ${c.networkMode === 'host' ? 'the host\'s' : 'another container\'s'} network namespace, which a restore cannot take back`, {
        hint: 'Give it a network of its own: drop network_mode (the project\'s default network) or use networks:, then ckpt up -d again.',
      });
    }
  }
  // A container's dump options depend on what the CRIU has: asked now, answered by the time
  // the dump is planned (criuFeatures keeps the answer).
  if (selected.some((r) => r.runtime === 'docker')) criuFeatures().catch(() => undefined);
  const copyFiles = new Map(state.spec.services.map((s) => [s.name, s.xCkpt.checkpoint.copy_files ?? []]));
  const tcpClose = new Set(state.spec.services.filter((s) => s.xCkpt.checkpoint.tcp === 'close').map((s) => s.name));
  if (selected.some((r) => copyFiles.get(r.service)!.length > 0)) await requireFeatures(['ghostFile'], 'x-ckpt.checkpoint.copy_files');
  const stackLock = await states.lock(projectName);
  const guardFile = join(states.dir(projectName), 'checkpoint-guard.pid');
  if (!(await waitForGuard(guardFile))) {
    stackLock.release();
    throw new CkptError('STACK_LOCKED', `an interrupted checkpoint of ${projectName} is still being dumped by CRIU`, {
      hint: 'Wait for it to finish (it thaws the stack when done), then try again.',
    });
  }
  const store = new Store(opts.storeRoot);
  store.init();
  const started = performance.now();
  const hostMountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const hostMounts = new Map(selected.filter((r) => r.runtime === 'process').map((r) => [r.service, sharedHostMounts(r.initPid!, hostMountinfo)]));
  const specOf = new Map(state.spec.services.map((s) => [s.name, s]));
  const endpoints = new Map(selected.filter((r) => r.runtime === 'docker').map((r) => [r.service, containerEndpoints(r)]));
  const pidnses = new Map(selected.flatMap((r) => {
    const ino = foreignPidns(r, specOf.get(r.service));
    return ino ? [[r.service, ino] as const] : [];
  }));
  const writer = await store.beginSet(
    setName,
    {
      project: projectName,
      services: selected.map((r) => r.service),
      ...(state.fromSet ? { parent: state.fromSet } : {}),
      manifestHash: state.spec.hash,
      extra: {
        spec: state.spec,
        services: Object.fromEntries(
          selected.map((r): [string, SetServiceMeta] => [
            r.service,
            {
              runtime: r.runtime,
              logKey: r.runtime === 'docker' ? '' : outputPipeKey(r),
              rssBytes: runtimeFor(r.runtime).status(r).rssBytes,
              ...(hostMounts.has(r.service) ? { hostMounts: hostMounts.get(r.service)! } : {}),
              ...(pidnses.has(r.service) ? { externalPidns: true } : {}),
              ...(tcpClose.has(r.service) ? { tcpClose: true } : {}),
              ...(r.imageId ? { imageId: r.imageId } : {}),
              ...(endpoints.get(r.service)?.length ? { endpoints: endpoints.get(r.service)! } : {}),
            },
          ]),
        ),
      },
    },
    { replace: Boolean(opts.replace) },
  );
  // What a container's dump needs (runc's state root, its overlay's upper directory) is found
  // now, so the frozen time has none of it.
  const containerPlans = new Map<string, ContainerDumpPlan>();
  try {
    for (const r of selected) {
      if (r.runtime !== 'docker') continue;
      const sharedVolumeTargets = new Set((specOf.get(r.service)?.volumes ?? []).filter((v) => v.external).map((v) => v.target));
      containerPlans.set(r.service, await planContainerDump(r, { tcpClose: tcpClose.has(r.service), sharedVolumeTargets }));
    }
  } catch (e) {
    await writer.abort();
    stackLock.release();
    throw e;
  }
  const stackServices = new Set(state.spec.services.filter((s) => s.xCkpt.network === 'stack').map((s) => s.name));
  const guard = new ThawGuard();
  writeFileSync(guardFile, `${guard.pid}\n`);
  const cgroups = selected.map((r) => r.cgroup!);
  cgroups.forEach((cg) => guard.watchCgroup(cg));
  const emit = (service: string | undefined, phase: string, detail?: Record<string, unknown>): void =>
    ctx.events(ev({ type: 'checkpoint', project: projectName, set: setName, phase, ...(service ? { service } : {}), ...(detail ? { detail } : {}) }));

  let frozenAt = 0;
  let hold: TrafficHold | undefined;
  let holding: Promise<TrafficHold | undefined> | undefined;
  let freezeMs = 0;
  let frozenMs = 0;
  const stats: ServiceCheckpointStats[] = [];
  // Hashing that CRIU's writing left to do finishes after the thaw: it is no reason to keep the stack frozen.
  const followings: { done(): Promise<void> }[] = [];
  try {
    emit(undefined, 'freezing');
    // Connections between two of the cut's containers: nothing may pass between them while they
    // are dumped one by one (a lone container has no peer in the cut to disagree with). Held
    // while the stack freezes, let through once it runs again: TCP resends what was held.
    const held = selected.filter((r) => r.runtime === 'docker' && !tcpClose.has(r.service));
    holding = held.length > 1 ? holdTraffic(projectName, held.flatMap((r) => endpoints.get(r.service)!.map((e) => e.ip)), states.dir(projectName), (t) => guard.watchNftTable(t)) : undefined;
    holding?.catch(() => undefined);
    frozenAt = performance.now();
    for (let attempt = 1; ; attempt++) {
      for (const cg of cgroups) {
        await freeze(cg);
        faultPoint('freeze');
      }
      // Nothing is dumped yet, so letting the stack run a moment and freezing it again keeps
      // the cut consistent; a task caught inside vfork() would make CRIU fail after 10 s.
      if (!cgroups.some(vforkInProgress) || attempt === 50) break;
      cgroups.forEach(thaw);
      await sleep(2);
      frozenAt = performance.now();
    }
    freezeMs = performance.now() - frozenAt;
    emit(undefined, 'frozen', { ms: freezeMs });
    hold = await holding;
    // The stats decoder is needed only once a dump is done: loaded while CRIU works, it costs
    // the command no time.
    const statsReader = import('./stats.js');
    statsReader.catch(() => undefined);

    await Promise.all(
      selected.map(async (rec) => {
        const dir = writer.serviceDir(rec.service);
        emit(rec.service, 'dumping', { expectedBytes: runtimeFor(rec.runtime).status(rec).rssBytes ?? 0 });
        followings.push(writer.follow(rec.service));
        const meter = meterProgress(ctx.events, { op: 'checkpoint', project: projectName, set: setName, service: rec.service }, cgroupAnonBytes(rec.cgroup!), () =>
          dirFileBytes(dir),
        );
        // A container is dumped by runc (which runs CRIU for it), straight into the set as well.
        const plan = containerPlans.get(rec.service);
        const onStart = (pid: number): void => {
          guard.watchPid(pid);
          faultPoint('dump');
        };
        const r = await (plan ? dumpContainer(rec, plan, dir, { leaveRunning: !opts.stop, onStart }, `service ${rec.service}`) : criuDump(
          {
            pid: rec.initPid!,
            imagesDir: dir,
            freezeCgroup: rec.cgroup!,
            leaveRunning: !opts.stop,
            ghostFiles: copyFiles.get(rec.service)!,
            tcpClose: tcpClose.has(rec.service),
            externalMounts: hostMounts.get(rec.service) ?? [],
            ...(stackServices.has(rec.service) ? { externalNetns: { inode: netnsInode(rec.initPid!), key: STACK_NETNS_KEY } } : {}),
            ...(pidnses.has(rec.service) ? { externalPidns: { inode: pidnses.get(rec.service)!, key: PIDNS_KEY } } : {}),
          },
          `service ${rec.service}`,
          onStart,
        )).finally(() => meter.stop());
        const bytes = dirBytes(dir, readdirSync(dir));
        meter.finish(bytes);
        const s: ServiceCheckpointStats = { service: rec.service, bytes, dumpWallMs: r.ms, ...(await statsReader).readDumpStatsSafe(dir) };
        stats.push(s);
        emit(rec.service, 'dumped', { bytes, ms: r.ms });
      }),
    );
  } catch (e) {
    await (hold ?? (await holding?.catch(() => undefined)))?.release().catch(() => undefined);
    cgroups.forEach(thaw);
    guard.release();
    rmSync(guardFile, { force: true });
    const err = keepDumpLogs(e, writer.dir, states.dir(projectName), selected);
    await writer.abort();
    stackLock.release();
    throw err;
  }
  // CRIU puts a cgroup it found frozen back to FROZEN: the stack runs again only now.
  if (!opts.stop) cgroups.forEach(thaw);
  frozenMs = performance.now() - frozenAt;
  try {
    await hold?.release();
  } catch (e) {
    guard.release();
    rmSync(guardFile, { force: true });
    await writer.abort();
    stackLock.release();
    throw e;
  }
  guard.release();
  rmSync(guardFile, { force: true });
  emit(undefined, opts.stop ? 'stopped' : 'thawed', { frozenMs });

  try {
    faultPoint('commit');
    emit(undefined, 'committing');
    await Promise.all(followings.map((f) => f.done()));
    stats.sort((a, b) => a.service.localeCompare(b.service));
    const set = await writer.commit({ stats: { freezeMs, frozenMs, services: stats } });
    emit(undefined, 'committed', { sizeBytes: set.sizeBytes });
    return { set, freezeMs, frozenMs, totalMs: performance.now() - started, services: stats };
  } finally {
    stackLock.release();
    if (opts.stop) await finishStopped(ctx, state, selected);
  }
}

/**
 * The set's temporary directory goes away with a failed checkpoint; its CRIU logs are copied
 * to the stack's state first, so the error can point at a log that still exists. A dump that
 * failed for want of space is a store error (the store's filesystem is full), not CRIU's.
 */
function keepDumpLogs(e: unknown, setDir: string, projectDir: string, services: ServiceRecord[]): unknown {
  if (!(e instanceof CkptError)) return e;
  let logFile = e.logFile;
  for (const rec of services) {
    const from = join(setDir, rec.service, DUMP_LOG);
    if (!existsSync(from)) continue;
    const to = join(projectDir, 'services', rec.service, 'last-dump.log');
    mkdirSync(join(to, '..'), { recursive: true, mode: 0o700 });
    copyFileSync(from, to);
    if (e.logFile === from) logFile = to;
  }
  // CRIU's own log may be cut short by the full disk, so look at the filesystem as well.
  const full = /No space/.test([e.message, ...e.details].join('\n')) || freeBytes(setDir) < 1024 * 1024;
  if (full) {
    return new CkptError('STORE_UNWRITABLE', `no space left on device in the store while dumping: ${e.message}`, {
      cause: e,
      details: e.details,
      ...(logFile ? { logFile } : {}),
      hint: 'Free space on the store\'s filesystem (ckpt rm old sets, then ckpt gc), or use a store elsewhere (--store DIR).',
    });
  }
  // A hint that named the log names the copy; any other hint (what to change) is kept.
  const hint = e.hint && e.logFile && logFile ? e.hint.split(e.logFile).join(logFile) : e.hint;
  return new CkptError(e.code, e.message, { cause: e.cause, details: e.details, ...(logFile ? { logFile } : {}), ...(hint ? { hint } : {}) });
}

function freeBytes(dir: string): number {
  try {
    const st = statfsSync(dir);
    return st.bavail * st.bsize;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** After `--stop`, CRIU has killed the dumped trees: clean up like `down` does for them. */
async function finishStopped(ctx: CoreContext, state: StackState, stopped: ServiceRecord[]): Promise<void> {
  const states = new StackStateStore(ctx.stateRoot);
  for (const rec of stopped) {
    await runtimeFor(rec.runtime).stop(rec, 1000);
    delete state.services[rec.service];
    ctx.events(ev({ type: 'service', project: state.project, service: rec.service, action: 'stopped' }));
  }
  if (Object.keys(state.services).length === 0) {
    if (state.network) await stopStackNetwork(state.network);
    states.remove(state.project);
  } else states.write(state);
}

function selectServices(state: StackState, names: string[] | undefined): ServiceRecord[] {
  const all = Object.keys(state.services);
  for (const n of names ?? []) {
    if (!all.includes(n)) {
      throw new CkptError('SERVICE_UNKNOWN', `no service ${n} in stack ${state.project}`, { hint: `Services: ${all.sort().join(', ')}` });
    }
  }
  const order = state.spec.services.map((s) => s.name).filter((n) => all.includes(n) && (!names?.length || names.includes(n)));
  const records = order.map((n) => state.services[n]!);
  for (const r of records) {
    if (runtimeFor(r.runtime).status(r).state !== 'running') {
      throw new CkptError('CHECKPOINT_FAILED', `service ${r.service} is not running`, {
        hint: `Start it with \`ckpt up -d -p ${state.project}\`, or leave it out: ckpt checkpoint <set> <service…>`,
      });
    }
    if (!r.cgroup) {
      throw new CkptError('CHECKPOINT_FAILED', `service ${r.service} was started by an older ckpt without a freezer cgroup`, {
        hint: `Recreate it: ckpt down -p ${state.project} && ckpt up -d`,
      });
    }
  }
  return records;
}
