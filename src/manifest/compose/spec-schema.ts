// The Compose Specification's own JSON Schema: what is valid compose, as the reference loader
// (compose-go) defines it.
//
// Design: ckpt validates a manifest twice. The spec's schema (schema/compose-spec.json, compose-go
// 2.4.8's, installed unchanged by scripts/compose-schema.sh from Debian's package of compose-go;
// its sha256 is pinned in schema/compose-spec.pin) says whether the file is compose at all. ckpt's
// own schema (schema/ckpt-manifest.schema.json) covers the keys ckpt interprets, with messages
// that say what to do, and x-ckpt. A key the spec knows and ckpt's schema does not is not an
// error: it goes to the key table (compose/keys.ts), which honours, warns or refuses it. A key
// neither knows is an unknown key, reported with ckpt's "did you mean".
import { readFileSync } from 'node:fs';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import { CkptError } from '../../errors.js';

/** ../../../schema from both src/manifest/compose and dist/manifest/compose. */
export const COMPOSE_SCHEMA_URL = new URL('../../../schema/compose-spec.json', import.meta.url);

let validatorCache: ValidateFunction | undefined;
let schemaCache: Record<string, unknown> | undefined;

export function composeSchema(): Record<string, unknown> {
  if (!schemaCache) {
    let text: string;
    try {
      text = readFileSync(COMPOSE_SCHEMA_URL, 'utf8');
    } catch {
      throw new CkptError('TOOL_MISSING', `the Compose Specification schema is not installed (${COMPOSE_SCHEMA_URL.pathname})`, {
        hint: 'Install it: sudo bash scripts/compose-schema.sh (scripts/bootstrap.sh runs it).',
      });
    }
    // its $schema (draft-07 at an https address) is not one Ajv has by that name; the rules are draft-07
    const { $schema: _ignored, ...rest } = JSON.parse(text) as Record<string, unknown>;
    schemaCache = rest;
  }
  return schemaCache;
}

function validator(): ValidateFunction {
  if (!validatorCache) {
    const Ajv = AjvModule.default;
    // not strict: the spec's file uses keywords Ajv's strict mode rejects (its own `format`s, `id`)
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, allowUnionTypes: true, validateFormats: false });
    validatorCache = ajv.compile(composeSchema());
  }
  return validatorCache;
}

/** The spec's errors for `value` (after interpolation, as compose-go validates). */
export function composeSpecErrors(value: unknown): ErrorObject[] {
  const v = validator();
  return v(value) ? [] : [...(v.errors ?? [])];
}

/** The keys the spec allows at the top level, and in a service. */
export function specKeys(): { top: string[]; service: string[] } {
  const s = composeSchema() as { properties: Record<string, unknown>; definitions: { service: { properties: Record<string, unknown> } } };
  return { top: Object.keys(s.properties), service: Object.keys(s.definitions.service.properties) };
}
