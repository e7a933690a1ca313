// Parsing: bytes → YAML document → plain JS value. YAML 1.2 core schema (so `no` is a string, as
// in compose), merge keys (`<<: *anchor`) on, duplicate keys are errors. A file that is not text,
// is empty, or whose top level is not a mapping gives one clear problem and nothing else.

import { LineCounter, YAMLMap, YAMLSeq, isMap, isPair, isScalar, isSeq, parseDocument, visit, type CollectionTag, type Document, type ScalarTag } from 'yaml';
import { Locator, type Issue, type Path, type PathSegment } from './problems.js';


/**
 * `mode: 0440` is octal in compose: its YAML reader (go-yaml) reads integers with Go's base-0
 * rule, so a leading 0 means octal, where YAML 1.2's core schema would read 440. Only plain
 * integers of octal digits after a 0 are read this way; `0o440` and quoted strings are unchanged.
 */
const LEADING_ZERO_OCTAL = {
  identify: (v: unknown) => typeof v === 'number',
  default: true,
  tag: 'tag:yaml.org,2002:int',
  format: 'OCT',
  test: /^0[0-7]+$/,
  resolve: (s: string) => parseInt(s, 8),
};

/**
 * The Compose Specification's merge tags (13-merge.md): `!reset` removes what earlier files set
 * at that place, `!override` replaces it instead of merging. Read here as plain values; their
 * places are listed in `tagged` for the merge (compose/merge.ts).
 */
export const MERGE_TAGS = ['!reset', '!override'] as const;
export type MergeTag = (typeof MERGE_TAGS)[number];
const MERGE_TAG_DEFS = MERGE_TAGS.flatMap((tag): (ScalarTag | CollectionTag)[] => [
  { tag, resolve: (s: string) => s },
  { tag, collection: 'map', nodeClass: YAMLMap, resolve: (m) => m },
  { tag, collection: 'seq', nodeClass: YAMLSeq, resolve: (s) => s },
]);

/** The paths of the nodes tagged `!reset` / `!override`, in document order. */
function taggedPaths(doc: Document.Parsed): { path: Path; tag: MergeTag }[] {
  const out: { path: Path; tag: MergeTag }[] = [];
  visit(doc, {
    Node(_, node, ancestors) {
      const tag = node.tag;
      if (tag !== '!reset' && tag !== '!override') return;
      const path: PathSegment[] = [];
      let parent: unknown = doc.contents;
      for (const a of [...ancestors.slice(1), node]) {
        if (isPair(a)) path.push(isScalar(a.key) ? String(a.key.value) : String(a.key));
        else if (isSeq(parent) && a !== doc.contents) path.push(parent.items.indexOf(a as never));
        if (!isPair(a)) parent = a;
      }
      out.push({ path, tag });
    },
  });
  return out;
}

export interface ParsedManifest {
  /** the YAML document, when the file parsed */
  doc: Document.Parsed | undefined;
  lineCounter: LineCounter;
  locator: Locator;
  /** the document as plain data (undefined when `issues` is not empty) */
  value: unknown;
  issues: Issue[];
  warnings: Issue[];
  /** the places tagged `!reset` or `!override` */
  tagged: { path: Path; tag: MergeTag }[];
}

const NEEDS = 'a manifest is a YAML mapping with a `services` key';

function describe(node: unknown): string {
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
    return `the ${typeof v} ${String(v)}`;
  }
  return 'something else';
}

/** Decode bytes as UTF-8 text; undefined when they are not text. */
function decode(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function fail(lineCounter: LineCounter, issues: Issue[], doc?: Document.Parsed): ParsedManifest {
  return { doc, lineCounter, locator: new Locator(doc, lineCounter), value: undefined, issues, warnings: [], tagged: [] };
}

/** Parse manifest text (or bytes, checked to be UTF-8 text first). */
export function parseManifest(source: string | Uint8Array): ParsedManifest {
  const lineCounter = new LineCounter();
  let text: string;
  if (typeof source === 'string') {
    text = source;
  } else {
    const decoded = decode(source);
    if (decoded === undefined) {
      return fail(lineCounter, [{ at: [], fileLevel: true, message: `is not a text file (it contains binary data) — ${NEEDS}` }]);
    }
    text = decoded;
  }
  text = text.replace(/^\uFEFF/, '');
  if (text.trim() === '') {
    return fail(lineCounter, [{ at: [], fileLevel: true, message: `is empty — ${NEEDS}` }]);
  }

  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true, customTags: (tags) => [LEADING_ZERO_OCTAL, ...MERGE_TAG_DEFS, ...tags] });
  const locator = new Locator(doc, lineCounter);
  if (doc.errors.length > 0) {
    const issues: Issue[] = doc.errors.map((e) => ({
      at: [],
      pos: locator.offsetToPosition(syntaxErrorOffset(doc, e.code, e.pos[0])),
      message: syntaxMessage(doc, text, e.code, e.message, e.pos[0]),
    }));
    return fail(lineCounter, issues, doc);
  }
  const warnings: Issue[] = doc.warnings.map((w) => ({
    at: [],
    pos: locator.offsetToPosition(w.pos[0]),
    message: `YAML: ${w.message}`,
  }));

  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) {
    return fail(lineCounter, [{ at: [], fileLevel: true, message: `has no content (only comments or null) — ${NEEDS}` }], doc);
  }
  if (!isMap(root)) {
    return fail(lineCounter, [{ at: [], message: `the top level is ${describe(root)}, not a mapping — ${NEEDS}` }], doc);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return fail(lineCounter, [{ at: [], fileLevel: true, message: `cannot be read as data: ${msg}` }], doc);
  }
  return { doc, lineCounter, locator, value, issues: [], warnings, tagged: taggedPaths(doc) };
}

/** A missing closing quote is reported by yaml at the end of the file; point at the opening one. */
function syntaxErrorOffset(doc: Document.Parsed, code: string, offset: number): number {
  if (code !== 'MISSING_CHAR') return offset;
  let best: number | undefined;
  visit(doc, {
    Scalar(_, node) {
      if ((node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') && node.range && node.range[1] >= offset) {
        if (best === undefined || node.range[0] < best) best = node.range[0];
      }
    },
  });
  return best ?? offset;
}

function syntaxMessage(doc: Document.Parsed, text: string, code: string, message: string, offset: number): string {
  switch (code) {
    case 'DUPLICATE_KEY': {
      let name: string | undefined;
      visit(doc, {
        Pair(_, pair) {
          const k = pair.key;
          if (isScalar(k) && k.range && k.range[0] === offset) name = String(k.value);
        },
      });
      return `duplicate key${name === undefined ? '' : ` \`${name}\``} — a key may appear only once in a mapping`;
    }
    case 'TAB_AS_INDENT':
      return 'YAML syntax: a tab is used for indentation — indent with spaces';
    case 'MISSING_CHAR':
      if (/quote/i.test(message)) {
        const q = text[syntaxErrorOffset(doc, code, offset)] === "'" ? "'" : '"';
        return `YAML syntax: this quoted string is never closed — add the closing ${q}`;
      }
      return `YAML syntax: ${message}`;
    case 'MULTIPLE_DOCS':
      return 'YAML syntax: the file holds several documents (---); a manifest is one document';
    default:
      return `YAML syntax: ${message}`;
  }
}
