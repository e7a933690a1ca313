// Which files make the manifest, by compose's rules (compose-go cli/options.go):
//   -f FILE, repeatable, in order; else COMPOSE_FILE, a list split at COMPOSE_PATH_SEPARATOR
//   (default `:`); both relative to the current directory. Else the first of MANIFEST_NAMES in
//   the current directory, and beside it its override file, merged over it: for a compose name
//   the first of compose.override.yml/.yaml, docker-compose.override.yml/.yaml (compose's
//   order); for ckpt's own ckpt.yaml/.yml, ckpt.override.yaml/.yml (ckpt's convention, the same
//   idea). A directory given as a file is searched the same way.
// The first file's directory is the project directory: relative paths of every -f file and
// its `.env` are read there, as compose does.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { CkptError } from '../errors.js';
import { displayName } from './compose/sources.js';

/** Looked for, in this order, when no file is given (compose's names after ckpt's own). */
export const MANIFEST_NAMES = [
  'ckpt.yaml',
  'ckpt.yml',
  'compose.yaml',
  'compose.yml',
  'docker-compose.yaml',
  'docker-compose.yml',
] as const;

export const COMPOSE_OVERRIDE_NAMES = ['compose.override.yml', 'compose.override.yaml', 'docker-compose.override.yml', 'docker-compose.override.yaml'] as const;
export const CKPT_OVERRIDE_NAMES = ['ckpt.override.yaml', 'ckpt.override.yml'] as const;

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function existing(dir: string, names: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const name of names) if (await isFile(path.join(dir, name))) found.push(path.join(dir, name));
  return found;
}

/** The manifest in `cwd`: the first of MANIFEST_NAMES that exists, or undefined. */
export async function findManifest(cwd: string): Promise<string | undefined> {
  return (await existing(path.resolve(cwd), MANIFEST_NAMES))[0];
}

export interface ManifestFiles {
  /** absolute paths, in merge order */
  files: string[];
  warnings: string[];
}

/** The manifest found in `dir` and its override file, with warnings about files left out. */
async function discover(dir: string, cwd: string, warnings: string[]): Promise<string[]> {
  const all = await existing(dir, MANIFEST_NAMES);
  if (all.length === 0) {
    throw new CkptError('MANIFEST_NOT_FOUND', `no manifest found in ${dir}`, {
      hint: `Create one of ${MANIFEST_NAMES.join(', ')} there, or pass the manifest's path.`,
    });
  }
  const names = all.map((f) => path.basename(f));
  if (all.length > 1) warnings.push(`found several manifests in ${displayName(dir, cwd) || dir} (${names.join(', ')}); using ${names[0]}`);
  const main = all[0]!;
  const ckpt = names[0]!.startsWith('ckpt.');
  const overrides = await existing(dir, ckpt ? CKPT_OVERRIDE_NAMES : COMPOSE_OVERRIDE_NAMES);
  if (overrides.length > 1) warnings.push(`found several override files in ${displayName(dir, cwd) || dir} (${overrides.map((f) => path.basename(f)).join(', ')}); using ${path.basename(overrides[0]!)}`);
  if (ckpt) {
    for (const o of await existing(dir, COMPOSE_OVERRIDE_NAMES)) {
      warnings.push(`${displayName(o, cwd)} is not applied: it overrides a compose file, and the manifest is ${names[0]} (name ckpt's override ckpt.override.yaml, or give both with -f)`);
    }
  }
  return overrides.length > 0 ? [main, overrides[0]!] : [main];
}

async function checkFile(file: string, cwd: string): Promise<'file' | 'dir'> {
  const st = await stat(file).catch((e: NodeJS.ErrnoException) => e);
  if (!(st instanceof Error)) return st.isDirectory() ? 'dir' : 'file';
  if (st.code === 'ENOENT') {
    throw new CkptError('MANIFEST_NOT_FOUND', `${displayName(file, cwd)}: no such file`, {
      hint: `Check the path, or leave it out to use the first of ${MANIFEST_NAMES.join(', ')} in the current directory.`,
    });
  }
  throw new CkptError('MANIFEST_NOT_FOUND', `${displayName(file, cwd)}: cannot read it (${st.code ?? st.message})`, { hint: 'Check the file permissions.' });
}

/** The files of the manifest: `given` (-f), else COMPOSE_FILE of `env`, else found in `cwd`. */
export async function manifestFiles(given: readonly string[], env: Readonly<Record<string, string | undefined>>, cwd: string): Promise<ManifestFiles> {
  const warnings: string[] = [];
  const fromEnv = env['COMPOSE_FILE'] ? env['COMPOSE_FILE'].split(env['COMPOSE_PATH_SEPARATOR'] || ':').filter(Boolean) : [];
  const requested = given.length > 0 ? given : fromEnv;
  if (requested.length === 0) return { files: await discover(cwd, cwd, warnings), warnings };
  const files: string[] = [];
  for (const r of requested) {
    const file = path.resolve(cwd, r);
    // a directory stands for the manifest found in it (and its override)
    if ((await checkFile(file, cwd)) === 'dir') files.push(...(await discover(file, cwd, warnings)));
    else files.push(file);
  }
  return { files, warnings };
}
