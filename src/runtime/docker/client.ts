// The one Docker client of ckpt, and the check every docker operation starts with: dockerd must
// answer, and checkpoints need its experimental mode (Docker 20.10).
import { createRequire } from 'node:module';
import type Docker from 'dockerode';
import { CkptError } from '../../errors.js';

export function dockerSocket(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST?.replace(/^unix:\/\//, '') || '/var/run/docker.sock';
}

let client: Docker | undefined;

interface ModuleLoader {
  _load(request: string, parent: unknown, isMain: boolean): unknown;
  _resolveFilename(request: string, parent: unknown, isMain: boolean): string;
}

/**
 * dockerode as its modules load it, except two that ckpt never calls and that are two thirds of
 * its ~140 ms load here: docker-modem's ssh transport (ssh2, for ssh:// hosts) and dockerode's
 * BuildKit session (gRPC, for image builds). Each exports one function; it is loaded on its first
 * call instead. Node's CommonJS loader is wrapped only for this one require (the technique of
 * require-in-the-middle); if the layout changes, the paths do not resolve and nothing is deferred.
 */
function loadDockerode(): typeof Docker {
  const req = createRequire(import.meta.url);
  const deferred = new Set<string>();
  try {
    const fromDockerode = createRequire(req.resolve('dockerode'));
    deferred.add(fromDockerode.resolve('./session.js'));
    deferred.add(createRequire(fromDockerode.resolve('docker-modem')).resolve('./ssh.js'));
  } catch {
    /* load everything */
  }
  const loader = req('node:module') as ModuleLoader;
  const load = loader._load;
  loader._load = function (request, parent, isMain) {
    let file: string | undefined;
    try {
      file = loader._resolveFilename(request, parent, isMain);
    } catch {
      /* let the real load report it */
    }
    if (file === undefined || !deferred.has(file)) return load.call(this, request, parent, isMain);
    let real: ((...a: unknown[]) => unknown) | undefined;
    return function (this: unknown, ...a: unknown[]): unknown {
      real ??= req(file) as (...a: unknown[]) => unknown;
      return real.apply(this, a);
    };
  };
  try {
    return req('dockerode') as typeof Docker;
  } finally {
    loader._load = load;
  }
}

/** Only commands that touch a container pay for loading dockerode. */
export function docker(): Docker {
  if (!client) {
    const Dockerode = loadDockerode();
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
