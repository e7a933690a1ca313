// Normalization: a validated manifest → the `Project` every other layer uses. Short forms become
// long forms, durations become milliseconds, relative paths become absolute (against the
// manifest's directory), defaults are filled in like compose, services are put in dependency
// order, and the result is hashed so later commands can tell when the manifest changed.

import { homedir } from 'node:os';
import path from 'node:path';
import { CkptError } from '../errors.js';
import { normalizeBuild } from './build.js';
import { readContainerOptions } from './compose/container-options.js';
import { secretMounts } from './compose/secrets.js';
import { projectNetworks, serviceNetworks } from './compose/networks.js';
import { canonicalJSON, projectHash, setOwn, sortedRecord, sortKeysDeep } from './canonical.js';

export { canonicalJSON, projectHash, sortKeysDeep };
import { parseDuration } from './durations.js';
import { resolveEnvironment } from './environment.js';
import type { Env, Lookup } from './interpolate.js';
import { lookupIn } from './interpolate.js';
import { parseLongPort, parsePortSpec } from './ports.js';
import { dependencyEntries, envFileEntries, processNetworkMode, serviceRuntime, type RawCommand, type RawHealthcheck, type RawManifest, type RawService } from './raw.js';
import { splitShell } from './shell.js';
import type { DependsCondition, Healthcheck, NetworkMode, Project, RestartPolicy, Service, VolumeMount } from './types.js';
import { parseLongVolume, parseTmpfsSpec, parseVolumeSpec } from './volumes.js';

export const DEFAULTS = {
  healthcheckIntervalMs: 30_000,
  healthcheckTimeoutMs: 30_000,
  healthcheckRetries: 3,
  healthcheckStartPeriodMs: 0,
  stopGracePeriodMs: 10_000,
  restart: 'no' as RestartPolicy,
  network: 'host' as const,
};

export interface NormalizeOptions {
  /** the project name, already resolved (see resolveProjectName) */
  name: string;
  /** absolute path of the manifest */
  file: string;
  /** every file merged into it, in order (recorded when there are several) */
  files?: string[];
  /** directory relative paths are resolved against; default: the manifest's directory */
  dir?: string;
  /** the interpolation environment: used for `environment` names without a value */
  env?: Env;
  /** contents of the env_files, by absolute path (see readEnvFiles) */
  envFiles?: ReadonlyMap<string, Record<string, string>>;
  /** home directory for `~` in paths; default: env.HOME, else os.homedir() */
  home?: string;
}

function argv(c: RawCommand | undefined): string[] | undefined {
  if (c === undefined) return undefined;
  return typeof c === 'string' ? splitShell(c) : [...c];
}

function healthcheck(h: RawHealthcheck | undefined): Healthcheck | undefined {
  if (h === undefined || h.disable === true || h.test === undefined) return undefined;
  let test: string[];
  if (typeof h.test === 'string') test = ['/bin/sh', '-c', h.test];
  else if (h.test[0] === 'NONE') return undefined;
  else if (h.test[0] === 'CMD-SHELL') test = ['/bin/sh', '-c', h.test[1] ?? ''];
  else test = h.test.slice(1);
  const ms = (v: string | undefined, d: number): number => (v === undefined ? d : parseDuration(v));
  return {
    test,
    intervalMs: ms(h.interval, DEFAULTS.healthcheckIntervalMs),
    timeoutMs: ms(h.timeout, DEFAULTS.healthcheckTimeoutMs),
    retries: h.retries ?? DEFAULTS.healthcheckRetries,
    startPeriodMs: ms(h.start_period, DEFAULTS.healthcheckStartPeriodMs),
  };
}

function restart(r: string | undefined): { policy: RestartPolicy; maxRetries?: number } {
  if (r === undefined) return { policy: DEFAULTS.restart };
  const m = /^on-failure:([0-9]+)$/.exec(r);
  if (m) return { policy: 'on-failure', maxRetries: Number(m[1]) };
  return { policy: r as RestartPolicy };
}

const nonEmpty = <T extends object>(o: T): T | undefined => (Object.keys(o).length ? o : undefined);
const nonEmptyList = <T>(l: T[]): T[] | undefined => (l.length ? l : undefined);

/** Expand `~` and resolve relative paths against `dir`. */
export function resolvePath(p: string, dir: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return path.resolve(dir, p);
}

interface ServiceContext {
  /** the whole manifest: top-level declarations (secrets, configs) that services refer to */
  manifest: RawManifest;
  /** the project name: an image that is only built is named <project>-<service>, as compose names it */
  project: string;
  dir: string;
  home: string;
  lookup: Lookup;
  envFiles: ReadonlyMap<string, Record<string, string>>;
  services: Record<string, RawService>;
  /** the top-level `volumes:` declarations (their options) */
  volumes: Record<string, Record<string, unknown> | null>;
  /** the project's x-ckpt.network */
  defaultNetwork?: NetworkMode;
}

function normalizeService(name: string, s: RawService, o: ServiceContext): Service {
  const runtime = serviceRuntime(s);
  const entrypoint = argv(s.entrypoint);
  const commandOnly = argv(s.command);

  const environment: Record<string, string> = {};
  for (const f of envFileEntries(s.env_file)) {
    const abs = resolvePath(f.path, o.dir, o.home);
    const content = o.envFiles.get(abs);
    if (content === undefined) {
      if (f.required === false) continue;
      throw new CkptError('INTERNAL', `internal error: env_file ${abs} was not read before normalizing`);
    }
    for (const [k, v] of Object.entries(content)) setOwn(environment, k, v);
  }
  for (const [k, v] of Object.entries(resolveEnvironment(s.environment, o.lookup))) setOwn(environment, k, v);

  const dependsOn: Record<string, { condition: DependsCondition }> = {};
  for (const { name: dep, dep: spec } of [...dependencyEntries(s.depends_on)].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!Object.prototype.hasOwnProperty.call(o.services, dep)) continue; // optional (required: false) and absent
    setOwn(dependsOn, dep, { condition: spec.condition ?? 'service_started' });
  }
  // network_mode: service:x runs in x's network namespace: x starts first, as compose orders it
  const mode = (s as { network_mode?: unknown }).network_mode;
  if (typeof mode === 'string' && mode.startsWith('service:') && !dependsOn[mode.slice(8)] && Object.prototype.hasOwnProperty.call(o.services, mode.slice(8))) {
    setOwn(dependsOn, mode.slice(8), { condition: 'service_started' });
  }

  const volumes: VolumeMount[] = (s.volumes ?? []).map((v) => {
    const m = typeof v === 'string' ? parseVolumeSpec(v) : parseLongVolume(v);
    if (m.type === 'bind' && m.source !== undefined) m.source = resolvePath(m.source, o.dir, o.home);
    const declared = m.type === 'volume' && m.source !== undefined && Object.prototype.hasOwnProperty.call(o.volumes, m.source) ? o.volumes[m.source] : undefined;
    if (declared?.['external'] === true) m.external = typeof declared['name'] === 'string' ? declared['name'] : m.source;
    return m;
  });
  // a process service's `tmpfs:` are mounts of its own namespace; a container's go to Docker as Tmpfs
  if (runtime === 'process') {
    const t = (s as { tmpfs?: unknown }).tmpfs;
    volumes.push(...(typeof t === 'string' ? [t] : Array.isArray(t) ? t.map(String) : []).map(parseTmpfsSpec));
  }
  const ports = (s.ports ?? []).flatMap((p) => (typeof p === 'object' ? parseLongPort(p) : parsePortSpec(p)));
  const r = restart(s.restart);
  const hc = healthcheck(s.healthcheck);
  const x = s['x-ckpt'] ?? {};

  const opt = <K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } =>
    (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
  const svc: Service = {
    name,
    command: [...(entrypoint ?? []), ...(commandOnly ?? [])],
    ...opt('entrypoint', entrypoint),
    ...opt('commandOnly', commandOnly),
    ...opt(
      'workingDir',
      s.working_dir === undefined ? undefined : runtime === 'process' ? resolvePath(s.working_dir, o.dir, o.home) : s.working_dir,
    ),
    environment: sortedRecord(Object.entries(environment)),
    ...opt('user', s.user === undefined ? undefined : String(s.user)),
    dependsOn,
    ...opt('healthcheck', hc),
    restart: r.policy,
    ...opt('restartMaxRetries', r.maxRetries),
    ...opt('image', s.image ?? (s.build !== undefined ? `${o.project}-${name}` : undefined)),
    ...opt('build', s.build === undefined || runtime !== 'docker' ? undefined : normalizeBuild(s.build, (p) => resolvePath(p, o.dir, o.home), o.lookup)),
    ...opt('networks', runtime === 'docker' || processNetworkMode(s, o.defaultNetwork) === 'compose' ? serviceNetworks(s as Record<string, unknown>) : undefined),
    ...opt('secrets', runtime === 'docker' ? nonEmptyList(secretMounts(o.manifest as unknown as Record<string, unknown>, s as Record<string, unknown>, (p) => resolvePath(p, o.dir, o.home))) : undefined),
    ...opt('container', runtime === 'docker' ? nonEmpty(readContainerOptions(s as Record<string, unknown>).options) : undefined),
    // a label listed without `=` is empty, never looked up in the environment (compose's rule)
    ...opt('labels', s.labels === undefined || runtime !== 'docker' ? undefined : sortedRecord(Object.entries(resolveEnvironment(s.labels, () => '')))),
    volumes,
    ports,
    xCkpt: {
      runtime,
      network: runtime === 'process' ? processNetworkMode(s, o.defaultNetwork ?? DEFAULTS.network) : (x.network ?? o.defaultNetwork ?? DEFAULTS.network),
      ...opt('hostname', s.hostname),
      stopGracePeriodMs: s.stop_grace_period === undefined ? DEFAULTS.stopGracePeriodMs : parseDuration(s.stop_grace_period),
      checkpoint: {
        ...(x.checkpoint ?? {}),
        ...(x.checkpoint?.copy_files ? { copy_files: x.checkpoint.copy_files.map((f) => resolvePath(f, o.dir, o.home)) } : {}),
        // named by target or host path in the file; kept as the bind's target
        ...(x.checkpoint?.capture_binds
          ? {
              capture_binds: [
                ...new Set(
                  x.checkpoint.capture_binds.map((c) => {
                    const host = resolvePath(c, o.dir, o.home);
                    return volumes.find((v) => v.type === 'bind' && (v.target === path.posix.normalize(c) || v.source === host))?.target ?? c;
                  }),
                ),
              ],
            }
          : {}),
      },
      restore: { stdio: x.restore?.stdio ?? 'image', creds: x.restore?.creds ?? 'image', pid: x.restore?.pid ?? 'image', pages: x.restore?.pages ?? 'copy' },
    },
  };
  return svc;
}

/**
 * Dependency order: a service comes after everything it depends on; among services that are
 * ready at the same time, names sort. Throws on a cycle (validation reports cycles first).
 */
export function topologicalOrder(deps: ReadonlyMap<string, readonly string[]>): string[] {
  const remaining = new Map<string, Set<string>>();
  for (const [n, ds] of deps) remaining.set(n, new Set(ds.filter((d) => deps.has(d))));
  const out: string[] = [];
  while (remaining.size > 0) {
    const ready = [...remaining].filter(([, ds]) => ds.size === 0).map(([n]) => n).sort();
    if (ready.length === 0) {
      throw new CkptError('INTERNAL', `internal error: dependency cycle among ${[...remaining.keys()].sort().join(', ')}`);
    }
    const next = ready[0]!;
    out.push(next);
    remaining.delete(next);
    for (const ds of remaining.values()) ds.delete(next);
  }
  return out;
}

/** A validated manifest → Project. Assumes `validate` found no problems. */
export function normalize(manifest: RawManifest, opts: NormalizeOptions): Project {
  const file = path.resolve(opts.file);
  const dir = opts.dir ?? path.dirname(file);
  const env = opts.env ?? {};
  const home = opts.home ?? env['HOME'] ?? homedir();
  const ctx: ServiceContext = {
    manifest,
    project: opts.name,
    dir,
    home,
    lookup: lookupIn(env),
    envFiles: opts.envFiles ?? new Map<string, Record<string, string>>(),
    services: manifest.services,
    volumes: manifest.volumes ?? {},
    ...(manifest['x-ckpt']?.network ? { defaultNetwork: manifest['x-ckpt'].network as NetworkMode } : {}),
  };
  const byName = new Map<string, Service>();
  for (const name of Object.keys(manifest.services).sort()) {
    byName.set(name, normalizeService(name, manifest.services[name]!, ctx));
  }
  const order = topologicalOrder(new Map([...byName].map(([n, s]) => [n, Object.keys(s.dependsOn)])));
  const project: Omit<Project, 'hash'> = {
    name: opts.name,
    file,
    ...(opts.files && opts.files.length > 1 ? { files: opts.files } : {}),
    workingDir: dir,
    services: order.map((n) => byName.get(n)!),
    xCkpt: manifest['x-ckpt'] ?? {},
    ...(order.some((n) => byName.get(n)!.networks) ? { networks: projectNetworks(manifest as unknown as Record<string, unknown>) } : {}),
  };
  return { ...project, hash: projectHash(project) };
}
