// `secrets:` and `configs:`, top level and per service, as compose runs them without swarm: a
// file mounted read-only in the container, at /run/secrets/<name> (a secret) or /<name> (a
// config) unless the service names a target.
//
// The value never enters the normalized project (which a set stores in set.json): a mount keeps
// where it comes from (a file's path, an environment variable's name, or a config's inline
// content, which is in the manifest anyway), and runtime/docker/secrets.ts writes the file when
// the container is made, for a start and for a restore alike.
import path from 'node:path';
import { isRecord } from '../raw.js';
import type { Issue } from '../problems.js';
import type { SecretMount } from '../types.js';

type Kind = 'secrets' | 'configs';

interface Definition {
  file?: string;
  environment?: string;
  content?: string;
  external?: unknown;
  name?: string;
}

function definitions(value: Record<string, unknown>, kind: Kind): Record<string, Definition> {
  const d = value[kind];
  return isRecord(d) ? (d as Record<string, Definition>) : {};
}

function uses(s: Record<string, unknown>, kind: Kind): { source: string; target?: string; uid?: string; gid?: string; mode?: number | string; at: number }[] {
  const list = s[kind];
  if (!Array.isArray(list)) return [];
  return list.map((item, at) => (typeof item === 'string' ? { source: item, at } : { ...(item as { source: string }), at }));
}

/** Problems a schema cannot see: a service naming an undeclared secret, a source ckpt cannot mount. */
export function checkSecrets(value: unknown): { issues: Issue[]; warnings: Issue[] } {
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  if (!isRecord(value)) return { issues, warnings };
  const services = isRecord(value['services']) ? value['services'] : {};
  for (const kind of ['secrets', 'configs'] as const) {
    const defs = definitions(value, kind);
    for (const [name, d] of Object.entries(defs)) {
      if (isRecord(d) && d.external !== undefined && d.external !== false) {
        warnings.push({ at: [kind, name, 'external'], key: true, path: [kind, name], message: `\`external\` ${kind === 'secrets' ? 'secrets' : 'configs'} live in a swarm, which ckpt does not use: services that name \`${name}\` do not get it` });
      }
    }
    for (const svc of Object.keys(services).sort()) {
      const s = services[svc];
      if (!isRecord(s)) continue;
      for (const u of uses(s, kind)) {
        if (!Object.prototype.hasOwnProperty.call(defs, u.source)) {
          issues.push({ at: ['services', svc, kind, u.at], message: `names ${kind === 'secrets' ? 'secret' : 'config'} \`${u.source}\`, which the top-level \`${kind}:\` does not declare` });
        }
      }
    }
  }
  return { issues, warnings };
}

/** A service's secret and config mounts, with targets made absolute as compose makes them. */
export function secretMounts(manifest: Record<string, unknown>, service: Record<string, unknown>, resolve: (p: string) => string): SecretMount[] {
  const out: SecretMount[] = [];
  for (const kind of ['secrets', 'configs'] as const) {
    const defs = definitions(manifest, kind);
    for (const u of uses(service, kind)) {
      const d = defs[u.source];
      if (!isRecord(d) || (d.external !== undefined && d.external !== false)) continue;
      const from: SecretMount['from'] | undefined =
        typeof d.file === 'string' ? { file: resolve(d.file) } : typeof d.environment === 'string' ? { env: d.environment } : typeof d.content === 'string' ? { content: d.content } : undefined;
      if (!from) continue;
      const target = u.target ?? u.source;
      const mode = u.mode === undefined ? undefined : typeof u.mode === 'number' ? u.mode : parseInt(String(u.mode), 8);
      out.push({
        kind: kind === 'secrets' ? 'secret' : 'config',
        name: u.source,
        // a relative secret target lives under /run/secrets, a relative config target under /
        target: path.posix.isAbsolute(target) ? target : kind === 'secrets' ? `/run/secrets/${target}` : `/${target}`,
        from,
        ...(u.uid !== undefined ? { uid: Number(u.uid) } : {}),
        ...(u.gid !== undefined ? { gid: Number(u.gid) } : {}),
        ...(mode !== undefined && !Number.isNaN(mode) ? { mode } : {}),
      });
    }
  }
  return out;
}
