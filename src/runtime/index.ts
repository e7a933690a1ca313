import { DockerRuntime } from './docker/docker-runtime.js';
import { ProcessRuntime } from './process/process-runtime.js';
import { removeProjectVolumes as removeProcessVolumes } from './process/volumes.js';
import type { ServiceRuntime } from './types.js';
import type { Project } from '../manifest/types.js';

const processRuntime = new ProcessRuntime();
const dockerRuntime = new DockerRuntime();

export function runtimeFor(kind: 'process' | 'docker'): ServiceRuntime {
  return kind === 'process' ? processRuntime : dockerRuntime;
}

/** compose down -v: the volumes of a project that is down (its containers' in Docker, its process services' in ckpt's volumes root) */
export async function removeProjectVolumes(project: Project): Promise<string[]> {
  return [...removeProcessVolumes(project), ...(await dockerRuntime.removeVolumes(project))];
}

/** compose down: the networks of a project that is down (Docker's own; external ones stay) */
export function removeProjectNetworks(project: Project, stateRoot: string): Promise<string[]> {
  if (!project.networks || !project.services.some((s) => s.xCkpt.runtime === 'docker')) return Promise.resolve([]);
  return dockerRuntime.removeNetworks(project, stateRoot);
}

export type { ServiceRuntime, ServiceRecord, ServiceStatus } from './types.js';

// The cut's mechanics the core orchestrates for every runtime: freezer cgroups (both runtimes'
// services live in one), the thaw guard, and the stack network a finished stack gives up.
export { freeze, thaw, vforkInProgress, createCgroup, killCgroup, removeCgroup, serviceCgroup } from './process/freezer.js';
export { ThawGuard, waitForGuard } from './process/guard.js';
export { stopStackNetwork } from './process/stack-network.js';
export type { CheckpointPart, CutContext, RestoreContext, RestorePart, SetServiceMeta } from './cut.js';
