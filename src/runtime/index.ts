import { DockerRuntime } from './docker/docker-runtime.js';
import { ProcessRuntime } from './process/process-runtime.js';
import type { ServiceRuntime } from './types.js';

const processRuntime = new ProcessRuntime();
const dockerRuntime = new DockerRuntime();

export function runtimeFor(kind: 'process' | 'docker'): ServiceRuntime {
  return kind === 'process' ? processRuntime : dockerRuntime;
}

export type { ServiceRuntime, ServiceRecord, ServiceStatus } from './types.js';
