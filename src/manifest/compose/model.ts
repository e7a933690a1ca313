// The Compose model of a list of files, before validation: each file is read on its own
// (sources.ts: parse, interpolate), its `include`s added (include.ts) and its services'
// `extends` resolved (extends.ts), then the files are merged in order (merge.ts), with the
// places `!reset` / `!override` name dropped from the earlier ones first. compose-go's loader
// (loader.go loadYamlFile) runs the same steps in the same order.
import type { Env } from '../interpolate.js';
import { dotenvToMap, parseDotenv } from '../environment.js';
import { lookupIn } from '../interpolate.js';
import type { Tracked } from '../origins.js';
import type { Issue } from '../problems.js';
import { applyExtends } from './extends.js';
import { applyInclude, type IncludeContext, type IncludeEntry } from './include.js';
import { Merger, withoutPath } from './merge.js';
import { absoluteModelPaths } from './paths.js';
import { displayName, Sources, type Loaded, type LoadOutcome, type ReadManifest, type ReadText } from './sources.js';

export interface ModelOptions {
  /** absolute paths, in merge order; the first one's directory is the project directory */
  files: string[];
  projectDir: string;
  env: Env;
  readManifest: ReadManifest;
  readText: ReadText;
  /** messages name files relative to it */
  cwd: string;
  /** how the first file is named in messages */
  display?: string;
}

export interface Model {
  sources: Sources;
  /** the merged manifest; undefined when a file could not be parsed */
  value: unknown;
}

/** A dotenv file's variables, its problems reported under its own name and line numbers. */
export function readDotenvText(text: string, env: Env, shown: string): { values: Record<string, string>; issues: Issue[] } {
  const parsed = parseDotenv(text, lookupIn(env));
  const issues = parsed.errors.map((err): Issue => ({ at: [], file: shown, pos: { line: err.line, col: 1 }, message: err.message }));
  return { values: dotenvToMap(parsed, lookupIn(env)), issues };
}

export function loadModel(opts: ModelOptions): Model {
  const sources = new Sources(opts.readManifest, opts.cwd, opts.display);
  const merger = new Merger((src) => sources.display(src));
  let parsedAll = true;

  const notLoaded = (file: string, got: LoadOutcome, report: (message: string) => void): void => {
    if ('invalid' in got) parsedAll = false;
    else if ('missing' in got) report(`${displayName(file, opts.cwd)} does not exist`);
    else if ('unreadable' in got) report(`${displayName(file, opts.cwd)} cannot be read (${got.unreadable})`);
  };

  const includes: IncludeContext = {
    sources,
    envOf(entry: IncludeEntry, env: Env, from: Loaded): Env {
      const values: Record<string, string> = {};
      entry.envFiles.forEach(({ file, required }, i) => {
        const text = opts.readText(file);
        if (text === undefined) {
          if (required) sources.issues.push({ src: from.src, at: [...entry.at, 'env_file'], message: `env file ${displayName(file, opts.cwd)} (entry ${i}) does not exist` });
          return;
        }
        const got = readDotenvText(text, env, displayName(file, opts.cwd));
        sources.issues.push(...got.issues);
        Object.assign(values, got.values);
      });
      return { ...values, ...env };
    },
    model(entry, env, chain, from) {
      const report = (message: string): void => void sources.issues.push({ src: from.src, at: entry.at, message });
      const t = files(entry.files, entry.projectDir, env, chain, report);
      return t && { v: absoluteModelPaths(t.v, entry.projectDir), o: t.o };
    },
  };

  function files(list: string[], base: string, env: Env, chain: readonly string[], report: (message: string) => void): Tracked | undefined {
    let acc: Tracked | undefined;
    for (const file of list) {
      const got = sources.load(file, base, env);
      if (!('src' in got)) {
        notLoaded(file, got, report);
        continue;
      }
      const included: Loaded = { ...got, value: applyInclude(includes, got, chain) };
      const next = applyExtends({ sources, merger }, included);
      if (acc === undefined) acc = next;
      else {
        for (const t of got.tagged) acc = withoutPath(acc, t.path);
        acc = merger.merge([], acc, next);
      }
    }
    return acc;
  }

  const top = files(opts.files, opts.projectDir, opts.env, [], (message) => sources.issues.push({ at: [], fileLevel: true, message }));
  sources.issues.push(...merger.issues);
  if (!top || !parsedAll) return { sources, value: undefined };
  sources.root = top.o;
  return { sources, value: top.v };
}
