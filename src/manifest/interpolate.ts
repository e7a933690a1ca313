// Variable interpolation, with compose's rules, applied to every string value (never to keys):
//   $VAR  ${VAR}            the value; unset → "" and a warning
//   ${VAR:-default}         default when VAR is unset or empty    ${VAR-default}  … only when unset
//   ${VAR:?message}         error when VAR is unset or empty      ${VAR?message}  … only when unset
//   ${VAR:+alt}             alt when VAR is set and not empty     ${VAR+alt}      … when set
//   $$                      a literal $
// Defaults, alternatives and messages are interpolated themselves, so ${A:-${B:-x}} works.
// A `$` followed by anything else, or a `${` that is never closed, is an error.

import type { Issue, Path } from './problems.js';

export type Env = Readonly<Record<string, string | undefined>>;
export type Lookup = (name: string) => string | undefined;

export const ESCAPE_HINT = 'You may need to escape any $ with another $.';

export class InterpolationError extends Error {
  override name = 'InterpolationError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const BRACED = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/;

export interface StringResult {
  value: string;
  /** variables that were read but unset (each once, in order of appearance) */
  unset: string[];
}

/** ` in "the whole string"`, unless the fragment is the whole string. */
function within(whole: string, fragment: string): string {
  return whole === fragment ? '' : ` in ${JSON.stringify(whole)}`;
}

/** Index of the `}` closing a `${` whose body starts at `from`, or -1. */
function findClose(s: string, from: number): number {
  let depth = 0;
  for (let j = from; j < s.length; j++) {
    const c = s[j];
    if (c === '$' && s[j + 1] === '$') {
      j++;
    } else if (c === '$' && s[j + 1] === '{') {
      depth++;
      j++;
    } else if (c === '}') {
      if (depth === 0) return j;
      depth--;
    }
  }
  return -1;
}

function expand(s: string, lookup: Lookup, unset: string[], whole: string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const n = s[i + 1];
    if (n === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (n === '{') {
      const end = findClose(s, i + 2);
      if (end < 0) throw new InterpolationError(`unterminated "\${" in ${JSON.stringify(whole)}`, ESCAPE_HINT);
      out += braced(s.slice(i + 2, end), lookup, unset, whole);
      i = end + 1;
      continue;
    }
    const m = NAME.exec(s.slice(i + 1));
    if (!m) {
      if (n === undefined) throw new InterpolationError(`${JSON.stringify(whole)} ends with a lone "$"`, ESCAPE_HINT);
      throw new InterpolationError(
        `${JSON.stringify('$' + n)} is not a valid interpolation${within(whole, '$' + n)} — a "$" must be followed by a variable name, "{" or "$"`,
        ESCAPE_HINT,
      );
    }
    const name = m[0];
    const v = lookup(name);
    if (v === undefined) {
      if (!unset.includes(name)) unset.push(name);
    } else {
      out += v;
    }
    i += 1 + name.length;
  }
  return out;
}

function braced(body: string, lookup: Lookup, unset: string[], whole: string): string {
  const m = BRACED.exec(body);
  if (!m) {
    const ref = `\${${body}}`;
    throw new InterpolationError(
      `${JSON.stringify(ref)} is not a valid variable reference${within(whole, ref)} — write \${NAME}, \${NAME:-default}, \${NAME:?message} or \${NAME:+alternative}`,
      ESCAPE_HINT,
    );
  }
  const name = m[1]!;
  const op = m[2];
  const arg = m[3] ?? '';
  const v = lookup(name);
  const empty = v === undefined || v === '';
  switch (op) {
    case undefined:
      if (v === undefined) {
        if (!unset.includes(name)) unset.push(name);
        return '';
      }
      return v;
    case ':-':
      return empty ? expand(arg, lookup, unset, whole) : v;
    case '-':
      return v === undefined ? expand(arg, lookup, unset, whole) : v;
    case ':+':
      return empty ? '' : expand(arg, lookup, unset, whole);
    case '+':
      return v === undefined ? '' : expand(arg, lookup, unset, whole);
    case ':?':
    case '?': {
      const missing = op === ':?' ? empty : v === undefined;
      if (!missing) return v as string;
      const msg = expand(arg, lookup, [], whole);
      const state = v === undefined ? 'is not set' : 'is empty';
      throw new InterpolationError(
        `required variable ${name} ${state}${msg === '' ? '' : `: ${msg}`}`,
        `Set ${name} in the environment or in the .env file next to the manifest.`,
      );
    }
    default:
      throw new Error(`unreachable operator ${op}`);
  }
}

/** Interpolate one string. Throws InterpolationError. */
export function interpolateString(s: string, lookup: Lookup): StringResult {
  const unset: string[] = [];
  if (!s.includes('$')) return { value: s, unset };
  const value = expand(s, lookup, unset, s);
  return { value, unset };
}

export interface InterpolateResult {
  value: unknown;
  issues: Issue[];
  warnings: Issue[];
}

export function lookupIn(env: Env): Lookup {
  return (name) => (Object.prototype.hasOwnProperty.call(env, name) ? env[name] : undefined);
}

/**
 * Like compose, a string that held a variable becomes a number or a boolean where the manifest
 * wants one, so `retries: ${RETRIES:-3}` works. Patterns are paths with `*` for any key or index.
 */
const TYPE_CASTS: [string[], 'int' | 'bool'][] = [
  [['services', '*', 'healthcheck', 'retries'], 'int'],
  [['services', '*', 'healthcheck', 'disable'], 'bool'],
  [['services', '*', 'ports', '*'], 'int'],
  [['services', '*', 'ports', '*', 'target'], 'int'],
  [['services', '*', 'ports', '*', 'published'], 'int'],
  [['services', '*', 'user'], 'int'],
  [['services', '*', 'volumes', '*', 'read_only'], 'bool'],
  [['services', '*', 'depends_on', '*', 'required'], 'bool'],
  [['services', '*', 'depends_on', '*', 'restart'], 'bool'],
  [['services', '*', 'env_file', '*', 'required'], 'bool'],
];

function castFor(path: Path): 'int' | 'bool' | undefined {
  for (const [pattern, type] of TYPE_CASTS) {
    if (pattern.length === path.length && pattern.every((p, i) => p === '*' || p === String(path[i]))) return type;
  }
  return undefined;
}

/** The interpolated string as the type the manifest wants there, when it reads as one. */
function cast(value: string, path: Path): unknown {
  const type = castFor(path);
  if (type === 'int' && /^-?[0-9]+$/.test(value)) return Number(value);
  if (type === 'bool') {
    const v = value.toLowerCase();
    if (v === 'true' || v === 'yes' || v === 'on' || v === 'y') return true;
    if (v === 'false' || v === 'no' || v === 'off' || v === 'n') return false;
  }
  return value;
}

/** Interpolate every string value of a parsed manifest (keys are left alone). */
export function interpolate(value: unknown, env: Env | Lookup): InterpolateResult {
  const lookup = typeof env === 'function' ? env : lookupIn(env);
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  const walk = (v: unknown, path: Path): unknown => {
    if (typeof v === 'string') {
      try {
        const r = interpolateString(v, lookup);
        for (const name of r.unset) {
          warnings.push({ at: path, message: `the ${JSON.stringify(name)} variable is not set; using an empty string` });
        }
        return v.includes('$') ? cast(r.value, path) : r.value;
      } catch (e) {
        if (!(e instanceof InterpolationError)) throw e;
        const issue: Issue = { at: path, message: e.message };
        if (e.hint !== undefined) issue.hint = e.hint;
        issues.push(issue);
        return v;
      }
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) {
        // defineProperty: a YAML key named __proto__ must stay a plain key
        Object.defineProperty(out, k, { value: walk(item, [...path, k]), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return v;
  };
  return { value: walk(value, []), issues, warnings };
}

/** Escape a literal string so interpolation gives it back unchanged. */
export function escapeInterpolation(s: string): string {
  return s.replace(/\$/g, '$$$$');
}
