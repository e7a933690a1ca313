// Relative paths of a file that is not the project's own. The -f files all write paths relative
// to the project directory (the first file's), and normalize.ts resolves them there. A service
// taken from another file by `extends`, or the model of an `include`, wrote its paths relative
// to its own directory (compose-go paths/resolve.go does the same), so they are made absolute
// here before they join the project. Only the value changes, never its shape, so the origins
// of a Tracked value stay valid.
import path from 'node:path';
import { isRecord } from '../raw.js';

/** A path to resolve: not absolute, not `~`-relative (normalize expands those), not a URL. */
function isRelative(p: string): boolean {
  return p !== '' && !path.isAbsolute(p) && !p.startsWith('~') && !/^[a-z][a-z0-9+.-]*:\/\//i.test(p) && !p.startsWith('git@');
}

const abs = (p: unknown, dir: string): unknown => (typeof p === 'string' && isRelative(p) ? path.resolve(dir, p) : p);

function volume(v: unknown, dir: string): unknown {
  if (typeof v === 'string') {
    // a bind mount's source is a path when it starts with `.` (or `/`, `~`); a name otherwise
    const i = v.indexOf(':');
    return i > 0 && v.startsWith('.') ? `${path.resolve(dir, v.slice(0, i))}${v.slice(i)}` : v;
  }
  if (isRecord(v) && v['type'] === 'bind') return { ...v, source: abs(v['source'], dir) };
  return v;
}

function envFile(v: unknown, dir: string): unknown {
  if (isRecord(v)) return { ...v, path: abs(v['path'], dir) };
  return abs(v, dir);
}

/** A service's paths, resolved against `dir`. */
export function absoluteServicePaths(s: unknown, dir: string): unknown {
  if (!isRecord(s)) return s;
  const out = { ...s };
  const b = s['build'];
  if (typeof b === 'string') out['build'] = abs(b, dir);
  else if (isRecord(b)) out['build'] = { ...b, context: abs(b['context'] ?? '.', dir) };
  const e = s['env_file'];
  if (e !== undefined) out['env_file'] = Array.isArray(e) ? e.map((x) => envFile(x, dir)) : envFile(e, dir);
  const l = s['label_file'];
  if (l !== undefined) out['label_file'] = Array.isArray(l) ? l.map((x) => abs(x, dir)) : abs(l, dir);
  if (Array.isArray(s['volumes'])) out['volumes'] = s['volumes'].map((v) => volume(v, dir));
  return out;
}

/** A whole model's paths (services, and the files of secrets and configs), resolved against `dir`. */
export function absoluteModelPaths(m: unknown, dir: string): unknown {
  if (!isRecord(m)) return m;
  const out = { ...m };
  if (isRecord(m['services'])) out['services'] = Object.fromEntries(Object.entries(m['services']).map(([k, s]) => [k, absoluteServicePaths(s, dir)]));
  for (const key of ['secrets', 'configs']) {
    const decl = m[key];
    if (!isRecord(decl)) continue;
    out[key] = Object.fromEntries(Object.entries(decl).map(([k, d]) => [k, isRecord(d) && typeof d['file'] === 'string' ? { ...d, file: abs(d['file'], dir) } : d]));
  }
  return out;
}
