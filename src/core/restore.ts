// `ckpt restore <set>` and `ckpt clone <set> --as <name>`: verify the set, then bring each
// service back under a fresh ckpt-shim (in dependency order), each in a cgroup of its own, with a
// new log handed to CRIU in place of the one the service had at checkpoint time.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CkptError } from '../errors.js';
import { isValidProjectName } from '../manifest/project-name.js';
import type { Project, Service, ServiceRestoreOptions } from '../manifest/types.js';
import { requireFeatures, type PatchedOption } from '../criu/features.js';
import { restoreGatePath } from '../paths.js';
import { serviceConfigHash } from '../runtime/config-hash.js';
import { ThawGuard, killCgroup, runtimeFor, serviceCgroup, type RestoreContext, type RestorePart, type SetServiceMeta } from '../runtime/index.js';
import { StackStateStore, type StackState } from '../state/stack-state.js';
import { Store, type SetInfo } from '../store/index.js';
import { waitFor } from '../util/time.js';
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
  /** its volumes brought back from the set (before CRIU ran) */
  data?: { volume: string; method: string; ms: number }[];
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
  await requireFeatures(
    [...neededFeatures(services.map((s) => restoreModes(s, opts, meta[s.name]))), ...(opts.allowChangedFiles ? (['allowChangedFiles'] as const) : [])],
    `restoring set ${setName}`,
  );

  const states = new StackStateStore(ctx.stateRoot);
  const gateDir = join(states.dir(projectName), 'gate');
  const verdict = join(gateDir, 'verdict');
  const arrivedDir = join(gateDir, 'arrived');
  // The set's hashes are checked while CRIU restores (each on its own core); every restored
  // tree waits at CRIU's pre-resume point (native/restore-gate.sh) for the verdict.
  let verifying: Promise<void> = Promise.resolve();
  // a guard, once a part asks for one: it undoes a traffic hold if ckpt dies mid-restore
  let guard: ThawGuard | undefined;
  const rctx: RestoreContext = {
    project: { ...spec, name: projectName },
    setProject: set.project,
    setName,
    setDir: set.dir,
    stateRoot: ctx.stateRoot,
    stateDir: states.dir(projectName),
    serviceDir: (name) => states.serviceDir(projectName, name),
    cgroup: (name) => serviceCgroup(ctx.stateRoot, projectName, name),
    gate: { dir: gateDir, script: restoreGatePath(), verdictFile: verdict, ckptPid: process.pid, arrivedDir, verified: verifying },
    allowChangedFiles: Boolean(opts.allowChangedFiles),
    here: Boolean(opts.here),
    replaceData: Boolean(opts.replace),
    warn: (text) => ctx.events(ev({ type: 'message', level: 'warn', text })),
  };
  const parts = new Map<SetServiceMeta['runtime'], RestorePart>();
  for (const kind of ['process', 'docker'] as const) {
    const own = services.filter((s) => meta[s.name]!.runtime === kind);
    if (own.length) parts.set(kind, runtimeFor(kind).restorePart(rctx, own, meta, () => (guard ??= new ThawGuard())));
  }
  const partOf = (s: Service): RestorePart => parts.get(meta[s.name]!.runtime)!;
  for (const p of parts.values()) await p.check();

  if (states.read(projectName)) {
    if (!opts.replace) {
      throw new CkptError('STACK_ALREADY_RUNNING', `a stack named ${projectName} is running`, {
        hint: `Replace it with \`ckpt restore ${setName} --replace\`, stop it with \`ckpt down -p ${projectName}\`, or start a copy beside it: ckpt clone ${setName} --as <name>`,
      });
    }
    await down(ctx, projectName);
  }

  const project = rctx.project;
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
  rmSync(gateDir, { recursive: true, force: true });
  mkdirSync(arrivedDir, { recursive: true, mode: 0o700 });
  let verifyMs = 0;
  let unchanged = 0;
  try {
    for (const p of parts.values()) {
      const made = await p.prepare();
      if (made.network) {
        state.network = made.network;
        states.write(state);
      }
    }
    emit(undefined, 'verifying');
    verifying = (async () => {
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
    verifying.catch(() => undefined);
    rctx.gate.verified = verifying;
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
    const restoreOne = async (service: Service): Promise<void> => {
      const m = meta[service.name]!;
      const part = partOf(service);
      emit(service.name, 'restoring');
      const imageBytes = dirFileBytes(join(set.dir, service.name));
      const cgroup = part.progressCgroup(service.name);
      let readBytes = 0;
      const meter = meterProgress(ctx.events, { op: 'restore', project: projectName, set: setName, service: service.name }, imageBytes, () =>
        cgroup ? (readBytes = Math.min(Math.floor(imageBytes * 0.99), Math.max(readBytes, cgroupReadBytes(cgroup)))) : 0,
      );
      const r = await part.restore(service, m, restoreModes(service, opts, m)).finally(() => meter.stop());
      meter.finish(imageBytes);
      if (r.exited) exited = r.exited;
      state.services[service.name] = r.record;
      stats.push({ service: service.name, restoreWallMs: r.ms, ...(r.statsDir ? readRestoreStatsSafe(r.statsDir) : {}), ...(r.data?.length ? { data: r.data } : {}) });
      emit(service.name, 'restored', r.detail);
    };
    // With the network held, order does not matter: all services are restored at once.
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
    const [verified, restored] = await Promise.allSettled([verifying, restoring]);
    // A failed verification is the error to report (the restores fail because of it).
    if (verified.status === 'rejected') throw verified.reason;
    const failed = restored.status === 'fulfilled' ? restored.value.find((r) => r.status === 'rejected') : undefined;
    if (failed) throw (failed as PromiseRejectedResult).reason;
    for (const p of parts.values()) await p.finish();
    states.write(state);
  } catch (e) {
    states.write(state);
    lock.release();
    // Leave nothing half-restored behind: what each runtime made is removed, and what came back
    // is stopped again.
    for (const p of parts.values()) await p.abort().catch(() => undefined);
    if (Object.keys(state.services).length) await down(ctx, projectName, { timeoutMs: 1000 });
    else states.remove(projectName);
    throw e;
  } finally {
    guard?.release();
    rmSync(gateDir, { recursive: true, force: true });
  }
  lock.release();
  const restoreMs = performance.now() - r0;
  stats.sort((a, b) => a.service.localeCompare(b.service));
  emit(undefined, 'done', { ms: restoreMs });
  return { set, project: projectName, verifyMs, restoreMs, totalMs: performance.now() - started, services: stats, state, ...(exited ? { exited } : {}) };
}
