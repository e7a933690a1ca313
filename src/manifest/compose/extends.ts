// `extends` (Compose Specification 05-services.md): a service starts from another service —
// of the same file, or of `file` — and its own keys are merged over it with the merge rules
// (merge.ts); the base is resolved first, so chains work, and a cycle is an error naming it.
// As in docker compose v2 (compose-go since 2025, and the spec's "Restrictions"), everything
// is inherited, depends_on and volumes_from included; docker-compose 1.x dropped those two.
// `file` is relative to the directory of the file that names it (the project directory for
// the -f files); the paths of a service taken from another file are made absolute (paths.ts).
// Runs per file, before the files are merged, as compose does.
import path from 'node:path';
import { entries, kid, trackedMap, type Tracked } from '../origins.js';
import { suggestion, type Issue, type Path } from '../problems.js';
import { isRecord } from '../raw.js';
import { withoutPath, type Merger } from './merge.js';
import { absoluteServicePaths } from './paths.js';
import type { Loaded, Sources } from './sources.js';

export interface ExtendsContext {
  sources: Sources;
  merger: Merger;
}

interface Ref {
  service: string;
  file?: string;
}

/** The file with every service's `extends` resolved (and removed). */
export function applyExtends(ctx: ExtendsContext, file: Loaded): Tracked {
  const v = file.value.v;
  if (!isRecord(v) || !isRecord(v['services'])) return file.value;
  const resolver = new Resolver(ctx);
  const services = { v: v['services'], o: kid(file.value.o, 'services') };
  const resolved = entries(services).map(([name]): [string, Tracked] => [name, resolver.service(file, name, [])]);
  const top = entries(file.value).map(([k, t]): [string, Tracked] => [k, k === 'services' ? trackedMap(services.o, resolved) : t]);
  return trackedMap(file.value.o, top);
}

class Resolver {
  private readonly done = new Map<string, Tracked>();
  constructor(private readonly ctx: ExtendsContext) {}

  private problem(file: Loaded, at: Path, message: string, hint?: string): void {
    const issue: Issue = { src: file.src, at, message };
    this.ctx.sources.issues.push(hint ? { ...issue, hint } : issue);
  }

  /** The service `name` of `file`, its extends resolved; `chain` is the path taken to it. */
  service(file: Loaded, name: string, chain: string[]): Tracked {
    const id = `${this.ctx.sources.display(file.src)}: ${name}`;
    const known = this.done.get(`${file.src}\0${name}`);
    if (known) return known;
    const services = isRecord(file.value.v) && isRecord(file.value.v['services']) ? file.value.v['services'] : {};
    const own: Tracked = { v: services[name], o: kid(kid(file.value.o, 'services'), name) };
    const at: Path = ['services', name, 'extends'];
    if (!isRecord(own.v) || own.v['extends'] === undefined) return own;
    const own0 = withoutPath(own, ['extends']);
    const ref = this.ref(file, own.v['extends'], at);
    if (!ref) return own0;
    if (chain.includes(id)) {
      this.problem(file, at, `extends cycle: ${[...chain.slice(chain.indexOf(id)), id].join(' → ')}`, 'Break the cycle: a service cannot extend itself, directly or through others.');
      return own0;
    }
    const from = ref.file === undefined ? file : this.other(file, ref.file, at);
    if (!from) return own0;
    const theirs = isRecord(from.value.v) && isRecord(from.value.v['services']) ? from.value.v['services'] : {};
    if (!isRecord(theirs[ref.service])) {
      const where = ref.file === undefined ? '' : ` in ${this.ctx.sources.display(from.src)}`;
      this.problem(file, isRecord(own.v['extends']) ? [...at, 'service'] : at, `extends \`${ref.service}\`, but there is no such service${where}${suggestion(ref.service, Object.keys(theirs))}`);
      return own0;
    }
    let base = this.service(from, ref.service, [...chain, id]);
    if (from.base !== file.base) base = { v: absoluteServicePaths(base.v, from.base), o: base.o };
    // the extending service's !reset / !override apply to what it inherits (compose-go does so too)
    for (const t of file.tagged) if (t.path.length > 2 && t.path[0] === 'services' && t.path[1] === name) base = withoutPath(base, t.path.slice(2));
    const merged = this.ctx.merger.merge(['services', name], base, own0);
    const result: Tracked = { v: merged.v, o: { ...merged.o, src: own.o.src, at: own.o.at } };
    this.done.set(`${file.src}\0${name}`, result);
    return result;
  }

  private ref(file: Loaded, v: unknown, at: Path): Ref | undefined {
    if (typeof v === 'string' && v !== '') return { service: v };
    if (isRecord(v) && typeof v['service'] === 'string' && v['service'] !== '') {
      const unknownKeys = Object.keys(v).filter((k) => k !== 'service' && k !== 'file');
      for (const k of unknownKeys) this.problem(file, [...at, k], `unknown key \`${k}\` — extends takes \`service\` and \`file\``);
      if (v['file'] !== undefined && typeof v['file'] !== 'string') {
        this.problem(file, [...at, 'file'], 'must be a string: the path of the file that defines the service');
        return undefined;
      }
      return typeof v['file'] === 'string' ? { service: v['service'], file: v['file'] } : { service: v['service'] };
    }
    this.problem(file, at, 'must name the service to extend: `extends: base` or `extends: {service: base, file: other.yaml}`');
    return undefined;
  }

  /** The other file of `extends.file`, relative to the base directory of the file naming it. */
  private other(file: Loaded, name: string, at: Path): Loaded | undefined {
    const abs = path.resolve(file.base, name);
    const got = this.ctx.sources.load(abs, path.dirname(abs), file.env);
    if ('src' in got) return got;
    if ('invalid' in got) return undefined;
    const why = 'missing' in got ? 'does not exist' : `cannot be read (${got.unreadable})`;
    this.problem(file, [...at, 'file'], `${JSON.stringify(name)} ${why} (looked for ${abs})`);
    return undefined;
  }
}
