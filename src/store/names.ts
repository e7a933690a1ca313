// Names in the store end up as path components, so they are checked before any path is built:
// a set name is like a docker tag, a service name like a compose service name.
import { CkptError } from '../errors.js';
import { editDistance } from '../util/edit-distance.js';

/** docker-tag-like: starts with a letter or digit, at most 128 characters */
export const SET_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
/** compose-like service names; the set manifest's file name is reserved */
export const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
/**
 * a data tree's name in a set: a volume's name, or '@' and a name for what no volume can be
 * called (an anonymous volume, a captured bind), so the two never meet
 */
export const DATA_NAME = /^@?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
/** the file in a set directory that describes it (beside one directory per service) */
export const MANIFEST_FILE = 'set.json';

export function isSetName(name: string): boolean {
  return SET_NAME.test(name);
}

export function checkSetName(name: string): void {
  if (isSetName(name)) return;
  const why =
    name === ''
      ? 'it is empty'
      : name.length > 128
        ? `it is ${name.length} characters long (at most 128)`
        : /^[^a-zA-Z0-9]/.test(name)
          ? 'it must start with a letter or a digit'
          : 'it may contain only letters, digits, "_", "." and "-"';
  throw new CkptError('USAGE', `invalid set name ${JSON.stringify(name)}: ${why}`, {
    hint: 'Name sets like docker tags, e.g. "before-migration" or "v1.2_seeded".',
  });
}

export function checkServiceName(name: string): void {
  if (SERVICE_NAME.test(name) && name !== MANIFEST_FILE) return;
  throw new CkptError('USAGE', `invalid service name ${JSON.stringify(name)} for a checkpoint set`, {
    hint: `Service names start with a letter or digit and contain only letters, digits, "_", "." and "-" (and are not "${MANIFEST_FILE}").`,
  });
}


/** The candidates close to `name` (typos, different case, a prefix of a longer name), best first. */
export function similarNames(name: string, candidates: string[], max = 3): string[] {
  const lower = name.toLowerCase();
  const limit = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  return candidates
    .map((c) => {
      const cl = c.toLowerCase();
      let score = editDistance(lower, cl);
      if (score > limit && lower.length >= 3 && (cl.startsWith(lower) || lower.startsWith(cl))) score = limit;
      return { c, score };
    })
    .filter((x) => x.score <= limit)
    .sort((x, y) => x.score - y.score || x.c.localeCompare(y.c))
    .slice(0, max)
    .map((x) => x.c);
}
