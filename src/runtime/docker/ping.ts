// Whether a Docker engine answers, and whether it allows checkpoints (experimental mode).
// This directory is the only place that talks to Docker.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { packageRoot } from '../../paths.js';

export interface DockerPing {
  reachable: boolean;
  version?: string;
  experimental?: boolean;
  /** ckpt's OCI runtime wrapper is registered (restores read the set's images in place) */
  ckptRuntime?: boolean;
  /**
   * the registered wrapper is this ckpt's ckpt-runc.sh (undefined: not known). scripts/dockerd.sh
   * installs a copy, which an older checkout's run replaces with its own.
   */
  ckptRuntimeCurrent?: boolean;
  /** Docker's data root (its volumes are under <root>/volumes) */
  rootDir?: string;
  error?: string;
}

export async function pingDocker(socketPath = process.env.DOCKER_HOST?.replace(/^unix:\/\//, '') || '/var/run/docker.sock'): Promise<DockerPing> {
  const docker = new Docker({ socketPath, timeout: 3000 });
  try {
    const v = (await docker.version()) as { Version?: string; Experimental?: boolean };
    const info = (await docker.info()) as { Runtimes?: Record<string, { path?: string }>; DockerRootDir?: string };
    const registered = info.Runtimes?.['ckpt-runc'];
    const current = registered?.path ? sameFile(registered.path, join(packageRoot, 'src/runtime/docker/ckpt-runc.sh')) : undefined;
    return { reachable: true, version: v.Version ?? '?', experimental: Boolean(v.Experimental), ckptRuntime: Boolean(registered), ...(info.DockerRootDir ? { rootDir: info.DockerRootDir } : {}), ...(current === undefined ? {} : { ckptRuntimeCurrent: current }) };
  } catch (e) {
    return { reachable: false, error: (e as Error).message };
  }
}

/** Whether two files hold the same bytes; undefined when either cannot be read. */
function sameFile(a: string, b: string): boolean | undefined {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return undefined;
  }
}
