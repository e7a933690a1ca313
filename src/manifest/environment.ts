// Environment variables: the `environment:` forms of a service, and dotenv files (`.env` next to
// the manifest, and each service's `env_file`).
//
// environment:                    environment:
//   A: "1"       map form           - A=1        list form
//   B: 2         numbers, booleans  - B          "K" alone: the value comes from the
//   C:           null: from the env                          environment, or K is left out
//
// dotenv lines: `KEY=value`, `export KEY=value`, `# comments`, blank lines; values may be
// 'single quoted' (literal), "double quoted" (\n \t \" \\ escapes, may span lines) or bare (trimmed,
// ` #` starts a comment). Bare and double-quoted values are interpolated like compose does, looking
// variables up in the environment first and then in the lines above. `KEY` alone takes the
// value from the environment, or is left out.

import { InterpolationError, interpolateString, type Lookup } from './interpolate.js';

export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
}

export type EnvironmentValue = string | number | boolean | null;
export type RawEnvironment = Record<string, EnvironmentValue> | string[];

/** `K=V` → ['K', 'V']; `K` → ['K', undefined]. Throws on an empty name. */
export function splitAssignment(item: string): [string, string | undefined] {
  const eq = item.indexOf('=');
  const key = eq < 0 ? item : item.slice(0, eq);
  if (key.trim() === '') throw new EnvironmentError(`${JSON.stringify(item)} has no variable name — write "NAME=value"`);
  if (/\s/.test(key)) throw new EnvironmentError(`${JSON.stringify(key)} is not a variable name (it contains a blank)`);
  return [key, eq < 0 ? undefined : item.slice(eq + 1)];
}

export function stringifyEnvValue(v: EnvironmentValue): string | undefined {
  if (v === null) return undefined;
  return typeof v === 'string' ? v : String(v);
}

/** Resolve either form into a map; names without a value are looked up, and dropped when unset. */
export function resolveEnvironment(env: RawEnvironment | undefined, lookup: Lookup): Record<string, string> {
  const out: Record<string, string> = {};
  const set = (k: string, v: string | undefined): void => {
    const value = v ?? lookup(k);
    if (value === undefined) delete out[k];
    else Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
  };
  if (env === undefined) return out;
  if (Array.isArray(env)) {
    for (const item of env) {
      const [k, v] = splitAssignment(item);
      set(k, v);
    }
  } else {
    for (const [k, v] of Object.entries(env)) set(k, stringifyEnvValue(v));
  }
  return out;
}

export interface DotenvLineError {
  line: number;
  message: string;
}

export interface Dotenv {
  /** in file order; a value is undefined for a bare `KEY` line */
  entries: [string, string | undefined][];
  errors: DotenvLineError[];
}

const DOTENV_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function unescapeDouble(s: string): string {
  return s.replace(/\\([\s\S])/g, (_, c: string) => {
    switch (c) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case '"':
        return '"';
      case '\\':
        return '\\';
      case '$':
        return '$$'; // stays a literal $ through interpolation
      default:
        return `\\${c}`;
    }
  });
}

/** Parse a dotenv text. `lookup` is the outer environment, consulted before the file's own lines. */
export function parseDotenv(text: string, lookup: Lookup = () => undefined): Dotenv {
  const entries: [string, string | undefined][] = [];
  const errors: DotenvLineError[] = [];
  const own = new Map<string, string>();
  const combined: Lookup = (name) => lookup(name) ?? own.get(name);
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('export ') || line.startsWith('export\t')) line = line.slice(7).trimStart();
    const eq = line.indexOf('=');
    const key = (eq < 0 ? line : line.slice(0, eq)).trim();
    if (!DOTENV_KEY.test(key)) {
      errors.push({
        line: lineNo,
        message: `${JSON.stringify(key)} is not a variable name — use letters, digits and _ (not starting with a digit)`,
      });
      continue;
    }
    if (eq < 0) {
      entries.push([key, undefined]);
      continue;
    }
    let rest = line.slice(eq + 1).trimStart();
    let value: string;
    let interpolateIt = true;
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      // a quoted value may continue on the following lines
      let body = rest.slice(1);
      let close = findQuote(body, quote);
      const startLine = lineNo;
      while (close < 0 && i + 1 < lines.length) {
        i++;
        body += '\n' + lines[i]!;
        close = findQuote(body, quote);
      }
      if (close < 0) {
        errors.push({ line: startLine, message: `the value of ${key} has an unclosed ${quote === "'" ? 'single' : 'double'} quote` });
        continue;
      }
      const after = body.slice(close + 1).trim();
      if (after !== '' && !after.startsWith('#')) {
        errors.push({ line: lineNo, message: `unexpected text after the quoted value of ${key}: ${JSON.stringify(after)}` });
        continue;
      }
      rest = body.slice(0, close);
      if (quote === "'") {
        value = rest;
        interpolateIt = false;
      } else {
        value = unescapeDouble(rest);
      }
    } else {
      const hash = rest.search(/\s#/);
      value = (hash < 0 ? rest : rest.slice(0, hash)).trim();
    }
    if (interpolateIt) {
      try {
        value = interpolateString(value, combined).value;
      } catch (e) {
        if (!(e instanceof InterpolationError)) throw e;
        errors.push({ line: lineNo, message: e.message });
        continue;
      }
    }
    own.set(key, value);
    entries.push([key, value]);
  }
  return { entries, errors };
}

function findQuote(s: string, quote: string): number {
  for (let j = 0; j < s.length; j++) {
    if (quote === '"' && s[j] === '\\') {
      j++;
      continue;
    }
    if (s[j] === quote) return j;
  }
  return -1;
}

/** Entries to a map; bare keys are looked up in `lookup` and dropped when unset. Later lines win. */
export function dotenvToMap(d: Dotenv, lookup: Lookup = () => undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of d.entries) {
    const value = v ?? lookup(k);
    if (value !== undefined) Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
