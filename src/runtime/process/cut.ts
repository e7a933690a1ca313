// Process services' part of a cut (runtime/cut.ts): each tree is dumped by its own CRIU from
// its namespace init, with the stack's network namespace, a restore-made pid namespace and the
// host's tmpfs mounts named as external; it comes back under a fresh ckpt-shim in a cgroup of
// its own, its log pipe replaced by a new one, into a new stack namespace held by ckpt-shim.
import { mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { criuDump, criuRestoreDetached } from '../../criu/run.js';
import { requireFeatures } from '../../criu/features.js';
import { CkptError } from '../../errors.js';
import type { Service, ServiceRestoreOptions } from '../../manifest/types.js';
import { captureMethod, captureTree, type DataMethod } from '../../data/snapshot.js';
import { capturedBinds, externalVolumeMounts, prepareMounts, storedVolumes, volumeKey, volumePath } from './volumes.js';
import { VolumeRestore } from './volume-restore.js';
import { shimPath } from '../../paths.js';
import { readStat } from '../../util/proc.js';
import { serviceConfigHash } from '../config-hash.js';
import type { CheckpointPart, CutContext, DataCaptured, DumpOptions, RestoreContext, RestorePart, ServiceRestored, SetServiceMeta } from '../cut.js';
import type { ServiceRecord } from '../types.js';
import { remappedImages } from '../../criu/images/remap-inet.js';
import type { RestoreAddressPlan } from '../docker/addresses.js';
import { joinDockerNetworks } from './docker-networks.js';
import { createCgroup, removeCgroup } from './freezer.js';
import { sharedHostMounts, type HostMount } from './host-mounts.js';
import { PIDNS_KEY, foreignPidns } from './pidns.js';
import { HOLD_TABLE, HOSTS_KEY, RESOLV_KEY, hold, onComposeNetworks, onDockerNetworks, onHubNetworks, release } from './compose-network.js';
import type { TrafficHold } from '../docker/addresses.js';
import {
  STACK_NETNS_KEY,
  attachHolderToHub,
  lockNetwork,
  netnsInode,
  netnsPath,
  startServiceNetns,
  startStackNetwork,
  stopStackNetwork,
  unlockNetwork,
  usesStackNetwork,
  type StackNetwork,
} from './stack-network.js';

/** A service's namespace is external to CRIU: the stack's, or (compose networks) its own. */
const externalNet = (s: Service | undefined): boolean => s?.xCkpt.network === 'stack' || s?.xCkpt.network === 'compose';

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

/** A volume or captured bind of a service, and how it goes into the set (planned before the freeze). */
interface PlannedCapture {
  volume: string;
  live: string;
  method: DataMethod;
  why: string;
}

/** Captures one volume of a service into the set (data/snapshot.ts), timing it. */
async function captureVolume(c: PlannedCapture, o: DumpOptions): Promise<DataCaptured> {
  const t0 = performance.now();
  await captureTree(c.live, o.dataDir(c.volume, c.method), c.method);
  return { volume: c.volume, method: c.method, why: c.why, ms: performance.now() - t0 };
}

export class ProcessCheckpoint implements CheckpointPart {
  private hostMounts = new Map<string, HostMount[]>();
  /** the hub whose bridges are held while the cut is taken */
  private held: string | undefined;
  /** the addresses of services in network holders (Docker's networks), held on the host's bridges */
  private readonly endpoints = new Map<string, { ip: string }[]>();
  private holderHold: TrafficHold | undefined;
  private pidnses = new Map<string, string>();
  private readonly captures = new Map<string, PlannedCapture[]>();
  private readonly specOf: Map<string, Service>;

  constructor(
    private readonly ctx: CutContext,
    private readonly records: ServiceRecord[],
  ) {
    this.specOf = new Map(ctx.spec.services.map((s) => [s.name, s]));
  }

  check(): void {}

  async prepare(): Promise<Record<string, Omit<SetServiceMeta, 'runtime' | 'rssBytes'>>> {
    if (this.records.some((r) => (this.specOf.get(r.service)?.xCkpt.checkpoint.copy_files ?? []).length > 0)) {
      await requireFeatures(['ghostFile'], 'x-ckpt.checkpoint.copy_files');
    }
    const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    const out: Record<string, Omit<SetServiceMeta, 'runtime' | 'rssBytes'>> = {};
    for (const r of this.records) {
      this.hostMounts.set(r.service, sharedHostMounts(r.initPid!, mountinfo));
      this.captures.set(r.service, this.planCaptures(r));
      const ino = foreignPidns(r, this.specOf.get(r.service));
      if (ino) this.pidnses.set(r.service, ino);
      const endpoints = r.netHolder ? (await import('../docker/net-holder.js')).holderEndpoints(r.service, r.netHolder) : [];
      if (endpoints.length) this.endpoints.set(r.service, endpoints);
      out[r.service] = {
        logKey: outputPipeKey(r),
        hostMounts: this.hostMounts.get(r.service)!,
        ...(endpoints.length ? { endpoints } : {}),
        ...(ino ? { externalPidns: true } : {}),
        ...(this.tcpClose(r.service) ? { tcpClose: true } : {}),
        ...(this.bindSources(r) ? { bindSources: this.bindSources(r)! } : {}),
      };
    }
    return out;
  }

  /** The service's volumes and captured binds, each with the method the store's filesystem allows. */
  private planCaptures(r: ServiceRecord): PlannedCapture[] {
    const spec = this.specOf.get(r.service);
    if (!spec) return [];
    return [...storedVolumes(spec), ...capturedBinds(spec)].map((v) => {
      const live = v.type === 'bind' ? (r.bindSources?.[v.target] ?? v.source!) : volumePath(this.ctx.project, spec.name, v);
      return { volume: volumeKey(spec.name, v), live, ...captureMethod(live, this.ctx.storeScratch) };
    });
  }

  /** where each captured bind was mounted from at the cut */
  private bindSources(r: ServiceRecord): Record<string, string> | undefined {
    const binds = capturedBinds(this.specOf.get(r.service)!);
    return binds.length ? Object.fromEntries(binds.map((v) => [v.target, r.bindSources?.[v.target] ?? v.source!])) : undefined;
  }

  private tcpClose(service: string): boolean {
    return this.specOf.get(service)?.xCkpt.checkpoint.tcp === 'close';
  }

  freezing(): void {}

  /** Two services that talk over the hub's bridges: no frame moves between their dumps. */
  async frozen(): Promise<void> {
    const holderIps = [...this.endpoints.values()].flat().map((e) => e.ip);
    if (holderIps.length) {
      const { holdTraffic } = await import('../docker/addresses.js');
      this.holderHold = await holdTraffic(this.ctx.project, holderIps, this.ctx.stateDir, (t) => this.ctx.guard.watchNftTable(t), 'CHECKPOINT_FAILED', 'p');
    }
    const onHub = this.records.filter((r) => onComposeNetworks(this.specOf.get(r.service)!) && r.hubPid !== undefined);
    if (onHub.length < 2) return;
    const hub = `/proc/${onHub[0]!.hubPid}/ns/net`;
    this.ctx.guard.watchNftTable(HOLD_TABLE, hub);
    await hold(hub);
    this.held = hub;
  }

  async dump(rec: ServiceRecord, dir: string, o: DumpOptions): Promise<{ ms: number; data?: DataCaptured[] }> {
    const spec = this.specOf.get(rec.service);
    const pidns = this.pidnses.get(rec.service);
    // the volumes beside the dump: both while the tree is frozen, so data and memory are one cut
    const data = Promise.all((this.captures.get(rec.service) ?? []).map((c) => captureVolume(c, o)));
    data.catch(() => undefined);
    const dumped = await criuDump(
      {
        pid: rec.initPid!,
        imagesDir: dir,
        freezeCgroup: rec.cgroup!,
        leaveRunning: o.leaveRunning,
        ghostFiles: spec?.xCkpt.checkpoint.copy_files ?? [],
        tcpClose: this.tcpClose(rec.service),
        externalMounts: [
          ...(this.hostMounts.get(rec.service) ?? []),
          ...(spec?.xCkpt.network === 'compose' ? [{ key: HOSTS_KEY, path: '/etc/hosts' }] : []),
          ...(rec.netHolder ? [{ key: RESOLV_KEY, path: '/etc/resolv.conf' }] : []),
          ...(spec ? externalVolumeMounts(spec) : []),
        ],
        ...(externalNet(spec) ? { externalNetns: { inode: netnsInode(rec.initPid!), key: STACK_NETNS_KEY } } : {}),
        ...(pidns ? { externalPidns: { inode: pidns, key: PIDNS_KEY } } : {}),
      },
      `service ${rec.service}`,
      o.onStart,
    ).catch(async (e: unknown) => {
      await data.catch(() => undefined);
      throw e;
    });
    const captured = await data;
    return { ...dumped, ...(captured.length ? { data: captured } : {}) };
  }

  async resumed(): Promise<void> {
    await this.unhold();
  }

  async abort(): Promise<void> {
    await this.unhold();
  }

  private async unhold(): Promise<void> {
    const h = this.holderHold;
    this.holderHold = undefined;
    await h?.release();
    if (!this.held) return;
    const hub = this.held;
    this.held = undefined;
    await release(hub);
  }
}

export class ProcessRestore implements RestorePart {
  private network: StackNetwork | undefined;
  private readonly restored = new Set<string>();
  /** compose-networks services' own namespaces, made before their restore */
  private readonly holders: StackNetwork[] = [];
  /** network holder containers made (Docker's networks) */
  private readonly netHolders: string[] = [];
  private addresses: RestoreAddressPlan | undefined;
  private readonly volumes: VolumeRestore;

  constructor(
    private readonly ctx: RestoreContext,
    private readonly services: Service[],
    /** the set's record of every service (the containers' endpoints, for the address plan) */
    private readonly meta: Record<string, SetServiceMeta> = {},
  ) {
    this.volumes = new VolumeRestore(ctx, services);
  }

  async check(): Promise<void> {}

  async prepare(): Promise<{ network?: StackNetwork }> {
    this.volumes.check(this.meta);
    // on Docker's networks, the same addresses as the containers' plan (runtime/docker/addresses.ts)
    if (this.services.some((s) => onDockerNetworks(this.ctx.project, s))) {
      const { planRestoreAddresses, recordedEndpoints } = await import('../docker/addresses.js');
      this.addresses = await planRestoreAddresses(this.ctx.project, this.ctx.setProject, recordedEndpoints(this.ctx.project, this.meta), this.ctx.stateRoot);
    }
    if (!usesStackNetwork(this.ctx.project)) return {};
    // A clone publishes on free host ports; the stack itself on the ports its manifest names.
    const remap = this.ctx.project.name !== this.ctx.setProject;
    this.network = await startStackNetwork(join(this.ctx.stateDir, 'network'), this.ctx.project, remap);
    // held until every service is back (a restored end would be reset by a peer not back yet)
    await lockNetwork(this.network);
    return { network: this.network };
  }

  progressCgroup(service: string): string | undefined {
    return this.ctx.cgroup(service);
  }

  async restore(service: Service, meta: SetServiceMeta, modes: ServiceRestoreOptions): Promise<ServiceRestored> {
    const serviceDir = this.ctx.serviceDir(service.name);
    rmSync(serviceDir, { recursive: true, force: true });
    mkdirSync(serviceDir, { recursive: true, mode: 0o700 });
    const workDir = join(serviceDir, 'criu');
    mkdirSync(workDir, { mode: 0o700 });
    const logFile = join(serviceDir, 'service.log');
    writeFileSync(logFile, '', { mode: 0o640 });
    const cgroup = this.ctx.cgroup(service.name);
    createCgroup(cgroup);
    // the same addresses as at the cut: the plan depends on the manifest only (compose-network.ts)
    const clone = this.ctx.project.name !== this.ctx.setProject;
    // the set's volumes in place of the live ones, then the mounts as at up
    const { sources, data, bindSources } = await this.volumes.bringBack(service, meta);
    const mounts = prepareMounts(this.ctx.project, service, sources);
    const held = onDockerNetworks(this.ctx.project, service)
      ? await joinDockerNetworks(this.ctx.project, service, serviceDir, this.ctx.stateRoot, { ...(this.addresses?.requests[service.name] ? { addresses: this.addresses.requests[service.name] } : {}), remapPorts: clone })
      : undefined;
    if (held) this.netHolders.push(held.containerId);
    const heldAddresses = held && onHubNetworks(this.ctx.project, service) ? await attachHolderToHub(this.ctx.project, service, held.pid, held.net.hostsFile, this.network && netnsPath(this.network)) : undefined;
    const own = onComposeNetworks(service) && !held ? await startServiceNetns(this.ctx.project, service, serviceDir, this.network && netnsPath(this.network)) : undefined;
    if (own) this.holders.push(own.holder);
    const netns = held ? held.net.ownNetns : own ? own.netns : service.xCkpt.network === 'stack' && this.network ? netnsPath(this.network) : undefined;
    const hostsFile = held?.net.hostsFile ?? own?.hostsFile;
    const setImages = join(this.ctx.setDir, service.name);
    // a clone's sockets on Docker's networks move with the containers' addresses
    const imagesDir = held && this.addresses ? remappedImages(setImages, this.addresses.map, join(this.ctx.gate.dir, 'images', service.name)) : setImages;
    const gate = this.ctx.gate;
    const r = await criuRestoreDetached(
      {
        imagesDir,
        workDir,
        pidFile: join(serviceDir, 'init.pid'),
        actionScript: gate.script,
        inheritCreds: modes.creds === 'inherit',
        restorePidns: modes.pid === 'fresh',
        mapPages: modes.pages === 'map',
        tcpClose: Boolean(meta.tcpClose),
        externalMounts: [
          ...(meta.hostMounts ?? []),
          ...(hostsFile ? [{ key: HOSTS_KEY, path: hostsFile }] : []),
          ...(held ? [{ key: RESOLV_KEY, path: held.net.resolvFile }] : []),
          ...mounts.filter((m) => m.key).map((m) => ({ key: m.key!, path: m.source! })),
        ],
        allowChangedFiles: this.ctx.allowChangedFiles,
      },
      {
        ...(this.ctx.here ? { stdio: 'here' as const } : modes.stdio === 'inherit' ? { stdio: 'pipe' as const } : {}),
        shim: shimPath(),
        serviceDir,
        cgroup,
        logFile,
        logKey: meta.logKey,
        env: { CKPT_GATE: gate.verdictFile, CKPT_PID: String(gate.ckptPid), CKPT_ARRIVED: gate.arrivedDir },
        ...(netns ? { netns: { path: netns, key: STACK_NETNS_KEY } } : {}),
      },
      `service ${service.name} from set ${this.ctx.setName}`,
    );
    const initPid = Number(readFileSync(join(serviceDir, 'init.pid'), 'utf8').trim());
    const shimPid = Number(readFileSync(join(serviceDir, 'shim.pid'), 'utf8').trim());
    this.restored.add(service.name);
    return {
      record: {
        service: service.name,
        runtime: 'process',
        configHash: serviceConfigHash(service),
        startedAt: new Date().toISOString(),
        logFile,
        shimPid,
        cgroup,
        initPid,
        initStartTicks: readStat(initPid)?.startTicks,
        ...(own ? { netnsPid: own.holder.pid, netnsStartTicks: own.holder.startTicks, addresses: own.addresses, ...(this.network ? { hubPid: this.network.pid } : {}) } : {}),
        ...(held ? { netHolder: { containerId: held.containerId, logFile: held.logFile } } : {}),
        ...(Object.keys(bindSources).length ? { bindSources } : {}),
        ...(heldAddresses ? { addresses: heldAddresses, ...(this.network ? { hubPid: this.network.pid } : {}) } : {}),
      },
      ms: r.ms,
      ...(r.exited ? { exited: r.exited } : {}),
      statsDir: workDir,
      detail: { ms: r.ms, pid: initPid },
      ...(data.length ? { data } : {}),
    };
  }

  async finish(): Promise<void> {
    if (this.network) await unlockNetwork(this.network);
    this.volumes.finish();
  }

  async abort(): Promise<void> {
    this.volumes.abort();
    // the cgroups of services that never came back (their shims killed and reaped what CRIU had made)
    for (const s of this.services) if (!this.restored.has(s.name)) removeCgroup(this.ctx.cgroup(s.name));
    for (const h of this.holders) await stopStackNetwork(h);
    if (this.netHolders.length) {
      const { removeNetHolder } = await import('../docker/net-holder.js');
      for (const id of this.netHolders) await removeNetHolder(id).catch(() => undefined);
    }
    if (this.network) await stopStackNetwork(this.network);
  }
}
