// Merging compose files: the Compose Specification's rules (13-merge.md), with the details its
// text leaves to docker compose v2 taken from compose-go (override/merge.go, uncity.go):
//
//   mappings      merged key by key; a scalar of the later file wins; a null keeps the earlier value
//   sequences     appended, except
//     replaced        command, entrypoint, healthcheck.test; ulimits.<name>
//     unique          an entry with the key of an earlier one takes its place:
//                     volumes, devices (by target), secrets (target, default /run/secrets/<source>),
//                     configs (target, default /<source>), ports (ip, target, published, protocol),
//                     expose, cap_add, cap_drop, dns, dns_opt, dns_search, tmpfs, profiles, links,
//                     env_file (by path), networks.<n>.aliases, extra_hosts, ipam.config (by subnet)
//     KEY=VALUE       environment, labels, annotations, sysctls, build.args, build.labels,
//                     deploy.labels, networks.<n>.labels, volumes.<n>.labels: a list and a mapping
//                     merge as mappings (`KEY` alone is `KEY: null`), the later value wins
//     names           depends_on and a service's networks: a list merges as a mapping of its names
//   build           a string is `{context: it}`
//   logging         merged when both name the same driver (or one none), else replaced
//   !reset / !override (parse.ts) remove what the earlier files set there before the merge.
//
// Every value keeps its origin (origins.ts); the merge of two values that cannot be merged (a
// list and a mapping) is a problem at the later one's place, and the later value is kept.
import { parseLongPort, parsePortSpec, type LongPort } from '../ports.js';
import type { Issue, Path } from '../problems.js';
import { isRecord } from '../raw.js';
import { entries, trackedList, trackedMap, type Tracked } from '../origins.js';
import { parseLongVolume, parseVolumeSpec, type LongVolume } from '../volumes.js';

type Key = (entry: unknown) => string | undefined;
type Rule =
  | { kind: 'replace' }
  | { kind: 'unique'; key: Key; merge?: boolean }
  | { kind: 'keyValue' }
  | { kind: 'names'; item: unknown }
  | { kind: 'build' }
  | { kind: 'logging' };

const attempt = (fn: () => string | undefined): string | undefined => {
  try {
    return fn();
  } catch {
    return undefined; // a malformed entry is never merged away; validation reports it
  }
};
const itself: Key = (e) => (typeof e === 'string' || typeof e === 'number' ? String(e) : undefined);
const byTarget: Key = (e) => attempt(() => (typeof e === 'string' ? parseVolumeSpec(e).target : isRecord(e) ? parseLongVolume(e as unknown as LongVolume).target : undefined));
const deviceTarget: Key = (e) => (typeof e === 'string' ? (e.split(':')[1] ?? e) : isRecord(e) ? String(e['target']) : undefined);
/** a secret's or config's place: `target` (relative: under `dir`), default `dir/<source>` */
const mountTarget = (dir: string): Key => (e) => {
  const t = typeof e === 'string' ? e : isRecord(e) ? String(e['target'] ?? e['source']) : undefined;
  return t === undefined || t.startsWith('/') ? t : `${dir}/${t}`;
};
const portKey: Key = (e) =>
  attempt(() => JSON.stringify(typeof e === 'string' || typeof e === 'number' ? parsePortSpec(e) : isRecord(e) ? parseLongPort(e as unknown as LongPort) : undefined));
const envFilePath: Key = (e) => (typeof e === 'string' ? e : isRecord(e) ? String(e['path']) : undefined);
const subnet: Key = (e) => (isRecord(e) && typeof e['subnet'] === 'string' ? e['subnet'] : undefined);

const unique = (key: Key, merge = false): Rule => ({ kind: 'unique', key, merge });
const KEY_VALUE: Rule = { kind: 'keyValue' };

/** `*` matches any one segment. */
const RULES: [string, Rule][] = [
  ['services.*.command', { kind: 'replace' }],
  ['services.*.entrypoint', { kind: 'replace' }],
  ['services.*.healthcheck.test', { kind: 'replace' }],
  ['services.*.ulimits.*', { kind: 'replace' }],
  ['services.*.volumes', unique(byTarget)],
  ['services.*.devices', unique(deviceTarget)],
  ['services.*.secrets', unique(mountTarget('/run/secrets'))],
  ['services.*.configs', unique(mountTarget(''))],
  ['services.*.ports', unique(portKey)],
  ['services.*.env_file', unique(envFilePath)],
  ...['expose', 'cap_add', 'cap_drop', 'dns', 'dns_opt', 'dns_search', 'tmpfs', 'profiles', 'links', 'extra_hosts', 'networks.*.aliases'].map(
    (k): [string, Rule] => [`services.*.${k}`, unique(itself)],
  ),
  ['networks.*.ipam.config', unique(subnet, true)],
  ...['environment', 'labels', 'annotations', 'sysctls', 'build.args', 'build.labels', 'deploy.labels'].map((k): [string, Rule] => [`services.*.${k}`, KEY_VALUE]),
  ['networks.*.labels', KEY_VALUE],
  ['volumes.*.labels', KEY_VALUE],
  ['services.*.depends_on', { kind: 'names', item: { condition: 'service_started' } }],
  ['services.*.networks', { kind: 'names', item: null }],
  ['services.*.build', { kind: 'build' }],
  ['services.*.logging', { kind: 'logging' }],
];

function ruleFor(path: Path): Rule | undefined {
  for (const [pattern, rule] of RULES) {
    const segs = pattern.split('.');
    if (segs.length === path.length && segs.every((s, i) => s === '*' || s === String(path[i]))) return rule;
  }
  return undefined;
}

function shape(v: unknown): string {
  return Array.isArray(v) ? 'a list' : isRecord(v) ? 'a mapping' : `the ${v === null ? 'null' : typeof v} ${JSON.stringify(v)}`;
}

export class Merger {
  readonly issues: Issue[] = [];
  constructor(private readonly fileName: (src: number) => string) {}

  /** `b` merged over `a`; `path` is the place in the manifest, which picks the rule. */
  merge(path: Path, a: Tracked, b: Tracked): Tracked {
    const rule = ruleFor(path);
    if (rule?.kind === 'replace') return b;
    if (b.v === null || b.v === undefined) return a;
    if (rule?.kind === 'build') return this.mapping(path, asBuild(a), asBuild(b));
    if (rule?.kind === 'keyValue' && (!Array.isArray(a.v) || !Array.isArray(b.v))) return flatMerge(asKeyValues(a), asKeyValues(b));
    if (rule?.kind === 'keyValue') return uniqueList(a, b, (e) => (typeof e === 'string' ? e.split('=')[0] : undefined));
    if (rule?.kind === 'names' && (!Array.isArray(a.v) || !Array.isArray(b.v))) return this.mapping(path, asNames(a, rule.item), asNames(b, rule.item));
    if (rule?.kind === 'names') return uniqueList(a, b, itself);
    if (rule?.kind === 'logging' && isRecord(a.v) && isRecord(b.v)) {
      const [da, db] = [a.v['driver'], b.v['driver']];
      if (da !== undefined && db !== undefined && da !== db) return b;
    }
    if (isRecord(a.v) && isRecord(b.v)) return this.mapping(path, a, b);
    if (rule?.kind === 'unique' && (Array.isArray(a.v) || Array.isArray(b.v))) {
      // `dns: 1.1.1.1` is a list of one (dns_search, tmpfs, env_file too)
      const [la, lb] = [asList(a), asList(b)];
      if (Array.isArray(la.v) && Array.isArray(lb.v)) return uniqueList(la, lb, rule.key, rule.merge ? (x, y) => this.mapping(path, x, y) : undefined);
    }
    if (Array.isArray(a.v) && Array.isArray(b.v)) {
      if (rule?.kind === 'unique') return uniqueList(a, b, rule.key, rule.merge ? (x, y) => this.mapping(path, x, y) : undefined);
      return trackedList(a.o, [...entries(a), ...entries(b)].map(([, t]) => t));
    }
    if (isRecord(a.v) || Array.isArray(a.v) || isRecord(b.v) || Array.isArray(b.v)) {
      this.issues.push({
        src: b.o.src,
        at: b.o.at,
        message: `is ${shape(b.v)}, where ${this.fileName(a.o.src)} has ${shape(a.v)}: the two cannot be merged, so this one replaces it`,
      });
    }
    return b;
  }

  private mapping(path: Path, a: Tracked, b: Tracked): Tracked {
    const out = new Map(entries(a));
    for (const [k, t] of entries(b)) {
      const prior = out.get(k);
      out.set(k, prior === undefined ? t : this.merge([...path, k], prior, t));
    }
    return trackedMap(a.o, out);
  }
}

/** Append, then let an entry with the key of an earlier one take its place (or merge into it). */
function uniqueList(a: Tracked, b: Tracked, key: Key, combine?: (x: Tracked, y: Tracked) => Tracked): Tracked {
  const out: Tracked[] = [];
  const seen = new Map<string, number>();
  for (const [, t] of [...entries(a), ...entries(b)]) {
    const k = key(t.v);
    const i = k === undefined ? undefined : seen.get(k);
    if (i === undefined) {
      if (k !== undefined) seen.set(k, out.length);
      out.push(t);
    } else out[i] = combine ? combine(out[i]!, t) : t;
  }
  return trackedList(a.o, out);
}

/** Merge of two mappings where the later value always wins, null included (`KEY` unsets). */
function flatMerge(a: Tracked, b: Tracked): Tracked {
  return trackedMap(a.o, new Map([...entries(a), ...entries(b)]));
}

/** `["A=1", "B"]` as `{A: "1", B: null}`, each value keeping its list item's origin. */
function asKeyValues(t: Tracked): Tracked {
  if (!Array.isArray(t.v)) return t;
  return trackedMap(
    t.o,
    entries(t).map(([, e]): [string, Tracked] => {
      const s = String(e.v);
      const i = s.indexOf('=');
      return i < 0 ? [s, { v: null, o: e.o }] : [s.slice(0, i), { v: s.slice(i + 1), o: e.o }];
    }),
  );
}

/** A string as a list of one, its item at the string's place. */
function asList(t: Tracked): Tracked {
  return typeof t.v === 'string' ? trackedList(t.o, [{ v: t.v, o: t.o }]) : t;
}

/** `[db]` as `{db: item}`. */
function asNames(t: Tracked, item: unknown): Tracked {
  if (!Array.isArray(t.v)) return t;
  return trackedMap(t.o, entries(t).map(([, e]): [string, Tracked] => [String(e.v), { v: structuredClone(item), o: e.o }]));
}

/** `build: ./dir` as `{context: ./dir}`. */
function asBuild(t: Tracked): Tracked {
  if (typeof t.v !== 'string') return t;
  return trackedMap(t.o, [['context', { v: t.v, o: t.o }]]);
}

/** `t` without the value at `path` (copied along the path; the rest is shared). */
export function withoutPath(t: Tracked, path: Path): Tracked {
  if (path.length === 0 || !(isRecord(t.v) || Array.isArray(t.v))) return t;
  const [seg, ...rest] = path as [string | number, ...Path];
  const k = String(seg);
  const all = entries(t);
  if (!all.some(([name]) => name === k)) return t;
  const kept = all.filter(([name]) => name !== k || rest.length > 0).map(([name, c]): [string, Tracked] => [name, name === k ? withoutPath(c, rest) : c]);
  return Array.isArray(t.v) ? trackedList(t.o, kept.map(([, c]) => c)) : trackedMap(t.o, kept);
}
