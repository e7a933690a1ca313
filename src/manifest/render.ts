// Rendering a normalized Project, for `ckpt config` (like `docker compose config`): every short
// form written out long, defaults filled in, paths absolute, keys in a fixed order. The YAML is
// itself a valid manifest that loads back to the same project: `$` is escaped as `$$`, and
// strings that other YAML readers take for booleans ("no", "on") are quoted.

import path from 'node:path';
import { Document, isScalar, visit, type Scalar } from 'yaml';
import { formatDuration } from './durations.js';
import { COMPOSE_KEYS } from './compose/container-options.js';
import { escapeInterpolation } from './interpolate.js';
import { sortKeysDeep } from './normalize.js';
import type { BuildSpec, ContainerOptions, Project, Service } from './types.js';

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function escapeDeep(v: unknown): Json {
  if (typeof v === 'string') return escapeInterpolation(v);
  if (Array.isArray(v)) return v.map(escapeDeep);
  if (v !== null && typeof v === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) {
      if (x !== undefined) Object.defineProperty(out, k, { value: escapeDeep(x), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return v as Json;
}

function renderService(s: Service): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s.image !== undefined) out['image'] = s.image;
  if (s.entrypoint !== undefined) out['entrypoint'] = s.entrypoint;
  if (s.commandOnly !== undefined) out['command'] = s.commandOnly;
  if (s.entrypoint === undefined && s.commandOnly === undefined && s.command.length > 0) out['command'] = s.command;
  if (s.workingDir !== undefined) out['working_dir'] = s.workingDir;
  if (s.user !== undefined) out['user'] = s.user;
  if (Object.keys(s.environment).length > 0) out['environment'] = sortKeysDeep(s.environment);
  if (s.labels && Object.keys(s.labels).length > 0) out['labels'] = sortKeysDeep(s.labels);
  const deps = Object.keys(s.dependsOn).sort();
  if (deps.length > 0) {
    out['depends_on'] = Object.fromEntries(deps.map((d) => [d, { condition: s.dependsOn[d]!.condition }]));
  }
  if (s.healthcheck) {
    const h = s.healthcheck;
    out['healthcheck'] = {
      test: ['CMD', ...h.test],
      interval: formatDuration(h.intervalMs),
      timeout: formatDuration(h.timeoutMs),
      retries: h.retries,
      start_period: formatDuration(h.startPeriodMs),
    };
  }
  out['restart'] = s.restart === 'on-failure' && s.restartMaxRetries !== undefined ? `on-failure:${s.restartMaxRetries}` : s.restart;
  if (s.volumes.length > 0) {
    out['volumes'] = s.volumes.map((v) => ({
      type: v.type,
      ...(v.source === undefined ? {} : { source: v.source }),
      target: v.target,
      read_only: v.readOnly,
      ...(v.tmpfs ? { tmpfs: { ...(v.tmpfs.sizeBytes !== undefined ? { size: v.tmpfs.sizeBytes } : {}), ...(v.tmpfs.mode !== undefined ? { mode: v.tmpfs.mode.toString(8).padStart(4, '0') } : {}) } } : {}),
      ...(v.noCopy ? { volume: { nocopy: true } } : {}),
      ...(v.createHostPath ? { bind: { create_host_path: true } } : {}),
    }));
  }
  if (s.ports.length > 0) {
    out['ports'] = s.ports.map((p) => ({
      target: p.target,
      ...(p.published === undefined ? {} : { published: p.published }),
      ...(p.host === undefined ? {} : { host_ip: p.host }),
      protocol: p.protocol,
    }));
  }
  if (s.xCkpt.hostname !== undefined) out['hostname'] = s.xCkpt.hostname;
  if (s.build) out['build'] = renderBuild(s.build);
  if (s.networks && !(s.networks.length === 1 && s.networks[0]!.network === 'default' && s.networks[0]!.aliases.length === 0 && !s.networks[0]!.ipv4Address && !s.networks[0]!.ipv6Address)) {
    out['networks'] = Object.fromEntries(
      s.networks.map((a, i) => [
        a.network,
        {
          ...(a.aliases.length ? { aliases: a.aliases } : {}),
          ...(a.ipv4Address ? { ipv4_address: a.ipv4Address } : {}),
          ...(a.ipv6Address ? { ipv6_address: a.ipv6Address } : {}),
          // the order ckpt joins them in, as priorities (the first is the highest)
          priority: s.networks!.length - i,
        },
      ]),
    );
  }
  for (const kind of ['secret', 'config'] as const) {
    const list = (s.secrets ?? []).filter((m) => m.kind === kind);
    if (list.length) out[`${kind}s`] = list.map((m) => ({ source: m.name, target: m.target, ...(m.uid !== undefined ? { uid: String(m.uid) } : {}), ...(m.gid !== undefined ? { gid: String(m.gid) } : {}), ...(m.mode !== undefined ? { mode: m.mode } : {}) }));
  }
  if (s.container) Object.assign(out, renderContainerOptions(s.container));
  out['stop_grace_period'] = formatDuration(s.xCkpt.stopGracePeriodMs);
  out['x-ckpt'] = {
    runtime: s.xCkpt.runtime,
    network: s.xCkpt.network,
    checkpoint: sortKeysDeep(s.xCkpt.checkpoint),
    restore: sortKeysDeep(s.xCkpt.restore),
  };
  return out;
}

/** The manifest as ckpt understands it, as a plain object (compose key names). */
export function projectToManifest(p: Project): Record<string, unknown> {
  const named = p.services.flatMap((s) => s.volumes.filter((v) => v.type === 'volume' && v.source));
  const volumes = [...new Set(named.map((v) => v.source!))].sort();
  const external = new Map(named.filter((v) => v.external).map((v) => [v.source!, v.external!]));
  const out: Record<string, unknown> = {
    name: p.name,
    services: Object.fromEntries(p.services.map((s) => [s.name, renderService(s)])),
  };
  if (volumes.length > 0) {
    out['volumes'] = Object.fromEntries(volumes.map((v) => [v, external.has(v) ? { external: true, ...(external.get(v) !== v ? { name: external.get(v) } : {}) } : {}]));
  }
  const networks = (p.networks ?? []).filter((n) => n.key !== 'default' || Object.keys(n).length > 1);
  if (networks.length > 0) {
    out['networks'] = Object.fromEntries(
      networks.map((n) => [
        n.key,
        {
          ...(n.name ? { name: n.name } : {}),
          ...(n.external ? { external: true } : {}),
          ...(n.internal ? { internal: true } : {}),
          ...(n.driver ? { driver: n.driver } : {}),
          ...(n.driverOpts ? { driver_opts: sortKeysDeep(n.driverOpts) } : {}),
          ...(n.labels ? { labels: sortKeysDeep(n.labels) } : {}),
          ...(n.attachable ? { attachable: true } : {}),
          ...(n.ipam ? { ipam: { config: n.ipam.map((c) => ({ ...(c.subnet ? { subnet: c.subnet } : {}), ...(c.gateway ? { gateway: c.gateway } : {}), ...(c.ipRange ? { ip_range: c.ipRange } : {}) })) } } : {}),
        },
      ]),
    );
  }
  const defs = (kind: 'secret' | 'config') => {
    const all = p.services.flatMap((s) => (s.secrets ?? []).filter((m) => m.kind === kind));
    return Object.fromEntries(all.map((m) => [m.name, 'file' in m.from ? { file: m.from.file } : 'env' in m.from ? { environment: m.from.env } : { content: m.from.content }]));
  };
  for (const kind of ['secret', 'config'] as const) if (Object.keys(defs(kind)).length) out[`${kind}s`] = defs(kind);
  if (Object.keys(p.xCkpt).length > 0) out['x-ckpt'] = sortKeysDeep(p.xCkpt);
  return out;
}

function renderBuild(b: BuildSpec): Record<string, unknown> {
  return {
    context: b.context,
    ...(b.dockerfile !== undefined ? { dockerfile: b.dockerfile } : {}),
    ...(b.dockerfileInline !== undefined ? { dockerfile_inline: b.dockerfileInline } : {}),
    ...(Object.keys(b.args).length ? { args: sortKeysDeep(b.args) } : {}),
    ...(b.target ? { target: b.target } : {}),
    ...(Object.keys(b.labels).length ? { labels: sortKeysDeep(b.labels) } : {}),
    ...(b.cacheFrom.length ? { cache_from: b.cacheFrom } : {}),
    ...(b.network ? { network: b.network } : {}),
    ...(b.shmSizeBytes !== undefined ? { shm_size: b.shmSizeBytes } : {}),
    ...(b.extraHosts.length ? { extra_hosts: b.extraHosts } : {}),
    ...(b.pull ? { pull: true } : {}),
    ...(b.noCache ? { no_cache: true } : {}),
  };
}

/** ContainerOptions under their compose names (sizes in bytes). */
function renderContainerOptions(c: ContainerOptions): Record<string, unknown> {
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [COMPOSE_KEYS[k as keyof ContainerOptions], v]));
}

/** YAML 1.1 booleans and nulls: quoted so that no YAML reader changes their type. */
const AMBIGUOUS = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~)$/;

/** YAML for `ckpt config`. Services come in dependency order (the order they start). */
export function renderProject(p: Project): string {
  const doc = new Document(escapeDeep(projectToManifest(p)));
  // several files make one manifest: say which, since the output is their merge
  if (p.files) doc.commentBefore = ` merged from ${p.files.map((f) => path.relative(p.workingDir, f) || f).join(', ')}`;
  visit(doc, {
    Scalar(_, node: Scalar) {
      if (isScalar(node) && typeof node.value === 'string' && AMBIGUOUS.test(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ lineWidth: 0, indentSeq: true });
}

/** The normalized project as JSON (keys sorted, services in dependency order), for --json output. */
export function projectToJSON(p: Project): string {
  return JSON.stringify(sortKeysDeep(p), null, 2);
}
