// The manifest as written, once it has passed schema validation (schema/ckpt-manifest.schema.json).
// Only the normalizer sees these types; everything downstream uses ./types.ts.

import type { RawBuild } from './build.js';
import type { DependsCondition } from './types.js';
import type { RawEnvironment } from './environment.js';
import type { LongPort } from './ports.js';
import type { LongVolume } from './volumes.js';

export interface RawManifest {
  name?: string;
  version?: string | number;
  services: Record<string, RawService>;
  networks?: Record<string, Record<string, unknown> | null>;
  volumes?: Record<string, Record<string, unknown> | null>;
  'x-ckpt'?: Record<string, unknown>;
  [extension: `x-${string}`]: unknown;
}

export type RawCommand = string | string[];

export interface RawDependency {
  condition?: DependsCondition;
  restart?: boolean;
  required?: boolean;
}

export interface RawHealthcheck {
  test?: string | string[];
  interval?: string;
  timeout?: string;
  start_period?: string;
  retries?: number;
  disable?: boolean;
}

export interface RawEnvFile {
  path: string;
  required?: boolean;
}

export interface RawServiceCkpt {
  runtime?: 'process' | 'docker';
  network?: 'host' | 'private' | 'stack' | 'compose';
  checkpoint?: Record<string, unknown> & { copy_files?: string[]; tcp?: 'keep' | 'close'; capture_binds?: string[] };
  restore?: { stdio?: 'image' | 'inherit'; creds?: 'image' | 'inherit'; pid?: 'image' | 'fresh'; pages?: 'copy' | 'map' };
}

export interface RawService {
  image?: string;
  command?: RawCommand;
  entrypoint?: RawCommand;
  working_dir?: string;
  environment?: RawEnvironment;
  env_file?: string | (string | RawEnvFile)[];
  user?: string | number;
  depends_on?: string[] | Record<string, RawDependency | null>;
  healthcheck?: RawHealthcheck;
  restart?: string;
  volumes?: (string | LongVolume)[];
  ports?: (number | string | LongPort)[];
  hostname?: string;
  stop_grace_period?: string;
  labels?: RawEnvironment;
  /** builds the service's image (manifest/build.ts); it makes the service a container */
  build?: string | RawBuild;
  'x-ckpt'?: RawServiceCkpt;
}

/** A plain (non-array) object. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** env_file entries in their long form. */
export function envFileEntries(v: RawService['env_file']): RawEnvFile[] {
  if (v === undefined) return [];
  const list = typeof v === 'string' ? [v] : v;
  return list.map((e) => (typeof e === 'string' ? { path: e } : e));
}

/** depends_on entries in their long form, in the order written, with the path segment of each. */
export function dependencyEntries(v: RawService['depends_on']): { name: string; seg: string | number; dep: RawDependency }[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) return v.map((name, i) => ({ name, seg: i, dep: {} }));
  return Object.entries(v).map(([name, dep]) => ({ name, seg: name, dep: dep ?? {} }));
}

/** The runtime a service gets: x-ckpt.runtime, else docker when it has an image (or builds one), else process. */
export function serviceRuntime(s: RawService): 'process' | 'docker' {
  return s['x-ckpt']?.runtime ?? (s.image !== undefined || s.build !== undefined ? 'docker' : 'process');
}

/**
 * A process service's network: x-ckpt.network, else network_mode's host (host) or none (private:
 * loopback only), else compose when it lists `networks:`, else the project's default, else host.
 */
export function processNetworkMode(s: RawService, projectDefault: string | undefined): 'host' | 'private' | 'stack' | 'compose' {
  const own = s['x-ckpt']?.network;
  if (own) return own;
  const mode = (s as { network_mode?: unknown }).network_mode;
  if (mode === 'host') return 'host';
  if (mode === 'none') return 'private';
  if ((s as { networks?: unknown }).networks !== undefined) return 'compose';
  return (projectDefault as 'host' | 'private' | 'stack' | 'compose' | undefined) ?? 'host';
}
