// Whether a Docker engine answers, and whether it allows checkpoints (experimental mode).
// This directory is the only place that talks to Docker.
import Docker from 'dockerode';

export interface DockerPing {
  reachable: boolean;
  version?: string;
  experimental?: boolean;
  /** ckpt's OCI runtime wrapper is registered (restores read the set's images in place) */
  ckptRuntime?: boolean;
  error?: string;
}

export async function pingDocker(socketPath = process.env.DOCKER_HOST?.replace(/^unix:\/\//, '') || '/var/run/docker.sock'): Promise<DockerPing> {
  const docker = new Docker({ socketPath, timeout: 3000 });
  try {
    const v = (await docker.version()) as { Version?: string; Experimental?: boolean };
    const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
    return { reachable: true, version: v.Version ?? '?', experimental: Boolean(v.Experimental), ckptRuntime: Boolean(info.Runtimes && 'ckpt-runc' in info.Runtimes) };
  } catch (e) {
    return { reachable: false, error: (e as Error).message };
  }
}
