// The OCI runtime ckpt's containers run with. Docker's default is runc; when dockerd has ckpt's
// wrapper registered (scripts/dockerd.sh adds "ckpt-runc" to daemon.json), containers run with it
// so that a restore can hand runc the set's images directly instead of through containerd's
// content store (see restore-container.ts).
import { existsSync } from 'node:fs';
import { docker } from './client.js';

export const CKPT_OCI_RUNTIME = 'ckpt-runc';
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

/** runc's --root for containers of that runtime: dockerd runs each runtime with its own state root */
export function runcRoot(runtime: string | undefined): string {
  const r = runtime || 'runc';
  const dir = `${DOCKER_EXEC_ROOT}/runtime-${r}/moby`;
  return existsSync(dir) ? dir : `${DOCKER_EXEC_ROOT}/runtime-runc/moby`;
}
