// The OCI runtime ckpt's containers run with. Docker's default is runc; when dockerd has ckpt's
// wrapper registered (scripts/dockerd.sh adds "ckpt-runc" to daemon.json), containers run with it
// so that a restore can hand runc the set's images directly instead of through containerd's
// content store (see restore-container.ts).
import { existsSync, rmSync } from 'node:fs';
import { docker } from './client.js';

export const CKPT_OCI_RUNTIME = 'ckpt-runc';
/** where ckpt-runc.sh looks for restore requests (one directory per container id) */
export const RESTORE_REQUESTS = '/run/ckpt-runc';

/**
 * A request left by a restore that was killed before it started its container must not turn a
 * later `docker start` of that container into a restore: removed with the container.
 */
export function forgetRestoreRequest(containerId: string): void {
  rmSync(`${RESTORE_REQUESTS}/${containerId}`, { recursive: true, force: true });
}
/** Docker's exec root (dockerd --exec-root); runc's state of each runtime lives below it */
export const DOCKER_EXEC_ROOT = process.env.CKPT_DOCKER_EXEC_ROOT || '/run/docker';

let registered: boolean | undefined;

/** { ociRuntime: 'ckpt-runc' } when dockerd knows it (and CKPT_DOCKER_RESTORE is not "docker") */
export async function ociRuntimeName(): Promise<{ ociRuntime?: string }> {
  if (process.env.CKPT_DOCKER_RESTORE === 'docker') return {};
  if (registered === undefined) {
    const info = (await docker().info()) as { Runtimes?: Record<string, unknown> };
    registered = Boolean(info.Runtimes && CKPT_OCI_RUNTIME in info.Runtimes);
  }
  return registered ? { ociRuntime: CKPT_OCI_RUNTIME } : {};
}

/**
 * runc's --root for a container: dockerd gives each OCI runtime a state root below its exec root
 * (runtime-<name>/moby; Docker 20.10 runs a runtime registered by path under runtime-runc too).
 */
export function runcRootOf(id: string): string | undefined {
  for (const r of [CKPT_OCI_RUNTIME, 'runc']) {
    const dir = `${DOCKER_EXEC_ROOT}/runtime-${r}/moby`;
    if (existsSync(`${dir}/${id}/state.json`)) return dir;
  }
  return undefined;
}
