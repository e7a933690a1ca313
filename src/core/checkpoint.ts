// `ckpt checkpoint <set>`: one consistent cut of a running stack. Every selected service's
// freezer cgroup is frozen before the first dump starts; then each frozen tree is dumped by its
// own CRIU (concurrently), into a set the store publishes only once it is complete.
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DUMP_LOG } from '../criu/args.js';
import type { DumpStatsSummary } from './stats.js';
import { CkptError } from '../errors.js';
import type { DataCaptured } from '../runtime/cut.js';
import { ThawGuard, freeze, removeProjectNetworks, runtimeFor, stopStackNetwork, thaw, vforkInProgress, waitForGuard, type CheckpointPart, type CutContext, type SetServiceMeta } from '../runtime/index.js';
import { sleep } from '../util/time.js';
import type { ServiceRecord } from '../runtime/types.js';
import { StackStateStore, type StackState } from '../state/stack-state.js';
import { Store, type SetInfo } from '../store/index.js';
import { ev } from './events.js';
import { cgroupAnonBytes, dirFileBytes, meterProgress } from './progress.js';
import type { CoreContext } from './stack.js';

export type { SetServiceMeta };

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
  /** its volumes captured at the cut, each with its method and what it took (beside the dump) */
  data?: DataCaptured[];
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

/** Test hook: CKPT_FAULT=<point> makes ckpt SIGKILL itself there (fault-injection tests). */
function faultPoint(point: 'freeze' | 'dump' | 'commit'): void {
  if (process.env.CKPT_FAULT === point) process.kill(process.pid, 'SIGKILL');
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
  const stackLock = await states.lock(projectName);
  const guardFile = join(states.dir(projectName), 'checkpoint-guard.pid');
  if (!(await waitForGuard(guardFile))) {
    stackLock.release();
    throw new CkptError('STACK_LOCKED', `an interrupted checkpoint of ${projectName} is still being dumped by CRIU`, {
      hint: 'Wait for it to finish (it thaws the stack when done), then try again.',
    });
  }
  const guard = new ThawGuard();
  // Each runtime's part of the cut, with its services (runtime/cut.ts).
  const cutCtx: CutContext = { project: projectName, spec: state.spec, stateDir: states.dir(projectName), storeScratch: join(opts.storeRoot, 'tmp'), guard };
  const parts = new Map<ServiceRecord['runtime'], CheckpointPart>();
  for (const kind of ['process', 'docker'] as const) {
    const recs = selected.filter((r) => r.runtime === kind);
    if (recs.length) parts.set(kind, runtimeFor(kind).checkpointPart(cutCtx, recs));
  }
  const partOf = (r: ServiceRecord): CheckpointPart => parts.get(r.runtime)!;
  const store = new Store(opts.storeRoot);
  const started = performance.now();
  let metas: Record<string, Omit<SetServiceMeta, 'runtime' | 'rssBytes'>> = {};
  let writer: Awaited<ReturnType<Store['beginSet']>>;
  try {
    for (const p of parts.values()) p.check();
    store.init();
    for (const p of parts.values()) metas = { ...metas, ...(await p.prepare()) };
    writer = await store.beginSet(
      setName,
      {
        project: projectName,
        services: selected.map((r) => r.service),
        ...(state.fromSet ? { parent: state.fromSet } : {}),
        manifestHash: state.spec.hash,
        extra: {
          spec: state.spec,
          services: Object.fromEntries(
            selected.map((r): [string, SetServiceMeta] => [r.service, { runtime: r.runtime, ...metas[r.service]!, rssBytes: runtimeFor(r.runtime).status(r).rssBytes }]),
          ),
        },
      },
      { replace: Boolean(opts.replace) },
    );
  } catch (e) {
    guard.release();
    stackLock.release();
    throw e;
  }
  writeFileSync(guardFile, `${guard.pid}\n`);
  const cgroups = selected.map((r) => r.cgroup!);
  cgroups.forEach((cg) => guard.watchCgroup(cg));
  const emit = (service: string | undefined, phase: string, detail?: Record<string, unknown>): void =>
    ctx.events(ev({ type: 'checkpoint', project: projectName, set: setName, phase, ...(service ? { service } : {}), ...(detail ? { detail } : {}) }));

  let frozenAt = 0;
  let freezeMs = 0;
  let frozenMs = 0;
  const stats: ServiceCheckpointStats[] = [];
  // Hashing that CRIU's writing left to do finishes after the thaw: it is no reason to keep the stack frozen.
  const followings: { done(): Promise<void> }[] = [];
  try {
    emit(undefined, 'freezing');
    for (const p of parts.values()) p.freezing();
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
    for (const p of parts.values()) await p.frozen();
    emit(undefined, 'frozen', { ms: freezeMs });
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
        const onStart = (pid: number): void => {
          guard.watchPid(pid);
          faultPoint('dump');
        };
        const dataDir = (volume: string, method: string): string => writer.dataDir(rec.service, volume, method);
        const r = await partOf(rec).dump(rec, dir, { leaveRunning: !opts.stop, onStart, dataDir }).finally(() => meter.stop());
        const bytes = dirBytes(dir, readdirSync(dir));
        meter.finish(bytes);
        const s: ServiceCheckpointStats = { service: rec.service, bytes, dumpWallMs: r.ms, ...(await statsReader).readDumpStatsSafe(dir), ...(r.data ? { data: r.data } : {}) };
        stats.push(s);
        emit(rec.service, 'dumped', { bytes, ms: r.ms, ...(r.data ? { data: r.data } : {}) });
      }),
    );
    // CRIU puts a cgroup it found frozen back to FROZEN: the stack runs again only now.
    if (!opts.stop) cgroups.forEach(thaw);
    frozenMs = performance.now() - frozenAt;
    for (const p of parts.values()) await p.resumed();
  } catch (e) {
    for (const p of parts.values()) await p.abort();
    cgroups.forEach(thaw);
    guard.release();
    rmSync(guardFile, { force: true });
    const err = keepDumpLogs(e, writer.dir, states.dir(projectName), selected);
    await writer.abort();
    stackLock.release();
    throw err;
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
    // the stack is gone as after down: its Docker networks with it (external ones stay)
    await removeProjectNetworks(state.spec, ctx.stateRoot).catch(() => undefined);
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
