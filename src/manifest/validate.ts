// Validation: first the JSON Schema (schema/ckpt-manifest.schema.json, the same file editors use),
// then the checks a schema cannot express — references between services, cycles, and the
// mini-languages inside strings (durations, ports, volumes, shell commands). Both only report
// Issues; neither throws for a user mistake. The semantic checks guard every type themselves, so
// they run even when the schema found problems, and all problems are reported together.

import { readFileSync } from 'node:fs';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import { parseBytes } from './build.js';
import { readContainerOptions } from './compose/container-options.js';
import { DurationError, parseDuration } from './durations.js';
import { EnvironmentError, splitAssignment } from './environment.js';
import { PortError, parseLongPort, parsePortSpec, type LongPort } from './ports.js';
import { didYouMean, isUnder, suggestion, type Issue, type Path } from './problems.js';
import { classifyKeys, declarationWarnings } from './compose/keys.js';
import { checkSecrets } from './compose/secrets.js';
import { checkNetworks } from './compose/networks.js';
import { composeSpecErrors } from './compose/spec-schema.js';
import { isRecord } from './raw.js';
import { ShellSplitError, splitShell } from './shell.js';
import { posix } from 'node:path';
import { VolumeError, parseLongVolume, parseTmpfsSpec, parseVolumeSpec, type LongVolume } from './volumes.js';
import type { VolumeMount } from './types.js';

/** Where the schema lives: ../../schema from both src/manifest and dist/manifest. */
/** Options of a long-form mount that ckpt reads but does not act on: [group, key, what happens instead]. */
const UNHONOURED_MOUNT_OPTIONS: [string | undefined, string, string][] = [
  ['volume', 'subpath', 'the whole volume is mounted at the target; mount a directory of it with a bind mount instead'],
  ['bind', 'propagation', 'the mount is private (rprivate): mounts made under it later on either side are not seen by the other'],
  ['bind', 'selinux', 'ckpt does not relabel files (SELinux labels are left as they are)'],
  [undefined, 'consistency', 'it is a Docker Desktop hint and changes nothing on Linux'],
];

export const SCHEMA_URL = new URL('../../schema/ckpt-manifest.schema.json', import.meta.url);

let schemaCache: Record<string, unknown> | undefined;
let validatorCache: ValidateFunction | undefined;

export function manifestSchema(): Record<string, unknown> {
  schemaCache ??= JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as Record<string, unknown>;
  return schemaCache;
}

function validator(): ValidateFunction {
  if (!validatorCache) {
    const Ajv = AjvModule.default;
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, strictTuples: false });
    // our error messages live in the schema next to what they describe; editors ignore them
    ajv.addVocabulary(['x-message']);
    validatorCache = ajv.compile(manifestSchema());
  }
  return validatorCache;
}

// ---------------------------------------------------------------------------------------------
// schema

interface SchemaNode {
  'x-message'?: string;
  properties?: Record<string, unknown>;
  minimum?: number;
  maximum?: number;
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'a string',
  object: 'a mapping',
  array: 'a list',
  boolean: 'true or false',
  null: 'empty',
};

function describeTypes(t: unknown): string {
  const list = (Array.isArray(t) ? t : [t]).map((x) => TYPE_WORDS[String(x)] ?? String(x));
  if (list.length <= 1) return list.join('');
  return `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
}

function quoteList(values: readonly unknown[]): string {
  const q = values.map((v) => `\`${String(v)}\``);
  return q.length <= 1 ? q.join('') : `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`;
}

/** JSON pointer → path, with array indexes as numbers (looked up in the data). */
export function pointerToPath(pointer: string, root: unknown): Path {
  if (pointer === '') return [];
  const out: (string | number)[] = [];
  let cur: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      const i = Number(seg);
      out.push(i);
      cur = cur[i];
    } else {
      out.push(seg);
      cur = isRecord(cur) ? cur[seg] : undefined;
    }
  }
  return out;
}

function issueFromAjv(e: ErrorObject, root: unknown, moreKeys: readonly string[] = []): Issue | undefined {
  const at = pointerToPath(e.instancePath, root);
  const parent = (e.parentSchema ?? {}) as SchemaNode;
  const custom = parent['x-message'];
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const k = String(params['additionalProperty']);
      const candidates = [...new Set([...Object.keys(parent.properties ?? {}), ...moreKeys])];
      const where = at.length === 0 ? 'unknown top-level key' : 'unknown key';
      return { at: [...at, k], key: true, path: at, message: `${where} \`${k}\`${suggestion(k, candidates)}` };
    }
    case 'required':
      return { at, key: true, message: `missing required key \`${String(params['missingProperty'])}\`` };
    case 'type':
      return { at, message: custom ?? `must be ${describeTypes(params['type'])}` };
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]) ?? [];
      const hint = typeof e.data === 'string' ? suggestion(e.data, allowed.map(String)) : '';
      return { at, message: `must be one of ${quoteList(allowed)}${hint}` };
    }
    case 'pattern': {
      if (e.propertyName !== undefined) {
        return { at: [...at, e.propertyName], key: true, path: at, message: `\`${e.propertyName}\` ${custom ?? 'is not a valid name'}` };
      }
      return { at, message: custom ?? `must match ${String(params['pattern'])}` };
    }
    case 'propertyNames':
      return undefined; // reported by the inner `pattern` error, at the key
    case 'minimum':
    case 'maximum':
      if (parent.minimum !== undefined && parent.maximum !== undefined) {
        return { at, message: `must be between ${parent.minimum} and ${parent.maximum}` };
      }
      return { at, message: e.keyword === 'minimum' ? `must be at least ${String(params['limit'])}` : `must be at most ${String(params['limit'])}` };
    case 'uniqueItems': {
      const [first, second] = [Number(params['i']), Number(params['j'])].sort((a, b) => a - b) as [number, number];
      const item = Array.isArray(e.data) ? e.data[first] : undefined;
      return { at: [...at, second], path: at, message: `lists ${JSON.stringify(item)} twice (items ${first} and ${second})` };
    }
    case 'minItems':
    case 'minLength':
      return { at, message: 'must not be empty' };
    case 'minProperties':
      return { at, message: custom ?? 'must not be empty' };
    default:
      return { at, message: custom ?? e.message ?? 'is not valid' };
  }
}

/** Ajv's errors as issues; "missing X" is left out where "unknown key Y — did you mean X?" says it. */
function issuesFromErrors(errors: ErrorObject[], value: unknown, moreKeys: (e: ErrorObject) => readonly string[] = () => []): Issue[] {
  // `servics:` gives "unknown key servics — did you mean services?" and "missing services":
  // the first says it all, so the second is left out
  const suggested = new Set<string>();
  for (const e of errors) {
    if (e.keyword !== 'additionalProperties') continue;
    const parent = (e.parentSchema ?? {}) as SchemaNode;
    const s = didYouMean(String((e.params as Record<string, unknown>)['additionalProperty']), Object.keys(parent.properties ?? {}));
    if (s !== undefined) suggested.add(`${e.instancePath}\0${s}`);
  }
  const out: Issue[] = [];
  for (const e of errors) {
    if (e.keyword === 'required' && suggested.has(`${e.instancePath}\0${String((e.params as Record<string, unknown>)['missingProperty'])}`)) {
      continue;
    }
    const issue = issueFromAjv(e, value, moreKeys(e));
    if (issue) out.push(issue);
  }
  return out;
}

/** Check the manifest against ckpt's JSON Schema alone. */
export function validateSchema(value: unknown): Issue[] {
  const v = validator();
  return v(value) ? [] : issuesFromErrors(v.errors ?? [], value);
}

/** A key the Compose Specification allows where ckpt's schema does not model it (see compose/keys.ts). */
export interface SpecOnlyKey {
  at: Path;
  key: string;
}

const additional = (e: ErrorObject): string => String((e.params as Record<string, unknown>)['additionalProperty']);
const COMBINATORS = new Set(['oneOf', 'anyOf', 'if', 'not', 'false schema']);
/** what a oneOf branch that does not fit the value's shape reports */
const BRANCH_KEYWORDS = new Set(['type', 'enum', 'const']);

/**
 * Both schemas (compose/spec-schema.ts says why two). ckpt's issues come first, with its
 * messages; a key that only the spec knows is handed back as `specOnly`, not reported; the
 * spec's own issues are kept where ckpt's schema found nothing at or around the same place.
 */
export function checkSchemas(value: unknown): { issues: Issue[]; specOnly: SpecOnlyKey[] } {
  const v = validator();
  const ckptErrors = v(value) ? [] : [...(v.errors ?? [])];
  const specErrors = composeSpecErrors(value);
  // where both refuse a key: the spec's keys at that place, for "did you mean" (cap_ad → cap_add)
  const specUnknown = new Map(
    specErrors
      .filter((e) => e.keyword === 'additionalProperties')
      .map((e) => [`${e.instancePath}\0${additional(e)}`, Object.keys(((e.parentSchema ?? {}) as SchemaNode).properties ?? {})] as const),
  );
  const specOnly: SpecOnlyKey[] = [];
  const kept = ckptErrors.filter((e) => {
    if (e.keyword !== 'additionalProperties') return true;
    const at = pointerToPath(e.instancePath, value);
    // inside x-ckpt (or any x- block) ckpt's schema decides alone; so where the spec also refuses the key
    if (at.some((seg) => typeof seg === 'string' && seg.startsWith('x-'))) return true;
    if (specUnknown.has(`${e.instancePath}\0${additional(e)}`)) return true;
    specOnly.push({ at, key: additional(e) });
    return false;
  });
  const issues = issuesFromErrors(kept, value, (e) => (e.keyword === 'additionalProperties' ? (specUnknown.get(`${e.instancePath}\0${additional(e)}`) ?? []) : []));
  // The spec's issues. Its oneOf branches each fail in their own way ("must be a list", then
  // "missing condition" inside the mapping): the deepest place is the one the user meant, so an
  // branch's "wrong type" with an error below it is left out (an unknown key is a mistake of its
  // own and stays), and so are the combinators' summaries.
  const below = (e: ErrorObject): boolean => specErrors.some((o) => o.instancePath.startsWith(`${e.instancePath}/`));
  const spec = specErrors.filter((e) => !COMBINATORS.has(e.keyword) && !(BRANCH_KEYWORDS.has(e.keyword) && below(e)));
  const seen = new Set<string>();
  for (const issue of issuesFromErrors(spec, value)) {
    const at = issue.at;
    if (issues.some((i) => isUnder(i.at, at) || isUnder(at, i.at))) continue;
    const k = JSON.stringify(at);
    if (seen.has(k)) continue;
    seen.add(k);
    issues.push({ ...issue, message: `${issue.message} (Compose Specification)` });
  }
  return { issues, specOnly };
}

// ---------------------------------------------------------------------------------------------
// semantic checks

export interface CheckResult {
  issues: Issue[];
  warnings: Issue[];
}

function hasHealthcheck(s: unknown): boolean {
  if (!isRecord(s) || !isRecord(s['healthcheck'])) return false;
  const h = s['healthcheck'];
  if (h['disable'] === true || h['test'] === undefined) return false;
  const test = h['test'];
  return !(Array.isArray(test) && test[0] === 'NONE');
}

interface Edge {
  from: string;
  to: string;
  at: Path;
  key: boolean;
}

function tryCatch<E extends Error>(cls: new (...a: never[]) => E, fn: () => void, report: (e: E) => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof cls) report(e);
    else throw e;
  }
}

/** Checks the schema cannot express. */
export function checkSemantics(value: unknown): CheckResult {
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  if (!isRecord(value)) return { issues, warnings };
  if (value['version'] !== undefined) {
    warnings.push({ at: ['version'], key: true, path: [], message: '`version` is obsolete and ignored; you can remove it' });
  }
  const services = isRecord(value['services']) ? value['services'] : {};
  const names = Object.keys(services).sort();
  const declaredVolumes = isRecord(value['volumes']) ? Object.keys(value['volumes']) : [];
  const edges: Edge[] = [];

  for (const name of names) {
    const s = services[name];
    if (!isRecord(s)) continue;
    const base: Path = ['services', name];
    const at = (...rest: (string | number)[]): Path => [...base, ...rest];
    const problem = (p: Path, message: string, key = false): void => {
      issues.push(key ? { at: p, message, key } : { at: p, message });
    };

    // --- what to run
    const x = isRecord(s['x-ckpt']) ? s['x-ckpt'] : {};
    const explicit = x['runtime'] === 'process' || x['runtime'] === 'docker' ? x['runtime'] : undefined;
    // a service that builds its image (compose's <project>-<service>) has one too
    const hasImage = s['image'] !== undefined || s['build'] !== undefined;
    const hasCommand = s['command'] !== undefined || s['entrypoint'] !== undefined;
    const runtime = explicit ?? (hasImage ? 'docker' : 'process');
    if (!hasCommand && !hasImage) {
      problem(base, 'needs a command (process service) or an image (docker service)', true);
    } else if (runtime === 'process' && !hasCommand) {
      problem(base, 'a process service needs a `command` (x-ckpt.runtime is `process`)', true);
    } else if (runtime === 'docker' && !hasImage) {
      problem(base, 'a docker service needs an `image` (x-ckpt.runtime is `docker`)', true);
    }
    if (explicit === 'process' && s['image'] !== undefined) {
      warnings.push({ at: at('image'), message: 'is ignored: the service runs as a process (x-ckpt.runtime: process)' });
    }
    if (runtime === 'docker') for (const { key, message } of readContainerOptions(s).problems) problem(at(key), message);
    const build = s['build'];
    if (isRecord(build) && (typeof build['shm_size'] === 'string' || typeof build['shm_size'] === 'number') && parseBytes(build['shm_size']) === undefined) {
      problem(at('build', 'shm_size'), 'must be a size: a number of bytes, or like `64m`, `1g`');
    }
    let argc = 0;
    let argvKnown = true;
    for (const k of ['entrypoint', 'command'] as const) {
      const v = s[k];
      if (typeof v === 'string') {
        tryCatch(ShellSplitError, () => (argc += splitShell(v).length), (e) => {
          argvKnown = false;
          problem(at(k), e.message);
        });
      } else if (Array.isArray(v)) {
        argc += v.length;
      } else if (v !== undefined) {
        argvKnown = false;
      }
    }
    if (runtime === 'process' && hasCommand && argvKnown && argc === 0) {
      problem(at(s['command'] !== undefined ? 'command' : 'entrypoint'), 'is empty — a process service needs a program to run');
    }
    const wd = s['working_dir'];
    if (runtime === 'docker' && typeof wd === 'string' && !wd.startsWith('/')) {
      problem(at('working_dir'), 'must be an absolute path for a docker service (it is a path inside the container)');
    }

    // --- environment and labels, list form
    for (const k of ['environment', 'labels'] as const) {
      const v = s[k];
      if (!Array.isArray(v)) continue;
      v.forEach((item, i) => {
        if (typeof item === 'string') tryCatch(EnvironmentError, () => splitAssignment(item), (e) => problem(at(k, i), e.message));
      });
    }

    // --- durations
    const duration = (p: Path, v: unknown): void => {
      if (typeof v === 'string') tryCatch(DurationError, () => parseDuration(v), (e) => problem(p, e.message));
    };
    duration(at('stop_grace_period'), s['stop_grace_period']);
    const h = s['healthcheck'];
    if (isRecord(h)) {
      for (const k of ['interval', 'timeout', 'start_period']) duration(at('healthcheck', k), h[k]);
      const test = h['test'];
      if (test === undefined && h['disable'] !== true) {
        problem(at('healthcheck'), 'needs a `test` (or `disable: true`)', true);
      } else if (typeof test === 'string' && test.trim() === '') {
        problem(at('healthcheck', 'test'), 'must not be empty');
      } else if (Array.isArray(test)) {
        if (test[0] === 'CMD' && test.length < 2) problem(at('healthcheck', 'test'), '["CMD"] needs the program to run after "CMD"');
        if (test[0] === 'CMD-SHELL' && test.length !== 2) {
          problem(at('healthcheck', 'test'), '"CMD-SHELL" must be followed by exactly one script string');
        }
        if (test[0] === 'NONE' && test.length !== 1) problem(at('healthcheck', 'test'), '"NONE" takes no arguments');
      }
    }

    // --- ports
    const ports = s['ports'];
    if (Array.isArray(ports)) {
      ports.forEach((p, i) => {
        if (typeof p === 'string') {
          tryCatch(PortError, () => parsePortSpec(p), (e) => problem(at('ports', i), e.message));
        } else if (isRecord(p) && Number.isInteger(p['target']) && typesFit(p, { published: ['number', 'string'], host_ip: ['string'] })) {
          if (p['protocol'] === undefined || p['protocol'] === 'tcp' || p['protocol'] === 'udp') {
            tryCatch(PortError, () => parseLongPort(p as unknown as LongPort), (e) => problem(at('ports', i), e.message));
          }
        }
      });
    }

    // --- volumes
    const volumes = s['volumes'];
    if (Array.isArray(volumes)) {
      volumes.forEach((v, i) => {
        let mount: VolumeMount | undefined;
        if (typeof v === 'string') {
          tryCatch(VolumeError, () => (mount = parseVolumeSpec(v)), (e) => problem(at('volumes', i), e.message));
        } else if (
          isRecord(v) &&
          typeof v['target'] === 'string' &&
          typesFit(v, { source: ['string'], read_only: ['boolean'] }) &&
          (v['type'] === undefined || v['type'] === 'bind' || v['type'] === 'volume' || v['type'] === 'tmpfs')
        ) {
          tryCatch(VolumeError, () => (mount = parseLongVolume(v as unknown as LongVolume)), (e) => problem(at('volumes', i), e.message));
          for (const [group, key, why] of UNHONOURED_MOUNT_OPTIONS) {
            const g = group ? v[group] : v;
            if (isRecord(g) && g[key] !== undefined) {
              warnings.push({ at: group ? at('volumes', i, group, key) : at('volumes', i, key), message: `is not acted on by ckpt: ${why}` });
            }
          }
        }
        const m = mount as VolumeMount | undefined;
        if (m && m.type === 'volume' && m.source !== undefined && !declaredVolumes.includes(m.source)) {
          const hint = suggestion(m.source, declaredVolumes) || ' — add it there';
          problem(at('volumes', i), `named volume \`${m.source}\` is not declared under the top-level \`volumes:\`${hint}`);
        }
      });
    }

    // --- x-ckpt.checkpoint.capture_binds: each names one of the service's bind mounts
    const xc = isRecord(x['checkpoint']) ? x['checkpoint'] : {};
    const capture = Array.isArray(xc['capture_binds']) ? xc['capture_binds'] : [];
    if (capture.length && runtime === 'docker') {
      problem(at('x-ckpt', 'checkpoint', 'capture_binds'), 'is for process services: a container\'s bind mounts stay referenced; give the data a named volume instead (its volumes are captured at the cut)');
    } else if (capture.length) {
      const binds = (Array.isArray(volumes) ? volumes : []).flatMap((v) => {
        try {
          const m = typeof v === 'string' ? parseVolumeSpec(v) : isRecord(v) ? parseLongVolume(v as unknown as LongVolume) : undefined;
          return m?.type === 'bind' ? [m] : [];
        } catch {
          return [];
        }
      });
      capture.forEach((c, i) => {
        if (typeof c !== 'string') return;
        const n = posix.normalize(c);
        if (binds.some((b) => posix.normalize(b.target) === n || posix.normalize(b.source ?? '') === n)) return;
        problem(at('x-ckpt', 'checkpoint', 'capture_binds', i), `${JSON.stringify(c)} is neither the target nor the host path of one of the service's bind mounts${binds.length ? ` (its binds: ${binds.map((b) => `${b.source}:${b.target}`).join(', ')})` : ' (it has none)'}`);
      });
    }

    // a process service's tmpfs: are mounted by ckpt; a container's go to Docker as they are
    const tmpfs = runtime === 'process' ? s['tmpfs'] : undefined;
    (typeof tmpfs === 'string' ? [tmpfs] : Array.isArray(tmpfs) ? tmpfs : []).forEach((t, i) => {
      if (typeof t === 'string') tryCatch(VolumeError, () => parseTmpfsSpec(t), (e) => problem(typeof tmpfs === 'string' ? at('tmpfs') : at('tmpfs', i), e.message));
    });

    // --- dependencies
    const deps = s['depends_on'];
    const entries: { dep: string; seg: string | number; spec: Record<string, unknown> }[] = [];
    if (Array.isArray(deps)) {
      deps.forEach((d, i) => {
        if (typeof d === 'string') entries.push({ dep: d, seg: i, spec: {} });
      });
    } else if (isRecord(deps)) {
      for (const [d, spec] of Object.entries(deps)) entries.push({ dep: d, seg: d, spec: isRecord(spec) ? spec : {} });
    }
    for (const { dep, seg, spec } of entries) {
      const p = at('depends_on', seg);
      const key = typeof seg === 'string';
      const shown = at('depends_on');
      if (dep === name) {
        issues.push({ at: p, key, path: shown, message: `\`${name}\` depends on itself` });
      } else if (!Object.prototype.hasOwnProperty.call(services, dep)) {
        if (spec['required'] === false) {
          warnings.push({ at: p, key, path: shown, message: `optional dependency \`${dep}\` is not defined; ignoring it` });
        } else {
          issues.push({ at: p, key, path: shown, message: `unknown service \`${dep}\`${suggestion(dep, names)}` });
        }
      } else {
        edges.push({ from: name, to: dep, at: p, key });
        if (spec['condition'] === 'service_healthy' && !hasHealthcheck(services[dep])) {
          issues.push({
            at: key ? [...p, 'condition'] : p,
            path: shown,
            message: `\`${dep}\` has no healthcheck, so condition service_healthy can never be met — add services.${dep}.healthcheck or use service_started`,
          });
        }
      }
    }
  }

  issues.push(...findCycles(edges));
  return { issues, warnings };
}

function typesFit(obj: Record<string, unknown>, spec: Record<string, string[]>): boolean {
  return Object.entries(spec).every(([k, types]) => obj[k] === undefined || types.includes(typeof obj[k]));
}

/** One issue per strongly connected component: its shortest cycle through its smallest name. */
export function findCycles(edges: readonly Edge[]): Issue[] {
  const adj = new Map<string, Edge[]>();
  const nodes = new Set<string>();
  for (const e of edges) {
    nodes.add(e.from);
    nodes.add(e.to);
    const list = adj.get(e.from) ?? [];
    list.push(e);
    adj.set(e.from, list);
  }
  for (const list of adj.values()) list.sort((a, b) => (a.to < b.to ? -1 : a.to > b.to ? 1 : 0));

  // Tarjan's strongly connected components, visiting nodes in name order
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const e of adj.get(v) ?? []) {
      if (!idx.has(e.to)) {
        strong(e.to);
        low.set(v, Math.min(low.get(v)!, low.get(e.to)!));
      } else if (onStack.has(e.to)) {
        low.set(v, Math.min(low.get(v)!, idx.get(e.to)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) components.push(comp.sort());
    }
  };
  for (const n of [...nodes].sort()) if (!idx.has(n)) strong(n);

  const out: Issue[] = [];
  for (const comp of components) {
    const inComp = new Set(comp);
    const start = comp[0]!;
    // breadth-first from start back to start, staying inside the component
    const prev = new Map<string, Edge>();
    const queue: string[] = [start];
    let closing: Edge | undefined;
    while (queue.length > 0 && !closing) {
      const v = queue.shift()!;
      for (const e of adj.get(v) ?? []) {
        if (!inComp.has(e.to)) continue;
        if (e.to === start) {
          closing = e;
          break;
        }
        if (!prev.has(e.to)) {
          prev.set(e.to, e);
          queue.push(e.to);
        }
      }
    }
    if (!closing) continue;
    const pathEdges: Edge[] = [closing];
    for (let cur = closing.from; cur !== start; ) {
      const e = prev.get(cur)!;
      pathEdges.unshift(e);
      cur = e.from;
    }
    const chain = [start, ...pathEdges.map((e) => e.to)].join(' -> ');
    const first = pathEdges[0]!;
    out.push({ at: first.at, key: first.key, path: ['services', start, 'depends_on'], message: `dependency cycle: ${chain}` });
  }
  return out;
}

export interface ValidationResult {
  issues: Issue[];
  warnings: Issue[];
}

/**
 * The schemas, the verdicts on the Compose keys ckpt does not model, then semantic checks; a
 * semantic issue at a path the schemas already reported is dropped.
 */
export function validate(value: unknown): ValidationResult {
  const { issues: schemaIssues, specOnly } = checkSchemas(value);
  const keys = classifyKeys(value, specOnly);
  const secrets = checkSecrets(value);
  const networks = checkNetworks(value);
  const sem = checkSemantics(value);
  const seen = new Set([...schemaIssues, ...keys.issues].map((i) => JSON.stringify(i.at)));
  return {
    issues: [...schemaIssues, ...keys.issues, ...[...secrets.issues, ...networks.issues, ...sem.issues].filter((i) => !seen.has(JSON.stringify(i.at)))],
    warnings: [...keys.warnings, ...declarationWarnings(value), ...secrets.warnings, ...networks.warnings, ...sem.warnings],
  };
}
