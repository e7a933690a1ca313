// The one Docker client of ckpt, and the check every docker operation starts with: dockerd must
// answer, and checkpoints need its experimental mode (Docker 20.10).
import { createRequire } from 'node:module';
import type Docker from 'dockerode';
import { CkptError } from '../../errors.js';

export function dockerSocket(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST?.replace(/^unix:\/\//, '') || '/var/run/docker.sock';
}

let client: Docker | undefined;

/** dockerode takes ~250 ms to load: only commands that touch a container pay for it. */
export function docker(): Docker {
  if (!client) {
    const Dockerode = createRequire(import.meta.url)('dockerode') as typeof Docker;
    client = new Dockerode({ socketPath: dockerSocket() });
  }
  return client;
}

export const DOCKER_FIX_HINT =
  'Start dockerd with checkpoints enabled: sudo bash scripts/dockerd.sh (installs docker.io, sets "experimental": true in /etc/docker/daemon.json, starts dockerd).';

const checked = new Set<string>();

/** Throws DOCKER_UNREACHABLE unless dockerd answers (and, for checkpoints, is experimental). */
export async function requireDocker(opts: { experimental?: boolean } = {}): Promise<void> {
  const key = opts.experimental ? 'exp' : 'plain';
  if (checked.has(key)) return;
  const socket = dockerSocket();
  let p: { reachable: boolean; version?: string; experimental?: boolean; error?: string };
  try {
    const v = (await (docker().version({ abortSignal: AbortSignal.timeout(5000) } as never) as unknown as Promise<unknown>)) as { Version?: string; Experimental?: boolean };
    p = { reachable: true, version: v.Version ?? '?', experimental: Boolean(v.Experimental) };
  } catch (e) {
    p = { reachable: false, error: (e as Error).message };
  }
  if (!p.reachable) {
    throw new CkptError('DOCKER_UNREACHABLE', `dockerd does not answer on ${socket} (${p.error ?? 'no answer'})`, { hint: DOCKER_FIX_HINT });
  }
  if (opts.experimental && !p.experimental) {
    throw new CkptError('DOCKER_UNREACHABLE', `dockerd ${p.version} on ${socket} is not in experimental mode, which checkpoints need`, {
      hint: 'Set "experimental": true in /etc/docker/daemon.json and restart dockerd (sudo bash scripts/dockerd.sh does both).',
    });
  }
  checked.add(key);
}

/** A request that failed because dockerd went away (not because Docker said no). */
export function unreachable(e: unknown): CkptError | undefined {
  const code = (e as NodeJS.ErrnoException).code;
  if (code !== 'ENOENT' && code !== 'ECONNREFUSED' && code !== 'ECONNRESET' && code !== 'EPIPE') return undefined;
  return new CkptError('DOCKER_UNREACHABLE', `dockerd does not answer on ${dockerSocket()} (${(e as Error).message})`, { hint: DOCKER_FIX_HINT, cause: e });
}
