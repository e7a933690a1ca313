// `networks:`, top level and per service, normalized for the container runtime: which networks a
// project declares (compose's implicit `default` among them), and which ones each container joins
// with which aliases. runtime/docker/networks.ts makes them for containers, and
// runtime/process/compose-network.ts for process services on x-ckpt.network: compose.
import { isRecord, processNetworkMode, serviceRuntime, type RawService } from '../raw.js';
import type { Issue } from '../problems.js';
import type { NetworkAttachment, ProjectNetwork } from '../types.js';

/** The networks of a project: those declared, and `default` (compose makes it when a service uses it). */
export function projectNetworks(value: Record<string, unknown>): ProjectNetwork[] {
  const declared = isRecord(value['networks']) ? value['networks'] : {};
  const out: ProjectNetwork[] = [];
  const names = new Set([...Object.keys(declared), 'default']);
  for (const key of [...names].sort()) {
    const d = isRecord(declared[key]) ? declared[key] : {};
    const external = d['external'] === true || isRecord(d['external']);
    const ipam = isRecord(d['ipam']) && Array.isArray(d['ipam']['config']) ? (d['ipam']['config'] as Record<string, unknown>[]) : [];
    out.push({
      key,
      ...(typeof d['name'] === 'string' ? { name: d['name'] } : isRecord(d['external']) && typeof d['external']['name'] === 'string' ? { name: d['external']['name'] } : {}),
      ...(external ? { external: true } : {}),
      ...(d['internal'] === true ? { internal: true } : {}),
      ...(typeof d['driver'] === 'string' ? { driver: d['driver'] } : {}),
      ...(d['labels'] !== undefined ? { labels: Object.fromEntries(Array.isArray(d['labels']) ? d['labels'].map((l) => { const t = String(l); const i = t.indexOf('='); return i < 0 ? [t, ''] : [t.slice(0, i), t.slice(i + 1)]; }) : Object.entries(d['labels'] as Record<string, unknown>).map(([k, v]) => [k, v === null ? '' : String(v)])) } : {}),
      ...(d['attachable'] === true ? { attachable: true } : {}),
      ...(isRecord(d['driver_opts']) ? { driverOpts: Object.fromEntries(Object.entries(d['driver_opts']).map(([k, v]) => [k, String(v)])) } : {}),
      ...(ipam.length
        ? {
            ipam: ipam.map((c) => ({
              ...(typeof c['subnet'] === 'string' ? { subnet: c['subnet'] } : {}),
              ...(typeof c['gateway'] === 'string' ? { gateway: c['gateway'] } : {}),
              ...(typeof c['ip_range'] === 'string' ? { ipRange: c['ip_range'] } : {}),
            })),
          }
        : {}),
    });
  }
  return out;
}

/** The networks a container joins: its `networks:` (list or map), else `default`; none with network_mode. */
export function serviceNetworks(s: Record<string, unknown>): NetworkAttachment[] {
  if (s['network_mode'] !== undefined) return [];
  const n = s['networks'];
  if (n === undefined) return [{ network: 'default', aliases: [] }];
  if (Array.isArray(n)) return n.map((k) => ({ network: String(k), aliases: [] }));
  if (!isRecord(n)) return [];
  return Object.entries(n)
    .map(([network, o]): NetworkAttachment & { priority: number } => {
      const opts = isRecord(o) ? o : {};
      return {
        network,
        aliases: Array.isArray(opts['aliases']) ? opts['aliases'].map(String) : [],
        ...(typeof opts['ipv4_address'] === 'string' ? { ipv4Address: opts['ipv4_address'] } : {}),
        ...(typeof opts['ipv6_address'] === 'string' ? { ipv6Address: opts['ipv6_address'] } : {}),
        priority: typeof opts['priority'] === 'number' ? opts['priority'] : 0,
      };
    })
    // compose: the highest priority first (the one the container is created on), then by name
    .sort((a, b) => b.priority - a.priority || (a.network < b.network ? -1 : 1))
    .map(({ priority: _p, ...a }) => a);
}

/** A service naming an undeclared network; declared options ckpt does not act on. */
export function checkNetworks(value: unknown): { issues: Issue[]; warnings: Issue[] } {
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  if (!isRecord(value)) return { issues, warnings };
  const declared = isRecord(value['networks']) ? value['networks'] : {};
  const services = isRecord(value['services']) ? value['services'] : {};
  for (const svc of Object.keys(services).sort()) {
    const s = services[svc];
    if (!isRecord(s)) continue;
    const n = s['networks'];
    const names = Array.isArray(n) ? n.map(String) : isRecord(n) ? Object.keys(n) : [];
    names.forEach((name, i) => {
      if (name !== 'default' && !Object.prototype.hasOwnProperty.call(declared, name)) {
        issues.push({ at: ['services', svc, 'networks', Array.isArray(n) ? i : name], key: !Array.isArray(n), message: `names network \`${name}\`, which the top-level \`networks:\` does not declare` });
      }
    });
  }
  const projectMode = isRecord(value['x-ckpt']) && typeof value['x-ckpt']['network'] === 'string' ? value['x-ckpt']['network'] : undefined;
  const joinedBy = new Map<string, { docker: string[]; process: string[] }>();
  for (const svc of Object.keys(services).sort()) {
    const s = services[svc];
    if (!isRecord(s)) continue;
    const runtime = serviceRuntime(s as RawService);
    if (runtime !== 'process' && runtime !== 'docker') continue; // the schema says what is wrong
    const mode = runtime === 'process' ? processNetworkMode(s as RawService, projectMode) : undefined;
    const nm = s['network_mode'];
    if (runtime === 'process' && nm !== undefined) {
      const own = isRecord(s['x-ckpt']) ? s['x-ckpt']['network'] : undefined;
      if (nm !== 'host' && nm !== 'none') {
        warnings.push({ at: ['services', svc, 'network_mode'], key: true, path: ['services', svc], message: `\`network_mode: ${String(nm)}\` is not acted on for a process service (it takes host and none); its network is \`${mode}\` (x-ckpt.network)` });
      } else if (own !== undefined && own !== (nm === 'host' ? 'host' : 'private')) {
        warnings.push({ at: ['services', svc, 'network_mode'], key: true, path: ['services', svc], message: `\`network_mode\` is overridden by x-ckpt.network: ${String(own)}` });
      }
    }
    if (runtime === 'process' && mode !== 'compose') {
      if (s['networks'] !== undefined) {
        warnings.push({ at: ['services', svc, 'networks'], key: true, path: ['services', svc], message: `\`networks\` is ignored: x-ckpt.network is \`${mode}\`; a process service joins compose networks with x-ckpt.network: compose` });
      }
      continue;
    }
    if (s['network_mode'] !== undefined) continue;
    for (const a of serviceNetworks(s)) {
      const j = joinedBy.get(a.network) ?? { docker: [], process: [] };
      j[runtime].push(svc);
      joinedBy.set(a.network, j);
    }
    const n = s['networks'];
    for (const [name, o] of isRecord(n) ? Object.entries(n) : []) {
      if (!isRecord(o)) continue;
      for (const k of Object.keys(o).sort()) {
        if (['aliases', 'ipv4_address', 'ipv6_address', 'priority'].includes(k) || k.startsWith('x-')) continue;
        warnings.push({ at: ['services', svc, 'networks', name, k], key: true, path: ['services', svc, 'networks', name], message: `\`${k}\` is not acted on by ckpt yet: the service joins ${name} without it` });
      }
      if (runtime === 'process' && o['ipv6_address'] !== undefined) {
        warnings.push({ at: ['services', svc, 'networks', name, 'ipv6_address'], path: ['services', svc, 'networks', name], key: true, message: '`ipv6_address` is not acted on for a process service: its compose networks are IPv4 only' });
      }
    }
  }
  for (const [key, j] of [...joinedBy].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (j.process.length === 0) continue;
    const d = isRecord(declared[key]) ? declared[key] : {};
    const at = Object.prototype.hasOwnProperty.call(declared, key) ? ['networks', key] : ['services', j.process[0]!];
    if (d['external'] === true || isRecord(d['external'])) {
      issues.push({ at, message: `is an external (Docker) network, which process services (${j.process.join(', ')}) cannot join: give them a network of the project, or run them as containers` });
      continue;
    }
    if (j.docker.length === 0) {
      for (const k of ['driver_opts', 'labels', 'attachable'].filter((k) => d[k] !== undefined)) {
        warnings.push({ at: ['networks', key, k], key: true, path: ['networks', key], message: `\`${k}\` is for Docker networks; the process services' network \`${key}\` is a bridge of ckpt's own, made without it` });
      }
    }
  }
  for (const [key, d] of Object.entries(declared)) {
    if (!isRecord(d)) continue;
    const processOnly = (joinedBy.get(key)?.process.length ?? 0) > 0 && (joinedBy.get(key)?.docker.length ?? 0) === 0;
    for (const k of Object.keys(d).sort()) {
      if (['name', 'external', 'internal', 'driver', 'driver_opts', 'ipam', 'labels', 'attachable'].includes(k) || k.startsWith('x-')) continue;
      warnings.push({ at: ['networks', key, k], key: true, path: ['networks', key], message: `\`${k}\` is not acted on by ckpt yet: the network is made without it` });
    }
    if (typeof d['driver'] === 'string' && d['driver'] !== 'bridge') {
      warnings.push({
        at: ['networks', key, 'driver'],
        path: ['networks', key],
        message: processOnly
          ? `\`driver\` is not acted on: the process services' network \`${key}\` is a bridge of ckpt's own`
          : `is passed to Docker; ckpt checkpoints containers on bridge networks, and one on \`${d['driver']}\` may not restore`,
      });
    }
  }
  return { issues, warnings };
}
