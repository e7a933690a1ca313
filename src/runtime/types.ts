// The seam between the core and the ways a service can run: process trees and containers. A
// runtime starts, stops, inspects and execs into its services, and takes its part in a stack's
// checkpoint and restore (cut.ts).
import type { Project, Service } from '../manifest/types.js';
import type { CheckpointPart, CutContext, RestoreContext, RestorePart, SetServiceMeta } from './cut.js';

/** What a runtime records about a started service; persisted so other ckpt processes find it. */
export interface ServiceRecord {
  service: string;
  runtime: 'process' | 'docker';
  /** hash of the service's normalized config when it was started (drift detection) */
  configHash: string;
  startedAt: string;
  logFile: string;
  /** process runtime */
  shimPid?: number;
  /** freezer cgroup directory holding the service's tree */
  cgroup?: string;
  initPid?: number;
  initStartTicks?: number;
  /** process runtime, compose networks: the holder of the service's own network namespace */
  netnsPid?: number;
  netnsStartTicks?: number;
  /** ... and of the stack's hub, where a cut holds the traffic */
  hubPid?: number;
  /** process runtime, compose networks of the hub: the addresses it was started with (compose-network.ts addressesOf) */
  addresses?: string[];
  /** process runtime, on networks that containers join: the container whose namespace it lives in (runtime/docker/net-holder.ts) */
  netHolder?: { containerId: string; logFile: string };
  /**
   * process runtime, x-ckpt.checkpoint.capture_binds: the host directory each captured bind
   * (by target) is mounted from, where it is not the manifest's source (a clone's own copy)
   */
  bindSources?: Record<string, string>;
  /** docker runtime */
  containerId?: string;
  /** docker runtime: the ID of the image the container was made from (a set records it) */
  imageId?: string;
}

export type RunState = 'running' | 'exited' | 'dead' | 'paused';
export type Health = 'healthy' | 'unhealthy' | 'starting' | 'none';

export interface ServiceStatus {
  service: string;
  runtime: 'process' | 'docker';
  state: RunState;
  /** host pid of the service's root (the namespace init for process services) */
  pid?: number;
  /** how it ended, when it has: "exited 0", "signaled 9" */
  exit?: string;
  rssBytes?: number;
  cpuTicks?: number;
  uptimeMs?: number;
  /** published ports the runtime knows itself ("HOSTIP:HOSTPORT->TARGET/tcp"); docker containers */
  ports?: string[];
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface StartDirs {
  /** the service's state directory (pids, logs) */
  serviceDir: string;
  /** ckpt's state root, which keeps separate installs' cgroups apart */
  stateRoot: string;
  /** the holder of the stack's network namespace: the home of x-ckpt.network: stack services, the hub of compose ones */
  stackNetwork?: { pid: number; startTicks?: number };
}

export interface ServiceRuntime {
  readonly kind: 'process' | 'docker';
  start(project: Project, service: Service, where: StartDirs): Promise<ServiceRecord>;
  /** SIGTERM, the grace period, then SIGKILL; resolves when nothing of the service is left */
  stop(record: ServiceRecord, graceMs: number): Promise<void>;
  status(record: ServiceRecord): ServiceStatus;
  /** run argv inside the service's namespaces (healthchecks, `ckpt exec`) */
  exec(record: ServiceRecord, argv: string[], timeoutMs: number): Promise<ExecResult>;
  /** why a running service must be recreated for `project` beyond its config (a moved address), if it must */
  drift?(project: Project, service: Service, record: ServiceRecord): string | undefined;
  /** a kept service learns what changed around it (the names of services added to its networks) */
  refresh?(project: Project, service: Service, record: ServiceRecord): void;
  /** its part of a checkpoint of these services */
  checkpointPart(ctx: CutContext, records: ServiceRecord[]): CheckpointPart;
  /** its part of a restore of these services of a set; `guard` gives the guard of ckpt's death */
  restorePart(ctx: RestoreContext, services: Service[], meta: Record<string, SetServiceMeta>, guard: () => { watchNftTable(table: string): void }): RestorePart;
}
