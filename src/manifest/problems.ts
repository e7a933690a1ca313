// Problems found while loading a manifest. Every stage of the pipeline (parse, interpolate,
// validate, normalize) reports `Issue`s that name *where* by a path from the document root; the
// loader turns paths into `file:line:col` through the YAML AST once, at the end, and throws them
// all together as one CkptError. Keeping positions out of the stages keeps them pure and testable.

import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';
import { CkptError } from '../errors.js';
import { editDistance } from '../util/edit-distance.js';

export type PathSegment = string | number;
export type Path = readonly PathSegment[];

export interface Issue {
  /** the node the issue is about, as a path from the document root */
  at: Path;
  /** point at the key of `at` rather than its value (unknown keys, missing keys) */
  key?: boolean;
  /** the path printed in the message; defaults to `at` */
  path?: Path;
  /** what is wrong, and where useful what to do */
  message: string;
  /** a general hint, gathered into the error's hint (deduplicated) */
  hint?: string;
  /** a position already known (YAML syntax errors), used instead of `at` */
  pos?: Position;
  /** the position is in another file (the .env file), printed under this name */
  file?: string;
  /** the problem concerns the whole file: printed as `file: message` */
  fileLevel?: boolean;
  /**
   * `at` is a path in this source file (an index of SourceMap.files), not in the merged
   * manifest: problems found in one file before the files are merged (parse, interpolation)
   */
  src?: number;
}

/** One file the manifest was read from: its name in messages and its YAML AST. */
export interface SourceFile {
  display: string;
  locator: Locator | undefined;
}

/** A path in one source file. */
export interface Origin {
  src: number;
  at: Path;
}

/**
 * Where the paths of a manifest merged from several files (-f, extends, include) were
 * written, so a problem found after the merge still names the file and line of its value.
 */
export interface SourceMap {
  files: readonly SourceFile[];
  origin(at: Path): Origin;
}

export interface Position {
  line: number;
  col: number;
}

/** `services.web.ports[0]`; keys that are not plain identifiers are quoted: `services["a b"]`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** True when `path` equals `prefix` or lies below it. */
export function isUnder(path: Path, prefix: Path): boolean {
  if (path.length < prefix.length) return false;
  return prefix.every((seg, i) => String(seg) === String(path[i]));
}

function resolveAlias(node: unknown, doc: Document): unknown {
  let n = node;
  for (let i = 0; i < 32 && isAlias(n); i++) n = n.resolve(doc);
  return n;
}

function isMergeKey(key: unknown): boolean {
  return isScalar(key) && (typeof key.value === 'symbol' || key.source === '<<');
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  if (key === null || key === undefined) return '';
  return String(key);
}

/** The pair of `map` whose key is `seg`, looking through `<<` merge keys like YAML does. */
function findPair(map: unknown, seg: string, doc: Document, depth = 0): Pair | undefined {
  const m = resolveAlias(map, doc);
  if (!isMap(m) || depth > 16) return undefined;
  for (const pair of m.items) {
    if (!isMergeKey(pair.key) && keyText(pair.key) === seg) return pair;
  }
  for (const pair of m.items) {
    if (!isMergeKey(pair.key)) continue;
    const src = resolveAlias(pair.value, doc);
    const sources = isSeq(src) ? src.items : [src];
    for (const s of sources) {
      const found = findPair(s, seg, doc, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const r = (node as Node).range;
    if (r) return r[0];
  }
  return undefined;
}

function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null && (node.source === '' || node.source === undefined);
}

/** Maps paths to line:col through the YAML AST. */
export class Locator {
  constructor(
    private readonly doc: Document | undefined,
    private readonly lineCounter: LineCounter,
  ) {}

  offsetToPosition(offset: number): Position {
    const { line, col } = this.lineCounter.linePos(offset);
    return { line, col };
  }

  /** line:col of the node at `path` (or of its key); the nearest ancestor when the path runs out. */
  locate(path: Path, key = false): Position | undefined {
    const doc = this.doc;
    if (!doc) return undefined;
    let node: unknown = doc.contents;
    let lastKey: unknown;
    let offset = rangeStart(node);
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const cur = resolveAlias(node, doc);
      let next: unknown;
      let nextKey: unknown;
      if (isMap(cur)) {
        const pair = findPair(cur, String(seg), doc);
        if (!pair) break;
        next = pair.value;
        nextKey = pair.key;
      } else if (isSeq(cur) && typeof seg === 'number') {
        next = cur.items[seg];
        nextKey = undefined;
        if (next === undefined) break;
      } else {
        break;
      }
      node = next;
      lastKey = nextKey;
      const last = i === path.length - 1;
      const keyStart = rangeStart(lastKey);
      const valueStart = isEmptyScalar(node) || node === null ? undefined : rangeStart(node);
      offset = (last && key ? keyStart ?? valueStart : valueStart ?? keyStart) ?? offset;
    }
    return offset === undefined ? undefined : this.offsetToPosition(offset);
  }
}

interface Placed {
  file: string;
  locator: Locator | undefined;
  at: Path;
  printed: Path;
  /** the source's index: files are listed in the order they were read */
  rank: number;
  /** said after the message when the value is another service's (extends) */
  note?: string;
}

/**
 * The file, AST and path an issue is about. Through a SourceMap the printed path is the one
 * in the file of origin (`services.base.ports[0]`, not the merged `services.web.ports[2]`).
 */
function place(issue: Issue, file: string, where: Locator | SourceMap | undefined): Placed {
  const printed = issue.path ?? issue.at;
  if (where === undefined || where instanceof Locator) return { file, locator: where, at: issue.at, printed, rank: 0 };
  // a problem of the whole manifest (its project name) is the first file's
  if (issue.fileLevel && issue.src === undefined) return { file, locator: undefined, at: issue.at, printed, rank: 0 };
  const o = issue.src !== undefined ? { src: issue.src, at: issue.at } : where.origin(issue.at);
  const f = where.files[o.src] ?? { display: file, locator: undefined };
  let shown = o.at;
  if (issue.src !== undefined) shown = printed;
  else if (issue.path !== undefined) {
    const up = issue.at.length - issue.path.length;
    shown = isUnder(issue.at, issue.path) && up <= o.at.length ? o.at.slice(0, o.at.length - up) : where.origin(issue.path).at;
  }
  // a value inherited through `extends` is printed where it was written; name who inherits it
  const inherited = issue.at[0] === 'services' && o.at[0] === 'services' && issue.at.length > 1 && String(issue.at[1]) !== String(o.at[1]);
  const note = inherited ? ` (inherited by ${formatPath(issue.at.slice(0, 2))} through extends)` : undefined;
  return { file: f.display, locator: f.locator, at: o.at, printed: shown, rank: o.src, ...(note ? { note } : {}) };
}

/** Render one issue as a detail line: `file:line:col: path: message`. */
export function formatIssue(
  issue: Issue,
  file: string,
  locator: Locator | SourceMap | undefined,
): { text: string; pos?: Position; group: number; file: string; rank: number } {
  const p = place(issue, file, locator);
  const printed = formatPath(p.printed);
  const message = issue.message + (p.note ?? '');
  const body = printed === '' ? message : `${printed}: ${message}`;
  const where = issue.file ?? p.file;
  if (issue.fileLevel) return { text: `${where}: ${body}`, group: 0, file: where, rank: 0 };
  const pos = issue.pos ?? (issue.file === undefined ? p.locator?.locate(p.at, issue.key ?? false) : undefined);
  if (!pos) return { text: `${where}: ${body}`, group: 0, file: where, rank: 0 };
  return { text: `${where}:${pos.line}:${pos.col}: ${body}`, pos, group: issue.file === undefined ? 1 : 2, file: where, rank: p.rank };
}

/**
 * Detail lines in a stable order: problems without a position first, then file by file (in the
 * order the files were read) by line and column (problems in other files, like .env, last);
 * ties by text. Duplicates are dropped.
 */
export function formatIssues(issues: readonly Issue[], file: string, locator: Locator | SourceMap | undefined): string[] {
  const rows = issues.map((i) => formatIssue(i, file, locator));
  rows.sort((a, b) => {
    if (a.group !== b.group) return a.group - b.group;
    if (a.rank !== b.rank) return a.rank - b.rank;
    if (a.file !== b.file) return a.file < b.file ? -1 : 1;
    const la = a.pos?.line ?? 0;
    const lb = b.pos?.line ?? 0;
    if (la !== lb) return la - lb;
    const ca = a.pos?.col ?? 0;
    const cb = b.pos?.col ?? 0;
    if (ca !== cb) return ca - cb;
    return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
  });
  const out: string[] = [];
  for (const r of rows) if (out[out.length - 1] !== r.text) out.push(r.text);
  return out;
}

export const DEFAULT_HINT =
  'Fix the problems listed above (file:line:col: where: what). The manifest format is described by schema/ckpt-manifest.schema.json.';

/** The one error a manifest that does not load throws. */
export function manifestError(issues: readonly Issue[], file: string, locator: Locator | SourceMap | undefined): CkptError {
  const details = formatIssues(issues, file, locator);
  const hints = [...new Set(issues.map((i) => i.hint).filter((h): h is string => h !== undefined))].sort();
  const n = details.length;
  return new CkptError('MANIFEST_INVALID', `${file}: ${n} problem${n === 1 ? '' : 's'}`, {
    details,
    hint: hints.length > 0 ? hints.join(' ') : DEFAULT_HINT,
  });
}

// ---------------------------------------------------------------------------------------------
// "did you mean"


/**
 * The closest candidate within edit distance 2 (1 for words of up to 4 letters, so `sctp` does
 * not suggest `tcp`), or of which the word is a prefix (or the reverse) of 3+ letters; if any.
 */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  let best: { c: string; score: number } | undefined;
  for (const c of [...candidates].sort()) {
    if (c === word) continue;
    const lc = c.toLowerCase();
    const dist = editDistance(w, lc);
    let score: number | undefined;
    const maxDist = w.length <= 4 ? 1 : 2;
    if (dist <= maxDist && dist < Math.max(w.length, lc.length)) score = dist;
    else if (w.length >= 3 && (lc.startsWith(w) || w.startsWith(lc))) score = 3;
    if (score !== undefined && (best === undefined || score < best.score)) best = { c, score };
  }
  return best?.c;
}

/** ` — did you mean \`x\`?` or the empty string. */
export function suggestion(word: string, candidates: Iterable<string>): string {
  const s = didYouMean(word, candidates);
  return s === undefined ? '' : ` — did you mean \`${s}\`?`;
}
