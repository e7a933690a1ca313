// The loader: find the files (files.ts), read `.env`, then run the pipeline
//
//   per file: parse → interpolate → include → extends; then merge the files  (compose/model.ts)
//   validate (schema, then semantic checks) → read env_files → normalize
//
// Every stage reports Issues; if any stage found a problem, they are all thrown together as one
// CkptError('MANIFEST_INVALID') whose details are `file:line:col: path: message` lines in file
// order. Parse problems stop the pipeline (there is no data to check); the other stages all run.

import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { loadModel, readDotenvText } from './compose/model.js';
import { displayName, type ReadManifest, type ReadText } from './compose/sources.js';
import { dotenvToMap, parseDotenv } from './environment.js';
import { lookupIn, type Env, type Lookup } from './interpolate.js';
import { manifestFiles } from './files.js';
import { normalize, resolvePath } from './normalize.js';
import { formatIssues, manifestError, type Issue, type Path, type SourceMap } from './problems.js';
import { isRecord, type RawManifest } from './raw.js';
import type { Project } from './types.js';
import { validate } from './validate.js';
import { isValidProjectName } from './project-name.js';

export { isValidProjectName };
export { MANIFEST_NAMES, findManifest } from './files.js';
export type { ReadManifest, ReadText };

export interface LoadOptions {
  /**
   * the manifest files (-f, repeatable), merged in order; relative to cwd. Default: COMPOSE_FILE,
   * else the first of MANIFEST_NAMES found in cwd and its override file (files.ts)
   */
  files?: string[];
  /** one more manifest file, after `files` (the single -f of earlier callers) */
  file?: string;
  /** default: process.cwd() */
  cwd?: string;
  /** the environment for interpolation; default: process.env. Wins over the .env file. */
  env?: Record<string, string | undefined>;
  /** overrides the manifest's `name` and the directory name */
  projectName?: string;
  /** the active profiles (--profile); default: COMPOSE_PROFILES of `env`, comma-separated */
  profiles?: string[];
}

export interface LoadResult {
  project: Project;
  /** `file:line:col: path: message` lines, e.g. unset variables (compose warns about them too) */
  warnings: string[];
}

// ---------------------------------------------------------------------------------------------
// project name


/** Like compose: lowercase, keep [a-z0-9_-], drop leading `_` and `-`. */
export function normalizeProjectName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[_-]+/, '');
}


/**
 * The project name: the explicit one, else the manifest's `name`, else the manifest directory's
 * name made valid. Explicit names and `name:` must already be valid (the schema checks `name:`).
 */
export function resolveProjectName(explicit: string | undefined, fromManifest: unknown, dir: string): { name?: string; issue?: Issue } {
  if (explicit !== undefined) {
    if (isValidProjectName(explicit)) return { name: explicit };
    return {
      issue: {
        at: [],
        fileLevel: true,
        message: `the project name ${JSON.stringify(explicit)} is not valid — use lowercase letters, digits, \`-\` and \`_\`, starting with a letter or digit`,
      },
    };
  }
  if (typeof fromManifest === 'string') return isValidProjectName(fromManifest) ? { name: fromManifest } : {};
  const base = path.basename(dir);
  const derived = normalizeProjectName(base);
  if (derived !== '') return { name: derived };
  return {
    issue: {
      at: [],
      fileLevel: true,
      message: `cannot make a project name from the directory name ${JSON.stringify(base)} — set \`name:\` in the manifest`,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// env files

export const readTextSync: ReadText = (p) => {
  try {
    if (statSync(p).isDirectory()) throw Object.assign(new Error(`${p} is a directory`), { code: 'EISDIR' });
    return readFileSync(p, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
};

export interface EnvFilesResult {
  files: Map<string, Record<string, string>>;
  issues: Issue[];
}

/** Read every service's env_file (once per file), reporting missing and malformed files. */
export function readEnvFiles(
  manifest: unknown,
  dir: string,
  lookup: Lookup,
  read: ReadText = readTextSync,
  home: string = homedir(),
): EnvFilesResult {
  const files = new Map<string, Record<string, string>>();
  const issues: Issue[] = [];
  const failed = new Map<string, string>();
  if (!isRecord(manifest) || !isRecord(manifest['services'])) return { files, issues };
  const services = manifest['services'];
  for (const name of Object.keys(services).sort()) {
    const s = services[name];
    if (!isRecord(s)) continue;
    const v = s['env_file'];
    const list: { file: unknown; required: unknown; at: Path }[] = [];
    if (typeof v === 'string') list.push({ file: v, required: true, at: ['services', name, 'env_file'] });
    else if (Array.isArray(v)) {
      v.forEach((e, i) => {
        if (typeof e === 'string') list.push({ file: e, required: true, at: ['services', name, 'env_file', i] });
        else if (isRecord(e)) list.push({ file: e['path'], required: e['required'], at: ['services', name, 'env_file', i, 'path'] });
      });
    }
    for (const { file, required, at } of list) {
      if (typeof file !== 'string') continue;
      const shown = at[at.length - 1] === 'path' ? at.slice(0, -1) : at;
      const abs = resolvePath(file, dir, home);
      if (files.has(abs)) continue;
      const prior = failed.get(abs);
      if (prior !== undefined) {
        if (required !== false) issues.push({ at, path: shown, message: prior });
        continue;
      }
      let text: string | undefined;
      try {
        text = read(abs);
      } catch (e) {
        const msg = `cannot read env file ${JSON.stringify(file)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
        failed.set(abs, msg);
        issues.push({ at, path: shown, message: msg });
        continue;
      }
      if (text === undefined) {
        const msg = `env file ${JSON.stringify(file)} does not exist — create it, or write {path: ${JSON.stringify(file)}, required: false}`;
        failed.set(abs, msg);
        if (required !== false) issues.push({ at, path: shown, message: msg });
        continue;
      }
      const parsed = parseDotenv(text, lookup);
      for (const err of parsed.errors) issues.push({ at, path: shown, message: `${file}:${err.line}: ${err.message}` });
      files.set(abs, dotenvToMap(parsed, lookup));
    }
  }
  return { files, issues };
}

// ---------------------------------------------------------------------------------------------
// profiles

/**
 * Compose's profiles: a service without `profiles:` is always part of the stack, one with them
 * only when one of them is active. The others are left out before normalizing; an active service
 * that depends on one left out is an error that names the profile to activate.
 */
export function activeServices(value: unknown, profiles: readonly string[]): { value: unknown; issues: Issue[] } {
  if (!isRecord(value) || !isRecord(value['services'])) return { value, issues: [] };
  const all = value['services'];
  const on = new Set(profiles);
  const theirs = (s: unknown): string[] => (isRecord(s) && Array.isArray(s['profiles']) ? s['profiles'].map(String) : []);
  const keep = (s: unknown): boolean => theirs(s).length === 0 || on.has('*') || theirs(s).some((p) => on.has(p));
  const services = Object.fromEntries(Object.entries(all).filter(([, s]) => keep(s)));
  const issues: Issue[] = [];
  for (const [name, s] of Object.entries(services)) {
    if (!isRecord(s)) continue;
    const deps = Array.isArray(s['depends_on']) ? s['depends_on'].map(String) : isRecord(s['depends_on']) ? Object.keys(s['depends_on']) : [];
    for (const dep of deps) {
      const d = all[dep];
      if (d === undefined || keep(d)) continue;
      const optional = isRecord(s['depends_on']) && isRecord(s['depends_on'][dep]) && s['depends_on'][dep]['required'] === false;
      if (optional) continue;
      issues.push({
        at: ['services', name, 'depends_on'],
        message: `depends on \`${dep}\`, whose profiles (${theirs(d).join(', ')}) are not active — activate one: --profile ${theirs(d)[0]} (or COMPOSE_PROFILES)`,
      });
    }
  }
  if (Object.keys(services).length === 0 && Object.keys(all).length > 0) {
    issues.push({ at: ['services'], key: true, message: `no service is active: every one has \`profiles:\` and none of them is active — activate one with --profile` });
  }
  return { value: { ...value, services }, issues };
}

// ---------------------------------------------------------------------------------------------
// the pipeline

export interface CompileOptions {
  /** absolute path of the manifest (the first file: its directory is the project directory) */
  file: string;
  /** files merged over it, in order (-f a -f b, COMPOSE_FILE, the override file) */
  more?: string[];
  /** how the file is named in messages (default: its path) */
  display?: string;
  /** messages name the other files relative to it (default: the manifest's directory) */
  cwd?: string;
  /** interpolation environment (process env over .env) */
  env: Env;
  projectName?: string;
  /** the active profiles: a service with `profiles:` is part of the stack only if one is active */
  profiles?: string[];
  /** reads env_files; default: the file system */
  readFile?: ReadText;
  /** reads the manifest files; default: the file system */
  readManifest?: ReadManifest;
}

export interface CompileResult {
  project: Project | undefined;
  issues: Issue[];
  warnings: Issue[];
  /** turns the issues' paths into file:line:col (formatIssues) */
  locator: SourceMap;
}

export const readManifestSync: ReadManifest = (p) => {
  try {
    if (statSync(p).isDirectory()) throw Object.assign(new Error(`${p} is a directory`), { code: 'EISDIR' });
    return readFileSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
};

/** Run the pipeline on manifest text (and the files merged over it); problems are returned, not thrown. */
export function compileManifest(source: string | Uint8Array, opts: CompileOptions): CompileResult {
  const file = path.resolve(opts.file);
  const read = opts.readManifest ?? readManifestSync;
  return compileFiles({ ...opts, file, readManifest: (p) => (p === file ? source : read(p)) });
}

/** Run the pipeline on the manifest files, read with `readManifest`. */
export function compileFiles(opts: CompileOptions): CompileResult {
  const file = path.resolve(opts.file);
  const dir = path.dirname(file);
  const files = [file, ...(opts.more ?? []).map((f) => path.resolve(dir, f))];
  const model = loadModel({
    files,
    projectDir: dir,
    env: opts.env,
    readManifest: opts.readManifest ?? readManifestSync,
    readText: opts.readFile ?? readTextSync,
    cwd: opts.cwd ?? dir,
    display: opts.display ?? file,
  });
  const sources = model.sources;
  if (model.value === undefined) return { project: undefined, issues: sources.issues, warnings: sources.warnings, locator: sources };

  const lookup = lookupIn(opts.env);
  const notUnderFailure = (i: Issue): boolean => !sources.underFailure(sources.origin(i.at));
  const validated = validate(model.value);
  const home = opts.env['HOME'] ?? homedir();
  const active = activeServices(model.value, opts.profiles ?? []);
  const value = active.value as RawManifest;
  const envFiles = readEnvFiles(value, dir, lookup, opts.readFile, home);
  const name = resolveProjectName(opts.projectName, isRecord(value) ? value['name'] : undefined, dir);

  const issues = [
    ...sources.issues,
    ...validated.issues.filter(notUnderFailure),
    ...envFiles.issues.filter(notUnderFailure),
    ...(validated.issues.length ? [] : active.issues),
    ...(name.issue ? [name.issue] : []),
  ];
  const warnings = [...sources.warnings, ...validated.warnings];
  if (issues.length > 0 || name.name === undefined) return { project: undefined, issues, warnings, locator: sources };
  const project = normalize(value, { name: name.name, file, files, dir, env: opts.env, envFiles: envFiles.files, home });
  return { project, issues, warnings, locator: sources };
}

function definedEntries(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Load, validate and normalize a manifest; also returns warnings (unset variables, …). */
export async function loadProjectWithWarnings(opts: LoadOptions = {}): Promise<LoadResult> {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const given = [...(opts.files ?? []), ...(opts.file !== undefined ? [opts.file] : [])];
  const found = await manifestFiles(given, opts.env ?? process.env, cwd);
  const [file, ...more] = found.files as [string, ...string[]];
  const display = displayName(file, cwd);

  // .env in the project directory: defaults for interpolation; the process environment wins
  const processEnv = definedEntries(opts.env ?? process.env);
  const dir = path.dirname(file);
  const dotenvPath = path.join(dir, '.env');
  const dotenvText = readTextSync(dotenvPath);
  const dotenv = dotenvText === undefined ? { values: {}, issues: [] } : readDotenvText(dotenvText, processEnv, displayName(dotenvPath, cwd));
  const dotenvIssues = dotenv.issues;
  const env = { ...dotenv.values, ...processEnv };

  // compose's environment: COMPOSE_PROJECT_NAME after -p, COMPOSE_PROFILES when no --profile
  const projectName = opts.projectName ?? (env['COMPOSE_PROJECT_NAME'] || undefined);
  const profiles = opts.profiles?.length ? opts.profiles : (env['COMPOSE_PROFILES'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  const result = compileFiles({
    file,
    more,
    display,
    cwd,
    env,
    profiles,
    ...(projectName !== undefined ? { projectName } : {}),
  });
  const issues = [...dotenvIssues, ...result.issues];
  if (issues.length > 0 || !result.project) throw manifestError(issues, display, result.locator);
  return { project: result.project, warnings: [...found.warnings, ...formatIssues(result.warnings, display, result.locator)] };
}

/** Load, validate and normalize a manifest. Throws CkptError MANIFEST_NOT_FOUND / MANIFEST_INVALID. */
export async function loadProject(opts: LoadOptions = {}): Promise<Project> {
  return (await loadProjectWithWarnings(opts)).project;
}
