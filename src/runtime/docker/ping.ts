// Whether a Docker engine answers, and whether it allows checkpoints (experimental mode).
// This directory is the only place that talks to Docker.
import Docker from 'dockerode';

export interface DockerPing {
  reachable: boolean;
  version?: string;
  experimental?: boolean;
  error?: string;
}

export async function pingDocker(socketPath = process.env.DOCKER_HOST?.replace(/^unix:\/\//, '') || '/var/run/docker.sock'): Promise<DockerPing> {
  const docker = new Docker({ socketPath, timeout: 3000 });
  try {
    const v = (await docker.version()) as { Version?: string; Experimental?: boolean };
    return { reachable: true, version: v.Version ?? '?', experimental: Boolean(v.Experimental) };
  } catch (e) {
    return { reachable: false, error: (e as Error).message };
  }
}
