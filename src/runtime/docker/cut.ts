// Containers' part of a cut (runtime/cut.ts): dumped by runc straight into the set
// (checkpoint-container.ts), with their writable layer and volumes; brought back in new
// containers through ckpt-runc or Docker's own restore (restore-container.ts), on networks
// and addresses planned before the first is made, with the stack's traffic held while they
// are dumped and while they come back (addresses.ts).
import { join } from 'node:path';
import { criuFeatures } from '../../criu/features.js';
import { CkptError } from '../../errors.js';
import type { Service, ServiceRestoreOptions } from '../../manifest/types.js';
import type { CheckpointPart, CutContext, DataCaptured, DumpOptions, RestoreContext, RestorePart, ServiceRestored, SetServiceMeta } from '../cut.js';
import type { ServiceRecord } from '../types.js';
import { containerEndpoints, holdTraffic, planRestoreAddresses, recordedEndpoints, type Endpoint, type RestoreAddressPlan, type TrafficHold } from './addresses.js';
import { dumpContainer, planContainerDump, type ContainerDumpPlan } from './checkpoint-container.js';
import { removeProjectNetworks } from './networks.js';
import { restoreContainer } from './restore-container.js';
import { volumesToLose } from './volumes.js';
import { dataWouldBeLost, type ReplacedTrees } from '../../data/snapshot.js';
import { remappedImages } from '../../criu/images/remap-inet.js';

export class DockerCheckpoint implements CheckpointPart {
  private readonly specOf: Map<string, Service>;
  private readonly plans = new Map<string, ContainerDumpPlan>();
  private readonly endpoints = new Map<string, Endpoint[]>();
  private holding: Promise<TrafficHold | undefined> | undefined;
  private hold: TrafficHold | undefined;

  constructor(
    private readonly ctx: CutContext,
    private readonly records: ServiceRecord[],
  ) {
    this.specOf = new Map(ctx.spec.services.map((s) => [s.name, s]));
  }

  private tcpClose(service: string): boolean {
    return this.specOf.get(service)?.xCkpt.checkpoint.tcp === 'close';
  }

  check(): void {
    for (const r of this.records) {
      const c = this.specOf.get(r.service)?.container;
      // Docker's init (docker-init, bind-mounted at /sbin/docker-init) is dumped, but neither
      // runc's restore nor Docker's own brings it back (criu: "Can't remount ... with
      // MS_PRIVATE"): refused before anything is frozen, rather than a set that cannot be restored.
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
    // A dump's options depend on what the CRIU has: asked now, answered by the time it is planned.
    if (this.records.length) criuFeatures().catch(() => undefined);
  }

  /** What a dump needs (runc's state root, the overlay's upper directory) is found now: the frozen time has none of it. */
  async prepare(): Promise<Record<string, Omit<SetServiceMeta, 'runtime' | 'rssBytes'>>> {
    const out: Record<string, Omit<SetServiceMeta, 'runtime' | 'rssBytes'>> = {};
    for (const r of this.records) {
      const spec = this.specOf.get(r.service);
      const sharedVolumeTargets = new Set((spec?.volumes ?? []).filter((v) => v.external).map((v) => v.target));
      this.plans.set(r.service, await planContainerDump(r, { tcpClose: this.tcpClose(r.service), sharedVolumeTargets, storeScratch: this.ctx.storeScratch }));
      this.endpoints.set(r.service, containerEndpoints(r));
      out[r.service] = {
        logKey: '',
        ...(this.tcpClose(r.service) ? { tcpClose: true } : {}),
        ...(r.imageId ? { imageId: r.imageId } : {}),
        ...(this.endpoints.get(r.service)!.length ? { endpoints: this.endpoints.get(r.service)! } : {}),
      };
    }
    return out;
  }

  /**
   * Connections between two of the cut's containers: nothing may pass between them while they
   * are dumped one by one (a lone container has no peer in the cut to disagree with). Held while
   * the stack freezes, let through once it runs again: TCP resends what was held.
   */
  freezing(): void {
    const held = this.records.filter((r) => !this.tcpClose(r.service));
    if (held.length < 2) return;
    const ips = held.flatMap((r) => (this.endpoints.get(r.service) ?? []).map((e) => e.ip));
    this.holding = holdTraffic(this.ctx.project, ips, this.ctx.stateDir, (t) => this.ctx.guard.watchNftTable(t));
    this.holding.catch(() => undefined);
  }

  async frozen(): Promise<void> {
    this.hold = await this.holding;
  }

  async dump(rec: ServiceRecord, dir: string, o: DumpOptions): Promise<{ ms: number; data?: DataCaptured[] }> {
    const r = await dumpContainer(rec, this.plans.get(rec.service)!, dir, { leaveRunning: o.leaveRunning, onStart: o.onStart, dataDir: o.dataDir }, `service ${rec.service}`);
    return { ms: r.ms, ...(r.data.length ? { data: r.data } : {}) };
  }

  async resumed(): Promise<void> {
    await this.hold?.release();
  }

  async abort(): Promise<void> {
    // a hold still being made when the cut failed is let through too
    await (this.hold ?? (await this.holding?.catch(() => undefined)))?.release().catch(() => undefined);
  }
}

export class DockerRestore implements RestorePart {
  private plan: RestoreAddressPlan | undefined;
  private hold: TrafficHold | undefined;
  private readonly replaced: ReplacedTrees[] = [];

  constructor(
    private readonly ctx: RestoreContext,
    private readonly services: Service[],
    private readonly meta: Record<string, SetServiceMeta>,
    /** the guard that removes the traffic hold if ckpt dies */
    private readonly guard: () => { watchNftTable(table: string): void },
  ) {}

  /**
   * A container comes back on the exact image it was checkpointed on (its writable layer and
   * memory belong to that image); a set whose image is gone here is refused before anything runs.
   */
  async check(): Promise<void> {
    // data the restore would discard (process/volume-restore.ts has the rule)
    if (!this.ctx.replaceData) {
      const lost = this.services.flatMap((s) => volumesToLose(this.ctx.setDir, s.name, this.ctx.setProject, this.ctx.project.name));
      if (lost.length) throw dataWouldBeLost(this.ctx.setName, this.ctx.project.name, lost);
    }
    const wanted = this.services.filter((s) => this.meta[s.name]?.imageId);
    if (wanted.length === 0) return;
    const { imageId } = await import('./build.js');
    for (const s of wanted) {
      const id = this.meta[s.name]?.imageId;
      if (!id || (await imageId(id))) continue;
      const short = id.replace(/^sha256:/, '').slice(0, 12);
      const now = s.image ? await imageId(s.image) : undefined;
      throw new CkptError('RESTORE_FAILED', `set ${this.ctx.setName}: the image of service ${s.name} (${s.image ?? '?'}, ${short}) is not on this machine${now ? `; ${s.image} is now another image (${now.replace(/^sha256:/, '').slice(0, 12)})` : ''}`, {
        hint: `The container's files and memory belong to that exact image: load it from a machine that has it (docker save ${short} -o image.tar there, docker load -i image.tar here). A rebuild makes another image, which the set cannot run on.`,
      });
    }
  }

  /** The networks and addresses, before any container is made; the stack's traffic held until all are back. */
  async prepare(): Promise<{ network?: undefined }> {
    // every endpoint of the stack, process services' holders too: their addresses move with a clone's, and are held alike
    const recorded = recordedEndpoints(this.ctx.project, this.meta);
    if (Object.keys(recorded).length === 0) return {};
    this.plan = await planRestoreAddresses(this.ctx.project, this.ctx.setProject, recorded, this.ctx.stateRoot);
    for (const text of this.plan.warnings) this.ctx.warn(text);
    const ips = Object.values(this.plan.requests).flatMap((r) => Object.values(r));
    if (ips.length > 1) {
      const guard = this.guard();
      this.hold = await holdTraffic(this.ctx.project.name, ips, this.ctx.stateDir, (t) => guard.watchNftTable(t), 'RESTORE_FAILED');
    }
    return {};
  }

  progressCgroup(): undefined {
    // runc restores into a cgroup Docker makes meanwhile: only the start and the end are seen
    return undefined;
  }

  async restore(service: Service, meta: SetServiceMeta, modes: ServiceRestoreOptions): Promise<ServiceRestored> {
    const imagesDir = join(this.ctx.setDir, service.name);
    const gate = this.ctx.gate;
    const plan = this.plan;
    // A new container with the service's configuration. Through ckpt-runc the restored process
    // waits at the same gate as process services; Docker's own restore starts the container
    // only once the set is verified.
    const c = await restoreContainer(this.ctx.project, service, imagesDir, {
      stateRoot: this.ctx.stateRoot,
      remapPorts: this.ctx.project.name !== this.ctx.setProject,
      verified: gate.verified,
      gate: { script: gate.script, verdictFile: gate.verdictFile, ckptPid: gate.ckptPid, arrivedDir: gate.arrivedDir },
      mapPages: modes.pages === 'map',
      tcpClose: Boolean(meta.tcpClose),
      ...(meta.imageId ? { imageId: meta.imageId } : {}),
      ...(plan?.requests[service.name] ? { addresses: plan.requests[service.name]! } : {}),
      criuImagesDir: plan ? remappedImages(imagesDir, plan.map, join(gate.dir, 'images', service.name)) : imagesDir,
      allowChangedFiles: this.ctx.allowChangedFiles,
    });
    this.replaced.push(c.replaced);
    return {
      record: c.record,
      ms: c.ms,
      detail: { ms: c.ms, startMs: c.startMs, pid: c.record.initPid, container: c.record.containerId, path: c.path },
      ...(c.data.length ? { data: c.data } : {}),
    };
  }

  async finish(): Promise<void> {
    await this.hold?.release();
    for (const r of this.replaced.splice(0)) r.drop();
  }

  async abort(): Promise<void> {
    // the containers restored so far are stopped by the core; their volumes get back what they held
    for (const r of this.replaced.splice(0)) r.putBack();
    await this.hold?.release().catch(() => undefined);
    await removeProjectNetworks(this.ctx.project, this.ctx.stateRoot).catch(() => undefined);
  }
}
