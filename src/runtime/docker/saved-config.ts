// The config Docker keeps of a container on disk (containers/<id>/config.v2.json, beside its
// json-file log), which dockerd rewrites on every state change. Read instead of asking dockerd:
// ps and a checkpoint's plan then need no Docker client.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceRecord } from '../types.js';

export type SavedPorts = Record<string, { HostIp?: string; HostPort?: string }[] | null>;

export interface SavedState {
  Running?: boolean;
  Paused?: boolean;
  Restarting?: boolean;
  Dead?: boolean;
  Pid?: number;
  ExitCode?: number;
  StartedAt?: string;
}

export interface SavedEndpoint {
  IPAddress?: string;
  IPPrefixLen?: number;
  Gateway?: string;
}

export interface SavedConfig {
  State?: SavedState;
  NetworkSettings?: { Ports?: SavedPorts; Networks?: Record<string, SavedEndpoint> };
}

/** undefined when the container (or its config) is gone */
export function savedConfig(record: ServiceRecord): SavedConfig | undefined {
  try {
    return JSON.parse(readFileSync(join(record.logFile, '..', 'config.v2.json'), 'utf8')) as SavedConfig;
  } catch {
    return undefined;
  }
}

/** Docker's published ports in ps's form, sorted: "127.0.0.1:32768->3000/tcp". */
export function publishedPorts(ports: SavedPorts | undefined): string[] {
  const out: string[] = [];
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const [target, proto] = key.split('/');
    for (const b of bindings ?? []) if (b.HostPort) out.push(`${b.HostIp || '0.0.0.0'}:${b.HostPort}->${target}/${proto ?? 'tcp'}`);
  }
  return out.sort();
}
