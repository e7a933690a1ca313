// The loader: find the file, read `.env`, then run the pipeline
//
//   parse → interpolate → validate (schema, then semantic checks) → read env_files → normalize
//
// Every stage reports Issues; if any stage found a problem, they are all thrown together as one
// CkptError('MANIFEST_INVALID') whose details are `file:line:col: path: message` lines in file
// order. Parse problems stop the pipeline (there is no data to check); the other stages all run.

import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { CkptError } from '../errors.js';
import { dotenvToMap, parseDotenv } from './environment.js';
import { interpolate, lookupIn, type Env, type Lookup } from './interpolate.js';
import { normalize, resolvePath } from './normalize.js';
import { parseManifest } from './parse.js';
import { formatIssues, isUnder, Locator, manifestError, type Issue, type Path } from './problems.js';
import { isRecord, type RawManifest } from './raw.js';
import type { Project } from './types.js';
import { validate } from './validate.js';
import { isValidProjectName } from './project-name.js';

export { isValidProjectName };

/** Looked for, in this order, when no file is given (compose's names after ckpt's own). */
export const MANIFEST_NAMES = [
  'ckpt.yaml',
  'ckpt.yml',
  'compose.yaml',
  'compose.yml',
  'docker-compose.yaml',
  'docker-compose.yml',
] as const;

export interface LoadOptions {
  /** the manifest; relative to cwd. Default: the first of MANIFEST_NAMES found in cwd */
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

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function findAll(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of MANIFEST_NAMES) {
    const p = path.join(dir, name);
    if (await isFile(p)) found.push(p);
  }
  return found;
}

/** The manifest in `cwd`: the first of MANIFEST_NAMES that exists, or undefined. */
export async function findManifest(cwd: string): Promise<string | undefined> {
  return (await findAll(path.resolve(cwd)))[0];
}

function notFound(dir: string): CkptError {
  return new CkptError('MANIFEST_NOT_FOUND', `no manifest found in ${dir}`, {
    hint: `Create one of ${MANIFEST_NAMES.join(', ')} there, or pass the manifest's path.`,
  });
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

/** Reads a file; undefined when it does not exist. Other errors (permissions) throw. */
export type ReadText = (absPath: string) => string | undefined;

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
  /** absolute path of the manifest */
  file: string;
  /** how the file is named in messages (default: its path) */
  display?: string;
  /** interpolation environment (process env over .env) */
  env: Env;
  projectName?: string;
  /** the active profiles: a service with `profiles:` is part of the stack only if one is active */
  profiles?: string[];
  /** reads env_files; default: the file system */
  readFile?: ReadText;
}

export interface CompileResult {
  project: Project | undefined;
  issues: Issue[];
  warnings: Issue[];
  locator: Locator;
}

/** Run the pipeline on manifest text; problems are returned, not thrown. */
export function compileManifest(source: string | Uint8Array, opts: CompileOptions): CompileResult {
  const file = path.resolve(opts.file);
  const dir = path.dirname(file);
  const parsed = parseManifest(source);
  if (parsed.issues.length > 0) return { project: undefined, issues: parsed.issues, warnings: [], locator: parsed.locator };

  const lookup = lookupIn(opts.env);
  const interpolated = interpolate(parsed.value, lookup);
  const failedPaths = interpolated.issues.map((i) => i.at);
  const notUnderFailure = (i: Issue): boolean => !failedPaths.some((p) => isUnder(i.at, p));

  const validated = validate(interpolated.value);
  const home = opts.env['HOME'] ?? homedir();
  const active = activeServices(interpolated.value, opts.profiles ?? []);
  const value = active.value as RawManifest;
  const envFiles = readEnvFiles(value, dir, lookup, opts.readFile, home);
  const name = resolveProjectName(opts.projectName, isRecord(value) ? value['name'] : undefined, dir);

  const issues = [
    ...interpolated.issues,
    ...validated.issues.filter(notUnderFailure),
    ...envFiles.issues.filter(notUnderFailure),
    ...(validated.issues.length ? [] : active.issues),
    ...(name.issue ? [name.issue] : []),
  ];
  const warnings = [...parsed.warnings, ...interpolated.warnings, ...validated.warnings];
  if (issues.length > 0 || name.name === undefined) return { project: undefined, issues, warnings, locator: parsed.locator };
  const project = normalize(value, { name: name.name, file, dir, env: opts.env, envFiles: envFiles.files, home });
  return { project, issues, warnings, locator: parsed.locator };
}

function displayName(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

function definedEntries(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Load, validate and normalize a manifest; also returns warnings (unset variables, …). */
export async function loadProjectWithWarnings(opts: LoadOptions = {}): Promise<LoadResult> {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  let file: string;
  const extraWarnings: string[] = [];
  const pick = async (dir: string): Promise<string> => {
    const all = await findAll(dir);
    if (all.length === 0) throw notFound(dir);
    if (all.length > 1) {
      const names = all.map((f) => path.basename(f));
      extraWarnings.push(`found several manifests in ${displayName(dir, cwd) || dir} (${names.join(', ')}); using ${names[0]}`);
    }
    return all[0]!;
  };
  const composeFile = (opts.env ?? process.env)['COMPOSE_FILE'];
  const requested = opts.file ?? (composeFile ? composeFile : undefined);
  if (requested !== undefined && opts.file === undefined) {
    const files = requested.split(':').filter(Boolean);
    if (files.length > 1) {
      throw new CkptError('MANIFEST_INVALID', `COMPOSE_FILE names ${files.length} files (${files.join(', ')}); ckpt does not merge several compose files yet`, {
        hint: 'Merge them into one file (docker compose config > merged.yaml prints the merge), and name that one.',
      });
    }
  }
  if (requested === undefined) {
    file = await pick(cwd);
    // compose applies compose.override.yaml beside the file it finds; ckpt would not: say so
    for (const o of ['compose.override.yaml', 'compose.override.yml', 'docker-compose.override.yaml', 'docker-compose.override.yml']) {
      if (await isFile(path.join(path.dirname(file), o))) {
        extraWarnings.push(`${displayName(path.join(path.dirname(file), o), cwd)} is not applied: ckpt does not merge override files yet; merge it into ${path.basename(file)} (docker compose config prints the merge)`);
      }
    }
  } else {
    file = path.resolve(cwd, requested);
    const st = await stat(file).catch((e: NodeJS.ErrnoException) => e);
    if (st instanceof Error) {
      if (st.code === 'ENOENT') {
        throw new CkptError('MANIFEST_NOT_FOUND', `${displayName(file, cwd)}: no such file`, {
          hint: `Check the path, or leave it out to use the first of ${MANIFEST_NAMES.join(', ')} in the current directory.`,
        });
      }
      throw new CkptError('MANIFEST_NOT_FOUND', `${displayName(file, cwd)}: cannot read it (${st.code ?? st.message})`, {
        hint: 'Check the file permissions.',
      });
    }
    if (st.isDirectory()) file = await pick(file);
  }
  const display = displayName(file, cwd);
  let source: Uint8Array;
  try {
    source = await readFile(file);
  } catch (e) {
    throw new CkptError('MANIFEST_NOT_FOUND', `${display}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`, {
      hint: 'Check the file permissions.',
      cause: e,
    });
  }

  // .env next to the manifest: defaults for interpolation; the process environment wins
  const processEnv = definedEntries(opts.env ?? process.env);
  const dir = path.dirname(file);
  const dotenvPath = path.join(dir, '.env');
  const dotenvIssues: Issue[] = [];
  let dotenv: Record<string, string> = {};
  const dotenvText = (await isFile(dotenvPath)) ? await readFile(dotenvPath, 'utf8') : undefined;
  if (dotenvText !== undefined) {
    const parsed = parseDotenv(dotenvText, lookupIn(processEnv));
    const shown = displayName(dotenvPath, cwd);
    for (const err of parsed.errors) {
      dotenvIssues.push({ at: [], file: shown, pos: { line: err.line, col: 1 }, message: err.message });
    }
    dotenv = dotenvToMap(parsed, lookupIn(processEnv));
  }
  const env = { ...dotenv, ...processEnv };

  // compose's environment: COMPOSE_PROJECT_NAME after -p, COMPOSE_PROFILES when no --profile
  const projectName = opts.projectName ?? (env['COMPOSE_PROJECT_NAME'] || undefined);
  const profiles = opts.profiles?.length ? opts.profiles : (env['COMPOSE_PROFILES'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  const result = compileManifest(source, {
    file,
    display,
    env,
    profiles,
    ...(projectName !== undefined ? { projectName } : {}),
  });
  const issues = [...dotenvIssues, ...result.issues];
  if (issues.length > 0 || !result.project) throw manifestError(issues, display, result.locator);
  return { project: result.project, warnings: [...extraWarnings, ...formatIssues(result.warnings, display, result.locator)] };
}

/** Load, validate and normalize a manifest. Throws CkptError MANIFEST_NOT_FOUND / MANIFEST_INVALID. */
export async function loadProject(opts: LoadOptions = {}): Promise<Project> {
  return (await loadProjectWithWarnings(opts)).project;
}
