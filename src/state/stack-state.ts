// The state of running stacks, on disk, so ckpt needs no daemon: `ckpt up -d` writes it, and
// `ckpt ps`, `logs` and `down` from any other shell read it.
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { projectStateDir, serviceStateDir } from '../paths.js';
import type { Project } from '../manifest/types.js';
import type { ServiceRecord } from '../runtime/types.js';
import type { StackNetwork } from '../runtime/process/stack-network.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { acquireLock, type Lock } from '../util/lock.js';

export interface StackState {
  project: string;
  manifestFile: string;
  /** the normalized project the stack runs, so commands work without the manifest at hand */
  spec: Project;
  createdAt: string;
  /** the checkpoint set the stack was restored (or cloned) from */
  fromSet?: string;
  /** the stack's shared network namespace and its published ports (x-ckpt.network: stack) */
  network?: StackNetwork;
  /** service name → what its runtime recorded; absent once the service was removed */
  services: Record<string, ServiceRecord>;
}

const FILE = 'stack.json';

export class StackStateStore {
  constructor(readonly root: string) {}

  dir(project: string): string {
    return projectStateDir(this.root, project);
  }

  serviceDir(project: string, service: string): string {
    return serviceStateDir(this.root, project, service);
  }

  read(project: string): StackState | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir(project), FILE), 'utf8')) as StackState;
    } catch {
      return undefined;
    }
  }

  write(state: StackState): void {
    mkdirSync(this.dir(state.project), { recursive: true, mode: 0o700 });
    writeFileAtomic(join(this.dir(state.project), FILE), JSON.stringify(state, null, 2) + '\n');
  }

  remove(project: string): void {
    rmSync(this.dir(project), { recursive: true, force: true });
  }

  list(): string[] {
    try {
      return readdirSync(join(this.root, 'projects')).filter((p) => this.read(p) !== undefined).sort();
    } catch {
      return [];
    }
  }

  /** One ckpt at a time changes a given stack. */
  lock(project: string): Promise<Lock> {
    mkdirSync(this.dir(project), { recursive: true, mode: 0o700 });
    return acquireLock(join(this.dir(project), 'lock'), {
      what: `stack ${project}`,
      code: 'STACK_LOCKED',
    });
  }
}
