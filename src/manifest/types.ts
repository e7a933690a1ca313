// The normalized project: what every later layer (runtime, core, UI) consumes. The loader turns
// the compose-like YAML into this, so nothing downstream deals with the short/long forms.

export type Runtime = 'process' | 'docker';
export type NetworkMode = 'host' | 'private' | 'stack' | 'compose';
export type DependsCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';
export type RestartPolicy = 'no' | 'always' | 'on-failure' | 'unless-stopped';

export interface Healthcheck {
  /** argv to run; a CMD-SHELL test becomes ['/bin/sh', '-c', script] */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export interface PortMapping {
  host?: string;
  published?: number;
  target: number;
  protocol: 'tcp' | 'udp';
}

export interface VolumeMount {
  type: 'bind' | 'volume' | 'tmpfs';
  source?: string;
  target: string;
  readOnly: boolean;
  /** type tmpfs: its size in bytes and mode (both optional: the kernel's defaults) */
  tmpfs?: { sizeBytes?: number; mode?: number };
  /** type volume: a new volume is not filled with what is at the target (compose's volume.nocopy) */
  noCopy?: boolean;
  /** type bind (long form): a missing source is an error unless this is set (compose's bind.create_host_path) */
  createHostPath?: boolean;
  /**
   * a named volume declared `external: true`: the Docker volume of this name (its `name:`, else
   * the key), used as it is — shared, never created, removed or stored in a set
   */
  external?: string;
}

/** ckpt's own options for one service (the `x-ckpt` block). */
export interface ServiceCkptOptions {
  runtime: Runtime;
  /** process runtime: the host's network, one of its own, or the stack's shared one */
  network: NetworkMode;
  /**
   * process runtime: 'host' runs the program in the host's pid and mount namespaces as the root
   * of its own tree (`ckpt run`); restoring it beside the original then needs restore.pid: fresh
   */
  pidNamespace?: 'host';
  /** process runtime: give the service its own hostname (uts namespace) */
  hostname?: string;
  /** seconds between SIGTERM and SIGKILL on stop */
  stopGracePeriodMs: number;
  /**
   * options for checkpoint: copy_files (absolute paths) are stored in the set, not referenced;
   * tcp: close dumps established connections closed (CRIU --tcp-close)
   */
  checkpoint: Record<string, unknown> & {
    copy_files?: string[];
    tcp?: 'keep' | 'close';
    /** the targets of bind mounts whose host directory is captured into the set like a volume */
    capture_binds?: string[];
  };
  restore: ServiceRestoreOptions;
}

/** x-ckpt.restore: what the restored program takes from its image and what from its restorer. */
export interface ServiceRestoreOptions {
  stdio: 'image' | 'inherit';
  creds: 'image' | 'inherit';
  pid: 'image' | 'fresh';
  /** copy: pages read into memory at restore; map: private pages mapped from the set's images */
  pages: 'copy' | 'map';
}

/** `build:` of a service (manifest/build.ts): what runtime/docker/build.ts sends to Docker. */
export interface BuildSpec {
  /** absolute path of the context directory */
  context: string;
  /** relative to the context; absent when the Dockerfile is inline */
  dockerfile?: string;
  dockerfileInline?: string;
  args: Record<string, string>;
  target?: string;
  labels: Record<string, string>;
  cacheFrom: string[];
  network?: string;
  shmSizeBytes?: number;
  /** "name:address" */
  extraHosts: string[];
  pull: boolean;
  noCache: boolean;
}

/** Container options passed to Docker as they are (manifest/compose/container-options.ts). */
export interface ContainerOptions {
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  init?: boolean;
  readOnly?: boolean;
  securityOpt?: string[];
  sysctls?: Record<string, string>;
  dns?: string[];
  dnsSearch?: string[];
  dnsOpt?: string[];
  /** "name:address" */
  extraHosts?: string[];
  shmSizeBytes?: number;
  /** "path" or "path:options" */
  tmpfs?: string[];
  groupAdd?: string[];
  memLimitBytes?: number;
  memswapLimitBytes?: number;
  memReservationBytes?: number;
  cpus?: number;
  cpuShares?: number;
  cpuset?: string;
  pidsLimit?: number;
  oomScoreAdj?: number;
  domainname?: string;
  stopSignal?: string;
  /** network_mode: `host`, `none`, `service:<name>` or `container:<name>` (then no networks are joined) */
  networkMode?: string;
  /** tty: the program runs on a pseudo-terminal (Config.Tty); a restore gives it a new one */
  tty?: boolean;
  /** stdin_open: stdin stays open for `docker attach` (Config.OpenStdin) */
  stdinOpen?: boolean;
}

/** A secret or config mounted read-only into a container (manifest/compose/secrets.ts). */
export interface SecretMount {
  kind: 'secret' | 'config';
  name: string;
  /** absolute path inside the container */
  target: string;
  /** where the content comes from when the container is made: never the content of a secret itself */
  from: { file: string } | { env: string } | { content: string };
  uid?: number;
  gid?: number;
  mode?: number;
}

/** A network of the project (manifest/compose/networks.ts), made in Docker as <project>_<key> unless external or named. */
export interface ProjectNetwork {
  key: string;
  /** the Docker network's name when the manifest gives one (`name:`, or external's name) */
  name?: string;
  external?: boolean;
  internal?: boolean;
  driver?: string;
  driverOpts?: Record<string, string>;
  ipam?: { subnet?: string; gateway?: string; ipRange?: string }[];
  labels?: Record<string, string>;
  attachable?: boolean;
}

/** A network a container joins, with the names other containers find it by. */
export interface NetworkAttachment {
  /** the key of a ProjectNetwork */
  network: string;
  aliases: string[];
  ipv4Address?: string;
  ipv6Address?: string;
}

export interface Service {
  name: string;
  /** argv of the program; entrypoint + command already combined for process services */
  command: string[];
  /** as written (docker services need them apart) */
  entrypoint?: string[];
  commandOnly?: string[];
  workingDir?: string;
  environment: Record<string, string>;
  user?: string;
  dependsOn: Record<string, { condition: DependsCondition }>;
  healthcheck?: Healthcheck;
  restart: RestartPolicy;
  /** `on-failure:N`: give up after N restarts (absent: no limit) */
  restartMaxRetries?: number;
  image?: string;
  /** how the image is built (absent: it must exist) */
  build?: BuildSpec;
  /** a container's options from compose keys passed to Docker (absent: none given) */
  container?: ContainerOptions;
  /** the networks a container joins, the first one first (empty: Docker's default bridge, as network_mode) */
  networks?: NetworkAttachment[];
  /** secrets and configs mounted into the container */
  secrets?: SecretMount[];
  /** container labels (compose's list or mapping form); ckpt's own ckpt.* labels win */
  labels?: Record<string, string>;
  volumes: VolumeMount[];
  ports: PortMapping[];
  xCkpt: ServiceCkptOptions;
}

export interface Project {
  name: string;
  /** absolute path of the manifest file (the first, when several are merged) */
  file: string;
  /** every file merged into the manifest (-f a -f b, an override file), in order; absent for one */
  files?: string[];
  /** directory relative paths are resolved against */
  workingDir: string;
  /** services in dependency order (dependencies first), ties broken by name */
  services: Service[];
  xCkpt: Record<string, unknown>;
  /** the networks its containers join (absent: it has no container) */
  networks?: ProjectNetwork[];
  /** sha256 of the normalized project, to detect drift between `up` and later commands */
  hash: string;
}
