import { CkptError } from '../errors.js';
import { ProcessRuntime } from './process/process-runtime.js';
import type { ServiceRuntime } from './types.js';

const processRuntime = new ProcessRuntime();

export function runtimeFor(kind: 'process' | 'docker'): ServiceRuntime {
  if (kind === 'process') return processRuntime;
  throw new CkptError('USAGE', 'the docker runtime is not available in this version of ckpt', {
    hint: 'Run the service as a process tree: give it a `command:` and `x-ckpt: {runtime: process}`.',
  });
}

export type { ServiceRuntime, ServiceRecord, ServiceStatus } from './types.js';
