// Project names, kept apart from the loader so that commands which never read a manifest (ps,
// checkpoint, restore of a set) do not load the YAML parser and the schema validator with it.

/** compose's rule: lowercase letters, digits, dashes and underscores, starting with a letter or digit */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

export function isValidProjectName(s: string): boolean {
  return PROJECT_NAME.test(s);
}
