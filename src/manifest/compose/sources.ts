// The files a manifest is read from. Compose reads each file on its own — parse, then
// interpolate with the project's environment — and merges the results (13-merge.md); so does
// this: `Sources.load` runs the per-file stages once per file and records the file (its name
// in messages and its YAML AST), and problems found there carry the file's index (`src`).
// After the merge, `root` holds the origins of the merged value, which makes this the
// SourceMap that turns a merged path back into `file:line:col`.
import path from 'node:path';
import { interpolate, lookupIn, type Env } from '../interpolate.js';
import { leaf, originAt, type OriginNode, type Tracked } from '../origins.js';
import { parseManifest, type MergeTag } from '../parse.js';
import type { Issue, Locator, Origin, Path, SourceFile, SourceMap } from '../problems.js';
import { isUnder } from '../problems.js';
import { withoutPath } from './merge.js';

/** Reads a text file; undefined when it does not exist. Other errors (permissions) throw. */
export type ReadText = (absPath: string) => string | undefined;

/** Reads a manifest file; undefined when it does not exist. Other errors (permissions) throw. */
export type ReadManifest = (absPath: string) => string | Uint8Array | undefined;

/** `file` relative to `cwd` when it is below it, else absolute. */
export function displayName(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** One file, parsed and interpolated. */
export interface Loaded {
  src: number;
  /** absolute path */
  file: string;
  /** relative paths written in it are relative to this directory (the project's, for -f files) */
  base: string;
  env: Env;
  value: Tracked;
  /** where it says `!reset` or `!override`: those places of earlier files are dropped before the merge */
  tagged: { path: Path; tag: MergeTag }[];
}

export type LoadOutcome = Loaded | { missing: true } | { unreadable: string } | { invalid: true };

export class Sources implements SourceMap {
  readonly files: (SourceFile & { file: string })[] = [];
  readonly issues: Issue[] = [];
  readonly warnings: Issue[] = [];
  /** places whose interpolation failed: what validation finds below them is left out */
  readonly failed: Origin[] = [];
  /** the origins of the merged manifest */
  root: OriginNode | undefined;
  private readonly cache = new Map<string, LoadOutcome>();

  constructor(
    private readonly read: ReadManifest,
    private readonly cwd: string,
    private readonly firstDisplay?: string,
  ) {}

  origin(at: Path): Origin {
    return this.root ? originAt(this.root, at) : { src: 0, at };
  }

  display(src: number): string {
    return this.files[src]?.display ?? '?';
  }

  /** True when `o` lies below a place whose interpolation failed. */
  underFailure(o: Origin): boolean {
    return this.failed.some((f) => f.src === o.src && isUnder(o.at, f.at));
  }

  /** Read, parse and interpolate one file (once per file, base directory and environment). */
  load(file: string, base: string, env: Env): LoadOutcome {
    const key = `${file}\0${base}\0${JSON.stringify(env)}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const outcome = this.loadUncached(file, base, env);
    this.cache.set(key, outcome);
    return outcome;
  }

  private loadUncached(file: string, base: string, env: Env): LoadOutcome {
    let source: string | Uint8Array | undefined;
    try {
      source = this.read(file);
    } catch (e) {
      return { unreadable: (e as NodeJS.ErrnoException).code ?? String(e) };
    }
    if (source === undefined) return { missing: true };
    const src = this.files.length;
    const parsed = parseManifest(source);
    const display = src === 0 && this.firstDisplay !== undefined ? this.firstDisplay : displayName(file, this.cwd);
    this.files.push({ display, locator: parsed.locator as Locator, file });
    const tag = (i: Issue): Issue => ({ ...i, src });
    this.warnings.push(...parsed.warnings.map(tag));
    if (parsed.issues.length > 0) {
      this.issues.push(...parsed.issues.map(tag));
      return { invalid: true };
    }
    const interpolated = interpolate(parsed.value, lookupIn(env));
    this.issues.push(...interpolated.issues.map(tag));
    this.warnings.push(...interpolated.warnings.map(tag));
    this.failed.push(...interpolated.issues.map((i) => ({ src, at: i.at })));
    // `!reset` takes the value out of this file too; later places first, so list indexes hold
    let value: Tracked = { v: interpolated.value, o: leaf(src) };
    for (const t of [...parsed.tagged].reverse()) if (t.tag === '!reset') value = withoutPath(value, t.path);
    return { src, file, base, env, value, tagged: parsed.tagged };
  }
}
