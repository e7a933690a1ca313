// A service with `image:` as the body of Docker's container-create call. Pure, so the mapping is
// tested without Docker; restore builds a clone's container from the same function.
import { createHash } from 'node:crypto';
import type { ContainerCreateOptions } from 'dockerode';
import type { ContainerOptions, Project, Service } from '../../manifest/types.js';
import { serviceConfigHash } from '../config-hash.js';
import { endpointConfig } from './networks.js';

export const LABEL_PROJECT = 'ckpt.project';
export const LABEL_SERVICE = 'ckpt.service';
export const LABEL_CONFIG_HASH = 'ckpt.config-hash';
/** which ckpt state root started it, so separate installs (and tests) never touch each other's containers */
export const LABEL_STATE = 'ckpt.state';

export function stateTag(stateRoot: string): string {
  return createHash('sha256').update(stateRoot).digest('hex').slice(0, 8);
}

/** Named like compose names its containers: project-service-1. */
export function containerName(project: string, service: string): string {
  return `${project}-${service}-1`;
}

/** A named volume of a project, named like compose names it: project_volume (a clone's are its own). */
export function volumeName(project: string, source: string): string {
  return `${project}_${source}`;
}

export interface ContainerConfigOptions {
  stateRoot: string;
  /** publish every port on a free host port (a clone beside its original) */
  remapPorts?: boolean;
  /** the OCI runtime registered in dockerd to run it with (default: Docker's default, runc) */
  ociRuntime?: string;
  /** the image (an ID) instead of the service's `image:` (a restore: the image the set was taken on) */
  image?: string;
  /** the files of the service's secrets and configs, made by runtime/docker/secrets.ts */
  secrets?: { source: string; target: string }[];
  /** the Docker names of the service's networks, in its order (runtime/docker/networks.ts) */
  networks?: string[];
  /** a restore's address on a network (Docker name → IPv4): the one of the cut, or its clone's */
  addresses?: Record<string, string>;
}

/** A service's `ports:` as Docker's ExposedPorts and PortBindings; `remap` asks for free host ports (a clone). */
export function portBindings(service: Service, remap?: boolean): { exposed: Record<string, object>; bindings: Record<string, { HostIp: string; HostPort: string }[]> } {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of service.ports) {
    const key = `${p.target}/${p.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.host ?? '', HostPort: remap || p.published === undefined ? '' : String(p.published) });
  }
  return { exposed, bindings };
}

export function containerConfig(project: Project, service: Service, o: ContainerConfigOptions): ContainerCreateOptions {
  const { exposed, bindings } = portBindings(service, o.remapPorts);
  const binds: string[] = [];
  const mounts: NonNullable<NonNullable<ContainerCreateOptions['HostConfig']>['Mounts']> = [];
  for (const v of service.volumes) {
    // Binds make a missing host directory (the short form's rule); a long-form bind without
    // create_host_path was refused by up if its source is missing (checkBindSources)
    if (v.type === 'bind') binds.push(`${v.source}:${v.target}${v.readOnly ? ':ro' : ''}`);
    else if (v.type === 'tmpfs') {
      const t = v.tmpfs ?? {};
      mounts.push({ Type: 'tmpfs', Source: '', Target: v.target, ReadOnly: v.readOnly, ...(t.sizeBytes !== undefined || t.mode !== undefined ? { TmpfsOptions: { ...(t.sizeBytes !== undefined ? { SizeBytes: t.sizeBytes } : {}), ...(t.mode !== undefined ? { Mode: t.mode } : {}) } as NonNullable<(typeof mounts)[number]['TmpfsOptions']> } : {}) });
    } else {
      mounts.push({ Type: 'volume', Source: v.source ? (v.external ?? volumeName(project.name, v.source)) : '', Target: v.target, ReadOnly: v.readOnly, ...(v.noCopy ? { VolumeOptions: { NoCopy: true } as NonNullable<(typeof mounts)[number]['VolumeOptions']> } : {}) });
    }
  }
  const c = service.container ?? {};
  for (const f of o.secrets ?? []) binds.push(`${f.source}:${f.target}:ro`);
  const restart = service.restart === 'no' ? undefined : { Name: service.restart, ...(service.restartMaxRetries ? { MaximumRetryCount: service.restartMaxRetries } : {}) };
  return {
    name: containerName(project.name, service.name),
    Image: o.image ?? service.image!,
    ...(service.entrypoint ? { Entrypoint: service.entrypoint } : {}),
    ...(service.commandOnly ? { Cmd: service.commandOnly } : {}),
    Env: Object.entries(service.environment).map(([k, v]) => `${k}=${v}`),
    ...(service.workingDir ? { WorkingDir: service.workingDir } : {}),
    ...(service.user ? { User: service.user } : {}),
    ...(service.xCkpt.hostname ? { Hostname: service.xCkpt.hostname } : {}),
    ...(c.domainname ? { Domainname: c.domainname } : {}),
    ...(c.stopSignal ? { StopSignal: c.stopSignal } : {}),
    ...(c.tty ? { Tty: true } : {}),
    ...(c.stdinOpen ? { OpenStdin: true } : {}),
    Labels: {
      ...service.labels,
      [LABEL_PROJECT]: project.name,
      [LABEL_SERVICE]: service.name,
      [LABEL_CONFIG_HASH]: serviceConfigHash(service),
      [LABEL_STATE]: stateTag(o.stateRoot),
    },
    ExposedPorts: exposed,
    // Docker takes one network at create; the others are joined before the start
    ...(o.networks?.length ? { NetworkingConfig: { EndpointsConfig: { [o.networks[0]!]: endpointConfig(service, 0, o.addresses?.[o.networks[0]!]) } } } : {}),
    HostConfig: {
      ...(o.networks?.length ? { NetworkMode: o.networks[0] } : c.networkMode ? { NetworkMode: dockerNetworkMode(project.name, c.networkMode) } : {}),
      Binds: binds,
      Mounts: mounts,
      PortBindings: bindings,
      ...(restart ? { RestartPolicy: restart } : {}),
      ...(o.ociRuntime ? { Runtime: o.ociRuntime } : {}),
      ...hostOptions(c),
    },
  };
}

/** The compose container options (manifest/compose/container-options.ts) in HostConfig's terms. */
export function hostOptions(c: ContainerOptions): Partial<NonNullable<ContainerCreateOptions['HostConfig']>> {
  const defined = <T>(k: string, v: T | undefined): Record<string, T> => (v === undefined ? {} : { [k]: v });
  return {
    ...defined('CapAdd', c.capAdd),
    ...defined('CapDrop', c.capDrop),
    ...defined('Privileged', c.privileged),
    ...defined('Init', c.init),
    ...defined('ReadonlyRootfs', c.readOnly),
    ...defined('SecurityOpt', c.securityOpt),
    ...defined('Sysctls', c.sysctls),
    ...defined('Dns', c.dns),
    ...defined('DnsSearch', c.dnsSearch),
    ...defined('DnsOptions', c.dnsOpt),
    ...defined('ExtraHosts', c.extraHosts),
    ...defined('ShmSize', c.shmSizeBytes),
    // "/run:size=64m,mode=1777" → { "/run": "size=64m,mode=1777" }
    ...defined('Tmpfs', c.tmpfs && Object.fromEntries(c.tmpfs.map((t) => (t.includes(':') ? [t.slice(0, t.indexOf(':')), t.slice(t.indexOf(':') + 1)] : [t, ''])))),
    ...defined('GroupAdd', c.groupAdd),
    ...defined('Memory', c.memLimitBytes),
    ...defined('MemorySwap', c.memswapLimitBytes),
    ...defined('MemoryReservation', c.memReservationBytes),
    ...defined('NanoCpus', c.cpus === undefined ? undefined : Math.round(c.cpus * 1e9)),
    ...defined('CpuShares', c.cpuShares),
    ...defined('CpusetCpus', c.cpuset),
    ...defined('PidsLimit', c.pidsLimit),
    ...defined('OomScoreAdj', c.oomScoreAdj),
  };
}

/** network_mode as Docker takes it: `service:web` is the container of that service in this project. */
export function dockerNetworkMode(project: string, mode: string): string {
  return mode.startsWith('service:') ? `container:${containerName(project, mode.slice('service:'.length))}` : mode;
}
