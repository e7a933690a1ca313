// Bringing stacks up and down, and reading what runs. Observe → plan → execute, like compose:
// `planUp` decides per service (start, recreate, leave running) without side effects, and
// `up` carries the plan out in dependency order.
import { CkptError } from '../errors.js';
import type { Healthcheck, Project, Service } from '../manifest/types.js';
import { serviceConfigHash } from '../runtime/config-hash.js';
import { removeProjectNetworks, removeProjectVolumes, runtimeFor } from '../runtime/index.js';
import { requireDocker } from '../runtime/docker/client.js';
import type { ServiceRecord, ServiceStatus } from '../runtime/types.js';
import { StackStateStore, type StackState } from '../state/stack-state.js';
import { refreshStackNetwork, startStackNetwork, stopStackNetwork, usesStackNetwork } from '../runtime/process/stack-network.js';
import { isAlive } from '../util/proc.js';
import { join } from 'node:path';
import { ev, type EventSink } from './events.js';
import { waitHealthy, probe } from './health.js';
import { waitFor } from '../util/time.js';

export interface CoreContext {
  stateRoot: string;
  events: EventSink;
}

export type UpStep = { service: string; action: 'start' | 'recreate' | 'keep'; cause: string };

function running(record: ServiceRecord | undefined): boolean {
  return record !== undefined && runtimeFor(record.runtime).status(record).state === 'running';
}

/** Pure given the observed records: what `up` will do, with why. */
/** `images`: the image ID each built service has now; a container of another image is recreated. */
export function planUp(project: Project, records: Record<string, ServiceRecord>, isRunning = running, images: ReadonlyMap<string, string> = new Map()): UpStep[] {
  return project.services.map((s) => {
    const rec = records[s.name];
    if (!rec || !isRunning(rec)) return { service: s.name, action: 'start', cause: rec ? 'not running' : 'new' };
    if (rec.configHash !== serviceConfigHash(s)) {
      return { service: s.name, action: 'recreate', cause: 'configuration changed' };
    }
    const drift = runtimeFor(rec.runtime).drift?.(project, s, rec);
    if (drift) return { service: s.name, action: 'recreate', cause: drift };
    const image = images.get(s.name);
    if (image && rec.imageId && rec.imageId !== image) return { service: s.name, action: 'recreate', cause: 'image rebuilt' };
    return { service: s.name, action: 'keep', cause: 'running, configuration unchanged' };
  });
}

export function formatPlan(steps: UpStep[]): string {
  return steps.map((s) => `${s.action.padEnd(8)} ${s.service}  (${s.cause})`).join('\n');
}

/** Docker services need a dockerd that answers: say so before any service starts. */
async function checkSupported(project: Project): Promise<void> {
  if (project.services.some((s) => s.xCkpt.runtime === 'docker')) await requireDocker();
}

export interface UpOptions {
  signal?: AbortSignal;
  /** like `compose up --wait`: return only once every service with a healthcheck is healthy */
  wait?: boolean;
  /** like `compose up --build`: build every image with `build:` first, not only missing ones */
  build?: boolean;
}

export async function up(ctx: CoreContext, project: Project, opts: UpOptions = {}): Promise<StackState> {
  await checkSupported(project);
  const store = new StackStateStore(ctx.stateRoot);
  const lock = await store.lock(project.name);
  try {
    const state: StackState = store.read(project.name) ?? {
      project: project.name,
      manifestFile: project.file,
      spec: project,
      createdAt: new Date().toISOString(),
      services: {},
    };
    state.manifestFile = project.file;
    state.spec = project;
    // loaded only for a stack that builds: the tar and .dockerignore modules cost every other command
    const builds = project.services.some((s) => s.build) ? await (await import('./build.js')).build(ctx, project, { always: Boolean(opts.build) }) : [];
    const steps = planUp(project, state.services, running, new Map(builds.map((b) => [b.service, b.id])));
    const byName = new Map(project.services.map((s) => [s.name, s]));

    // Services that left the manifest are stopped, like compose's --remove-orphans.
    for (const [name, rec] of Object.entries(state.services)) {
      if (!byName.has(name)) {
        await stopOne(ctx, project.name, rec, 10_000);
        delete state.services[name];
      }
    }

    if (usesStackNetwork(project) && !(state.network && isAlive(state.network.pid, state.network.startTicks))) {
      state.network = await startStackNetwork(join(store.dir(project.name), 'network'), project, false);
      store.write(state);
    } else if (state.network && usesStackNetwork(project)) {
      await refreshStackNetwork(state.network, project);
    }

    for (const step of steps) {
      const service = byName.get(step.service)!;
      await waitForDependencies(ctx, project, service, state, opts.signal);
      if (step.action === 'keep') {
        runtimeFor(service.xCkpt.runtime).refresh?.(project, service, state.services[service.name]!);
        ctx.events(ev({ type: 'service', project: project.name, service: service.name, action: 'running' }));
        continue;
      }
      if (step.action === 'recreate') {
        ctx.events(ev({ type: 'service', project: project.name, service: service.name, action: 'recreating' }));
        await stopOne(ctx, project.name, state.services[service.name]!, service.xCkpt.stopGracePeriodMs);
      }
      ctx.events(ev({ type: 'service', project: project.name, service: service.name, action: 'starting' }));
      const runtime = runtimeFor(service.xCkpt.runtime);
      const rec = await runtime.start(project, service, {
        serviceDir: store.serviceDir(project.name, service.name),
        stateRoot: ctx.stateRoot,
        ...(state.network ? { stackNetwork: state.network } : {}),
      });
      state.services[service.name] = rec;
      store.write(state);
      ctx.events(
        ev({ type: 'service', project: project.name, service: service.name, action: 'started', detail: rec.containerId ? `container ${rec.containerId.slice(0, 12)}` : `pid ${rec.initPid}` }),
      );
    }
    store.write(state);
    if (opts.wait) {
      for (const s of project.services) {
        if (s.healthcheck) await waitServiceHealthy(ctx, project.name, s.name, s.healthcheck, state.services[s.name]!, opts.signal);
      }
    }
    return state;
  } finally {
    lock.release();
  }
}

const healthy = new WeakSet<ServiceRecord>();

async function waitServiceHealthy(
  ctx: CoreContext,
  project: string,
  service: string,
  hc: Healthcheck,
  rec: ServiceRecord,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (healthy.has(rec)) return;
  const runtime = runtimeFor(rec.runtime);
  ctx.events(ev({ type: 'service', project, service, action: 'waiting', detail: 'healthcheck' }));
  const outcome = await waitHealthy(runtime, rec, hc, {
    ...(signal ? { signal } : {}),
    isRunning: () => runtime.status(rec).state === 'running',
  });
  if (!outcome.healthy) {
    ctx.events(ev({ type: 'service', project, service, action: 'unhealthy', detail: outcome.reason }));
    throw new CkptError('SERVICE_UNHEALTHY', `service ${service} is unhealthy (${outcome.reason})`, {
      hint: `See its output with: ckpt logs -p ${project} ${service}`,
      logFile: rec.logFile,
    });
  }
  healthy.add(rec);
  ctx.events(ev({ type: 'service', project, service, action: 'healthy' }));
}

async function waitForDependencies(
  ctx: CoreContext,
  project: Project,
  service: Service,
  state: StackState,
  signal: AbortSignal | undefined,
): Promise<void> {
  for (const [dep, { condition }] of Object.entries(service.dependsOn)) {
    const rec = state.services[dep];
    const depService = project.services.find((s) => s.name === dep)!;
    if (!rec) continue;
    const runtime = runtimeFor(rec.runtime);
    if (condition === 'service_healthy' && depService.healthcheck) {
      await waitServiceHealthy(ctx, project.name, dep, depService.healthcheck, rec, signal);
    } else if (condition === 'service_completed_successfully') {
      const st = await waitFor(() => {
        const s = runtime.status(rec);
        return s.state === 'running' ? undefined : s;
      }, { timeoutMs: 600_000, intervalMs: 100 });
      if (!st || st.exit !== 'exited 0') {
        throw new CkptError('SERVICE_START_FAILED', `dependency ${dep} did not complete successfully (${st?.exit ?? 'still running'})`, {
          hint: `See its output with: ckpt logs -p ${project.name} ${dep}`,
        });
      }
    }
  }
}

async function stopOne(ctx: CoreContext, project: string, rec: ServiceRecord, graceMs: number): Promise<void> {
  ctx.events(ev({ type: 'service', project, service: rec.service, action: 'stopping' }));
  await runtimeFor(rec.runtime).stop(rec, graceMs);
  ctx.events(ev({ type: 'service', project, service: rec.service, action: 'stopped' }));
}

export interface DownOptions {
  /** grace period override; default: each service's stop_grace_period (10 s) */
  timeoutMs?: number;
  /** also remove the project's named volumes (compose down -v); anonymous ones go with their containers */
  volumes?: boolean;
}

/** Stops every service in reverse dependency order and forgets the stack. */
export async function down(ctx: CoreContext, projectName: string, opts: DownOptions = {}): Promise<string[]> {
  const store = new StackStateStore(ctx.stateRoot);
  const state = store.read(projectName);
  if (!state) {
    throw new CkptError('STACK_NOT_RUNNING', `no stack named ${projectName} is running`, {
      hint: 'List running stacks with: ckpt ls',
    });
  }
  const lock = await store.lock(projectName);
  try {
    const order = stopOrder(state);
    for (const name of order) {
      const rec = state.services[name]!;
      const grace = opts.timeoutMs ?? state.spec.services.find((s) => s.name === name)?.xCkpt.stopGracePeriodMs ?? 10_000;
      await stopOne(ctx, projectName, rec, grace);
    }
    if (state.network) await stopStackNetwork(state.network);
    for (const n of await removeProjectNetworks(state.spec, ctx.stateRoot)) ctx.events(ev({ type: 'message', level: 'info', text: `network ${n} removed` }));
    if (opts.volumes) {
      for (const v of await removeProjectVolumes(state.spec)) ctx.events(ev({ type: 'message', level: 'info', text: `volume ${v} removed` }));
    }
    lock.release();
    store.remove(projectName);
    return order;
  } finally {
    lock.release();
  }
}

/** Reverse dependency order; services no longer in the spec go first. */
export function stopOrder(state: StackState): string[] {
  const names = Object.keys(state.services);
  const order = state.spec.services.map((s) => s.name).filter((n) => names.includes(n));
  const extra = names.filter((n) => !order.includes(n)).sort();
  return [...extra, ...order.reverse()];
}

export interface PsRow extends ServiceStatus {
  project: string;
  /** published ports, "HOSTIP:HOSTPORT->TARGET/tcp" */
  ports: string[];
  /** `starting`: the last probe failed, but within start_period + interval × retries of the start (compose's "health: starting") */
  health: 'healthy' | 'starting' | 'unhealthy' | 'none' | 'unknown';
  healthOutput?: string;
}

/** One row per service; `health` is probed now (ckpt has no daemon to probe in the background). */
export async function ps(ctx: CoreContext, projectName: string): Promise<PsRow[]> {
  const state = new StackStateStore(ctx.stateRoot).read(projectName);
  if (!state) {
    throw new CkptError('STACK_NOT_RUNNING', `no stack named ${projectName} is running`, {
      hint: 'Start it with `ckpt up -d`, or list running stacks with `ckpt ls`.',
    });
  }
  const names = stopOrder(state).reverse();
  return Promise.all(
    names.map(async (name) => {
      const rec = state.services[name]!;
      const runtime = runtimeFor(rec.runtime);
      const st = runtime.status(rec);
      const hc = state.spec.services.find((s) => s.name === name)?.healthcheck;
      let health: PsRow['health'] = hc ? 'unknown' : 'none';
      let healthOutput: string | undefined;
      if (hc && st.state === 'running') {
        const r = await probe(runtime, rec, hc);
        const grace = hc.startPeriodMs + hc.intervalMs * hc.retries;
        health = r.ok ? 'healthy' : st.uptimeMs !== undefined && st.uptimeMs < grace ? 'starting' : 'unhealthy';
        if (!r.ok) healthOutput = r.output;
      }
      const ports = st.ports ?? (state.network?.ports ?? []).filter((p) => p.service === name).map((p) => `${p.hostIp}:${p.hostPort}->${p.target}/tcp`);
      return { ...st, project: projectName, ports, health, ...(healthOutput ? { healthOutput } : {}) };
    }),
  );
}

export function listStacks(ctx: CoreContext): StackState[] {
  const store = new StackStateStore(ctx.stateRoot);
  return store.list().map((p) => store.read(p)!).filter(Boolean);
}

export function readStack(ctx: CoreContext, projectName: string): StackState | undefined {
  return new StackStateStore(ctx.stateRoot).read(projectName);
}
