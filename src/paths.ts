// Where ckpt keeps things. Two roots, both overridable so tests run in temporary directories:
//   state (running stacks: pids, logs)   CKPT_STATE_DIR, default /run/ckpt
//   store (checkpoint sets)              --store / CKPT_STORE, default /var/lib/ckpt/store
//   volumes (process services' volumes)  CKPT_VOLUMES, default /var/lib/ckpt/volumes: beside the
//                                        store, so that a capture can snapshot or reflink
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_STATE_DIR = '/run/ckpt';
export const DEFAULT_STORE_DIR = '/var/lib/ckpt/store';

export const DEFAULT_VOLUMES_DIR = '/var/lib/ckpt/volumes';

export function volumesRoot(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.CKPT_VOLUMES || DEFAULT_VOLUMES_DIR);
}

export function stateRoot(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.CKPT_STATE_DIR || DEFAULT_STATE_DIR);
}

export function storeRoot(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag || env.CKPT_STORE || DEFAULT_STORE_DIR);
}

export function projectStateDir(root: string, project: string): string {
  return join(root, 'projects', project);
}

export function serviceStateDir(root: string, project: string, service: string): string {
  return join(projectStateDir(root, project), 'services', service);
}

/** The repository (or installed package) root: bin/, native/, criu-patches/ live there. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const shimPath = (): string => process.env.CKPT_SHIM || join(packageRoot, 'native/bin/ckpt-shim');

/** CRIU action script that holds a restored tree until ckpt has verified its set. */
export const restoreGatePath = (): string => join(packageRoot, 'native/restore-gate.sh');
