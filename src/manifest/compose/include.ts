// `include` (Compose Specification 14-include.md): each entry is loaded as a Compose model of
// its own — its files merged, its own includes and extends applied, its relative paths resolved
// against its project directory (`project_directory`, default: the first file's directory), its
// variables from its `env_file` (default: `.env` in that directory) under the including
// project's environment, which wins — and its services, networks, volumes, secrets and configs
// are added to the file that includes it. A name defined on both sides is an error, as in
// docker compose 2.20–2.2x (later versions merge the two; the spec says they are not merged),
// unless the two definitions are the same. Runs per file, before -f files are merged.
import path from 'node:path';
import type { Env } from '../interpolate.js';
import { entries, kid, trackedMap, type Tracked } from '../origins.js';
import { canonicalJSON } from '../canonical.js';
import type { Issue, Path } from '../problems.js';
import { isRecord } from '../raw.js';
import type { Loaded, Sources } from './sources.js';

export const INCLUDED_KEYS = ['services', 'networks', 'volumes', 'secrets', 'configs'] as const;

export interface IncludeEntry {
  at: Path;
  files: string[];
  projectDir: string;
  envFiles: { file: string; required: boolean }[];
}

export interface IncludeContext {
  sources: Sources;
  /** reads the env files of an entry (the including environment wins); problems go to sources */
  envOf(entry: IncludeEntry, env: Env, from: Loaded): Env;
  /** loads an entry's files as a model of its own, paths made absolute; undefined when it failed */
  model(entry: IncludeEntry, env: Env, chain: readonly string[], from: Loaded): Tracked | undefined;
}

const stringList = (v: unknown): string[] | undefined => (typeof v === 'string' ? [v] : Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);

/** The entries of `include:`, paths resolved against the including file's base directory. */
function readEntries(file: Loaded, issues: Issue[]): IncludeEntry[] {
  const v = isRecord(file.value.v) ? file.value.v['include'] : undefined;
  const problem = (at: Path, message: string): void => void issues.push({ src: file.src, at, message });
  if (!Array.isArray(v)) {
    problem(['include'], 'must be a list of files (or of {path, project_directory, env_file})');
    return [];
  }
  const out: IncludeEntry[] = [];
  v.forEach((e, i) => {
    const at: Path = ['include', i];
    const long = isRecord(e) ? e : undefined;
    const files = stringList(long ? long['path'] : e);
    if (!files || files.length === 0) return problem(long ? [...at, 'path'] : at, 'must be a file, or a list of files, to include');
    for (const k of Object.keys(long ?? {})) if (!['path', 'project_directory', 'env_file'].includes(k)) problem([...at, k], `unknown key \`${k}\` — an include takes \`path\`, \`project_directory\` and \`env_file\``);
    const dir = long?.['project_directory'];
    if (dir !== undefined && typeof dir !== 'string') return problem([...at, 'project_directory'], 'must be a directory');
    const envList = long?.['env_file'] === undefined ? [] : stringList(long['env_file']);
    if (!envList) return problem([...at, 'env_file'], 'must be a file, or a list of files');
    const abs = files.map((f) => path.resolve(file.base, f));
    const projectDir = typeof dir === 'string' ? path.resolve(file.base, dir) : path.dirname(abs[0]!);
    const envFiles = envList.length > 0 ? envList.filter((f) => f !== '/dev/null').map((f) => ({ file: path.resolve(file.base, f), required: true })) : [{ file: path.join(projectDir, '.env'), required: false }];
    out.push({ at, files: abs, projectDir, envFiles });
  });
  return out;
}

/** The file with its includes added (and `include` removed). `chain`: the files including it. */
export function applyInclude(ctx: IncludeContext, file: Loaded, chain: readonly string[]): Tracked {
  if (!isRecord(file.value.v) || file.value.v['include'] === undefined) return file.value;
  const issues = ctx.sources.issues;
  const top = new Map(entries(file.value).filter(([k]) => k !== 'include'));
  for (const entry of readEntries(file, issues)) {
    const first = entry.files[0]!;
    if (chain.includes(first) || first === file.file) {
      issues.push({ src: file.src, at: entry.at, message: `include cycle: ${[...chain, file.file, first].map((f) => path.basename(f)).join(' → ')}`, hint: 'A file cannot include itself, directly or through others.' });
      continue;
    }
    const model = ctx.model(entry, ctx.envOf(entry, file.env, file), [...chain, file.file], file);
    if (!model) continue;
    for (const key of INCLUDED_KEYS) {
      const theirs = entries({ v: isRecord(model.v) ? model.v[key] : undefined, o: kid(model.o, key) });
      if (theirs.length === 0) continue;
      const mine = top.get(key) ?? { v: {}, o: kid(file.value.o, key) };
      const merged = new Map(entries(mine));
      for (const [name, t] of theirs) {
        const prior = merged.get(name);
        if (prior === undefined) merged.set(name, t);
        else if (canonicalJSON(prior.v) !== canonicalJSON(t.v)) {
          issues.push({
            src: file.src,
            at: entry.at,
            message: `\`${key}.${name}\` is defined both by this file and by ${ctx.sources.display(t.o.src)}, which it includes`,
            hint: 'Define each service (network, volume, secret, config) in one file; to change an included one, extend it (extends: {file, service}) under another name.',
          });
        }
      }
      top.set(key, trackedMap(mine.o, merged));
    }
  }
  return trackedMap(file.value.o, top);
}
