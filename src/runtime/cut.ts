// A runtime's part of a checkpoint and of a restore. The core (core/checkpoint.ts and
// core/restore.ts) makes one consistent cut of a stack across runtimes: it freezes every service's
// freezer cgroup before the first dump, runs the parts' steps in order, publishes the set, and
// holds every restored tree at one gate. What a runtime freezes beyond the cgroup, how it dumps,
// what the set records of a service, and how a service comes back and joins the stack's network
// stay inside the runtime (runtime/process/cut.ts, runtime/docker/cut.ts).
//
// Checkpoint, one part per runtime with its services in the cut:
//   check()     refuse what cannot be checkpointed, before anything is frozen
//   prepare()   before the freeze: plans, and what the set records of each service
//   freezing()  the freeze begins (work that may overlap it starts here)
//   frozen()    every cgroup is frozen and nothing is dumped yet (containers hold their traffic)
//   dump()      one service, into its directory of the set
//   resumed()   every dump is done and the stack runs again (or was stopped)
//   abort()     the cut failed: undo frozen()
// Restore, one part per runtime with the set's services it brings back:
//   check()     before anything runs: images, CRIU options
//   prepare()   what the services come back into: namespaces, networks, addresses
//   restore()   one service, held at the core's gate until the set is verified and all arrived
//   finish()    every service is back
//   abort()     the restore failed: remove what prepare() made
import type { Project, Service, ServiceRestoreOptions } from '../manifest/types.js';
import type { HostMount } from './process/host-mounts.js';
import type { Endpoint } from './docker/addresses.js';
import type { StackNetwork } from './process/stack-network.js';
import type { ServiceRecord } from './types.js';

/** Per-service facts a restore needs that CRIU's images do not say (set.json extra.services). */
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
  /** process services' captured binds (x-ckpt.checkpoint.capture_binds): target → the host directory at the cut */
  bindSources?: Record<string, string>;
  /** a container's addresses at the cut: a restore asks for them again, a clone maps its own onto them */
  endpoints?: Endpoint[];
}

/** What the core hands a checkpoint part. */
export interface CutContext {
  project: string;
  /** the stack's services as it runs them */
  spec: Project;
  /** the stack's state directory (scratch files) */
  stateDir: string;
  /**
   * a directory of the store the set is written into (its tmp/): where a data capture's method
   * is probed before the freeze, so the frozen time has none of it
   */
  storeScratch: string;
  /** the thaw guard: what it must undo if ckpt dies mid-cut */
  guard: { watchPid(pid: number): void; watchNftTable(table: string, netns?: string): void };
}

export interface DumpOptions {
  leaveRunning: boolean;
  /** CRIU (or runc) started: the guard watches it */
  onStart(pid: number): void;
  /** where to capture one of the service's volumes into the set (store SetWriter.dataDir) */
  dataDir(volume: string, method: string): string;
}

/** One volume captured at the cut: how, and what it cost the frozen stack. */
export interface DataCaptured {
  volume: string;
  method: string;
  /** why this method (e.g. "ext4 has no snapshots or reflinks") */
  why: string;
  ms: number;
}

export interface CheckpointPart {
  check(): void;
  /** the set's record of each service, by name (runtime-specific fields; the core adds the rest) */
  prepare(): Promise<Record<string, Omit<SetServiceMeta, 'runtime' | 'rssBytes'>>>;
  freezing(): void;
  frozen(): Promise<void>;
  dump(rec: ServiceRecord, dir: string, o: DumpOptions): Promise<{ ms: number; data?: DataCaptured[] }>;
  resumed(): Promise<void>;
  abort(): Promise<void>;
}

/** The core's gate (native/restore-gate.sh) every restored tree waits at before it resumes. */
export interface RestoreGate {
  /** the gate's scratch directory (removed after the restore) */
  dir: string;
  script: string;
  verdictFile: string;
  ckptPid: number;
  /** where each tree says it has arrived */
  arrivedDir: string;
  /** resolves when the set is verified (a restore that passes no gate waits for it) */
  verified: Promise<void>;
}

/** What the core hands a restore part. */
export interface RestoreContext {
  /** the stack as it comes back (a clone's name) */
  project: Project;
  /** the project the set was taken from */
  setProject: string;
  setName: string;
  /** the set's directory: one directory of images per service */
  setDir: string;
  stateRoot: string;
  /** the restored stack's state directory */
  stateDir: string;
  /** each service's directory in the stack's state */
  serviceDir(service: string): string;
  /** the freezer cgroup a restored service goes into */
  cgroup(service: string): string;
  gate: RestoreGate;
  /** restore even if files the set references changed since (CRIU refuses by default) */
  allowChangedFiles: boolean;
  /** --here: into this terminal */
  here: boolean;
  /**
   * --replace: a volume the set holds replaces the live one even when that one changed since the
   * cut (without it the restore refuses, naming what would be lost)
   */
  replaceData: boolean;
  warn(text: string): void;
}

export interface ServiceRestored {
  record: ServiceRecord;
  /** from launching the restore to the service running */
  ms: number;
  /** with --here: the program's exit code once it ends */
  exited?: Promise<number>;
  /** the directory CRIU wrote its restore stats to, when it has one (process services) */
  statsDir?: string;
  /** for the 'restored' event */
  detail: Record<string, unknown>;
  /** the volumes it got back from the set: how each was copied and what it took */
  data?: { volume: string; method: string; ms: number }[];
}

export interface RestorePart {
  check(): Promise<void>;
  /** a process part may make the stack network; the core records it in the stack's state */
  prepare(): Promise<{ network?: StackNetwork }>;
  restore(service: Service, meta: SetServiceMeta, modes: ServiceRestoreOptions): Promise<ServiceRestored>;
  /** the cgroup whose reads show the restore's progress, when the runtime restores into one it knows */
  progressCgroup(service: string): string | undefined;
  finish(): Promise<void>;
  abort(): Promise<void>;
}
