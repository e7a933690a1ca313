// Services with `image:` as Docker containers, through dockerode. ckpt keeps no daemon, so what
// `ps` and `logs` need is read from files Docker keeps itself: the container's config.v2.json
// (dockerd rewrites it on every state change) and its json-file log.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { CkptError } from '../../errors.js';
import type { Project, Service } from '../../manifest/types.js';
import { isAlive, readStat, treeCpuTicks, treeRssBytes } from '../../util/proc.js';
import { serviceConfigHash } from '../config-hash.js';
import { FREEZER_ROOT, freezerState, thaw } from '../process/freezer.js';
import type { ExecResult, ServiceRecord, ServiceRuntime, ServiceStatus, StartDirs } from '../types.js';
import type { CutContext, RestoreContext, SetServiceMeta } from '../cut.js';
import { DockerCheckpoint, DockerRestore } from './cut.js';
import { docker, requireDocker, unreachable } from './client.js';
import { LABEL_STATE, containerConfig, stateTag, volumeName, type ContainerConfigOptions } from './container-config.js';
import { forgetRestoreRequest, ociRuntimeName } from './oci-runtime.js';
import { materializeSecrets } from './secrets.js';
import { connectOtherNetworks, ensureServiceNetworks, removeProjectNetworks } from './networks.js';
import { publishedPorts, savedConfig } from './saved-config.js';

export { publishedPorts };


let dockerRoot: string | undefined;

async function dockerRootDir(): Promise<string> {
  dockerRoot ??= ((await docker().info()) as { DockerRootDir?: string }).DockerRootDir || '/var/lib/docker';
  return dockerRoot;
}

/** The freezer cgroup of a host pid (cgroup v1), where ckpt freezes the container for the cut. */
export function freezerCgroupOf(pid: number): string | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => /^\d+:freezer:/.test(l));
    return line ? join(FREEZER_ROOT, line.slice(line.indexOf(':freezer:') + ':freezer:'.length)) : undefined;
  } catch {
    return undefined;
  }
}

function statusCode(e: unknown): number | undefined {
  return (e as { statusCode?: number }).statusCode;
}

/** What ckpt records of a started (or restored) container. */
export async function containerRecord(service: Service, id: string): Promise<ServiceRecord> {
  const info = await docker().getContainer(id).inspect();
  const pid = info.State.Pid;
  const cgroup = pid ? freezerCgroupOf(pid) : undefined;
  return {
    service: service.name,
    runtime: 'docker',
    configHash: serviceConfigHash(service),
    startedAt: new Date().toISOString(),
    logFile: info.LogPath || join(await dockerRootDir(), 'containers', id, `${id}-json.log`),
    containerId: id,
    ...(info.Image ? { imageId: info.Image } : {}),
    ...(pid ? { initPid: pid, initStartTicks: readStat(pid)?.startTicks } : {}),
    ...(cgroup ? { cgroup } : {}),
  };
}

/**
 * A container of this name that this ckpt install left (a crash, an interrupted restore) is
 * removed, with its anonymous volumes; anyone else's is an error. Returns the removed one's ID.
 */
export async function removeLeftoverContainer(name: string, stateRoot: string): Promise<string | undefined> {
  const d = docker();
  try {
    const old = await d.getContainer(name).inspect();
    if (old.Config.Labels?.[LABEL_STATE] !== stateTag(stateRoot)) {
      throw new CkptError('SERVICE_START_FAILED', `a container named ${name} exists and was not started by this ckpt`, {
        hint: `Remove it (docker rm -f ${name}) or use another project name (-p).`,
      });
    }
    await d.getContainer(old.Id).remove({ force: true, v: true });
    return old.Id;
  } catch (e) {
    if (e instanceof CkptError) throw e;
    if (statusCode(e) !== 404) throw unreachable(e) ?? e;
    return undefined;
  }
}

/**
 * Creates the service's container; one of the same name left by this ckpt install (a crash, an
 * interrupted restore) is replaced, anyone else's is an error.
 */
export async function createServiceContainer(project: Project, service: Service, o: Omit<ContainerConfigOptions, 'ociRuntime'>): Promise<Dockerode.Container> {
  const d = docker();
  const secrets = materializeSecrets(project, service, o.stateRoot);
  const networks = await ensureServiceNetworks(project, service, o.stateRoot);
  const cfg = containerConfig(project, service, { ...o, ...(await ociRuntimeName()), ...(secrets.length ? { secrets } : {}), ...(networks.length ? { networks } : {}) });
  const old = await removeLeftoverContainer(cfg.name!, o.stateRoot);
  if (old) forgetRestoreRequest(old);
  // compose refuses a missing external volume; Docker would quietly create an empty one
  for (const v of service.volumes.filter((x) => x.external)) {
    try {
      await d.getVolume(v.external!).inspect();
    } catch (e) {
      if (statusCode(e) !== 404) throw unreachable(e) ?? e;
      throw new CkptError('SERVICE_START_FAILED', `service ${service.name}: external volume ${v.external} does not exist`, {
        hint: `Create it first (docker volume create ${v.external}), or drop external: true to let ckpt make a volume of the project.`,
      });
    }
  }
  try {
    const c = await d.createContainer(cfg);
    await connectOtherNetworks(c, service, networks, o.addresses).catch(async (e) => {
      await c.remove({ force: true }).catch(() => {});
      throw e;
    });
    return c;
  } catch (e) {
    if (e instanceof CkptError) throw e;
    if (statusCode(e) === 404) {
      throw new CkptError('SERVICE_START_FAILED', `service ${service.name}: image ${service.image} is not on this machine`, {
        hint: service.build
          ? `Build it: ckpt build ${service.name} -f ${project.file}`
          : /^ckpt-devcontainer:/.test(service.image ?? '')
          ? 'Build it: sudo bash scripts/build-devcontainer-image.sh'
          : `Build or load it first (docker build / docker load / docker import), e.g. docker image ls ${service.image}`,
        cause: e,
      });
    }
    throw unreachable(e) ?? new CkptError('SERVICE_START_FAILED', `service ${service.name}: docker could not create the container: ${(e as Error).message}`, { cause: e });
  }
}

export class DockerRuntime implements ServiceRuntime {
  readonly kind = 'docker' as const;

  checkpointPart(ctx: CutContext, records: ServiceRecord[]): DockerCheckpoint {
    return new DockerCheckpoint(ctx, records);
  }

  restorePart(ctx: RestoreContext, services: Service[], meta: Record<string, SetServiceMeta>, guard: () => { watchNftTable(table: string): void }): DockerRestore {
    return new DockerRestore(ctx, services, meta, guard);
  }

  async start(project: Project, service: Service, { stateRoot }: StartDirs): Promise<ServiceRecord> {
    await requireDocker();
    const c = await createServiceContainer(project, service, { stateRoot });
    try {
      await c.start();
    } catch (e) {
      await c.remove({ force: true, v: true }).catch(() => {});
      throw unreachable(e) ?? new CkptError('SERVICE_START_FAILED', `service ${service.name}: docker could not start the container: ${(e as Error).message}`, {
        cause: e,
        hint: 'Check the service\'s command, entrypoint and volumes; dockerd\'s log may say more.',
      });
    }
    return containerRecord(service, c.id);
  }

  status(record: ServiceRecord): ServiceStatus {
    const base = { service: record.service, runtime: 'docker' as const };
    const saved = savedConfig(record);
    const s = saved?.State;
    const pid = s?.Pid || record.initPid;
    if (s?.Running && pid && isAlive(pid)) {
      const frozen = record.cgroup !== undefined && freezerState(record.cgroup) === 'FROZEN';
      return {
        ...base,
        state: s.Paused || frozen ? 'paused' : 'running',
        pid,
        rssBytes: treeRssBytes(pid),
        cpuTicks: treeCpuTicks(pid),
        uptimeMs: s.StartedAt ? Date.now() - Date.parse(s.StartedAt) : 0,
        ports: publishedPorts(saved?.NetworkSettings?.Ports),
      };
    }
    if (!s) return { ...base, state: 'dead' };
    return { ...base, state: s.Dead ? 'dead' : 'exited', exit: `exited ${s.ExitCode ?? '?'}` };
  }

  async stop(record: ServiceRecord, graceMs: number): Promise<void> {
    // A frozen container acts on no signal until thawed (a checkpoint interrupted mid-cut).
    if (record.cgroup) thaw(record.cgroup);
    const c = docker().getContainer(record.containerId!);
    try {
      await c.stop({ t: Math.max(0, Math.ceil(graceMs / 1000)) });
    } catch (e) {
      // 304: already stopped; 404: already gone
      if (statusCode(e) !== 304 && statusCode(e) !== 404) throw dockerFailure(record, 'stop', e);
    }
    try {
      await c.remove({ force: true, v: true });
    } catch (e) {
      if (statusCode(e) !== 404 && !/already in progress/.test((e as Error).message)) throw dockerFailure(record, 'remove', e);
    }
    forgetRestoreRequest(record.containerId!);
  }

  /** Removes the networks of a project that is down (its own, not external ones); returns those removed. */
  removeNetworks(project: Project, stateRoot: string): Promise<string[]> {
    return removeProjectNetworks(project, stateRoot);
  }

  /** Removes the named volumes of a project that is down (compose down -v); returns those removed. */
  async removeVolumes(project: Project): Promise<string[]> {
    const names = [...new Set(project.services.filter((s) => s.xCkpt.runtime === 'docker').flatMap((s) => s.volumes.filter((v) => v.type !== 'bind' && v.source && !v.external).map((v) => volumeName(project.name, v.source!))))];
    const removed: string[] = [];
    for (const name of names) {
      try {
        await docker().getVolume(name).remove();
        removed.push(name);
      } catch (e) {
        if (statusCode(e) === 404) continue;
        throw unreachable(e) ?? new CkptError('VOLUME_IN_USE', `could not remove the volume ${name}: ${(e as Error).message}`, {
          hint: `A container outside this stack may use it (docker ps -a --filter volume=${name}).`,
          cause: e,
        });
      }
    }
    return removed;
  }

  async exec(record: ServiceRecord, argv: string[], timeoutMs: number): Promise<ExecResult> {
    const d = docker();
    const c = d.getContainer(record.containerId!);
    let exec: Dockerode.Exec;
    try {
      exec = await c.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
    } catch (e) {
      return { exitCode: -1, stdout: '', stderr: (e as Error).message, timedOut: false };
    }
    const stream = await exec.start({ hijack: true, stdin: false });
    let stdout = '';
    let stderr = '';
    const sink = (add: (s: string) => void) =>
      ({ write: (b: Buffer) => (add(b.toString()), true) }) as unknown as NodeJS.WritableStream;
    d.modem.demuxStream(stream, sink((s) => (stdout += s)), sink((s) => (stderr += s)));
    const ended = new Promise<boolean>((resolve) => {
      stream.on('end', () => resolve(true));
      stream.on('close', () => resolve(true));
      stream.on('error', () => resolve(true));
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = !(await Promise.race([ended, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)))]));
    clearTimeout(timer);
    if (timedOut) {
      stream.destroy();
      return { exitCode: -1, stdout, stderr, timedOut: true };
    }
    const info = await exec.inspect();
    return { exitCode: info.ExitCode ?? -1, stdout, stderr, timedOut: false };
  }
}

function dockerFailure(record: ServiceRecord, what: string, e: unknown): CkptError {
  const gone = unreachable(e);
  if (gone) return gone;
  return new CkptError('SERVICE_START_FAILED', `service ${record.service}: docker could not ${what} container ${record.containerId?.slice(0, 12)}: ${(e as Error).message}`, {
    cause: e,
    hint: `Look at it with: docker inspect ${record.containerId?.slice(0, 12)}`,
  });
}
