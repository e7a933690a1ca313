// The manifest loader: a compose-compatible YAML file → the normalized `Project`.
//
//   parse → interpolate → validate (JSON Schema + semantic checks) → normalize → Project
//
// Every problem of a manifest is collected and thrown together as one
// CkptError('MANIFEST_INVALID') whose `details` are `file:line:col: path: what` lines.

export type * from './types.js';
export {
  MANIFEST_NAMES,
  compileManifest,
  findManifest,
  loadProject,
  loadProjectWithWarnings,
  normalizeProjectName,
  readEnvFiles,
  resolveProjectName,
  type CompileOptions,
  type CompileResult,
  type LoadOptions,
  type LoadResult,
} from './load.js';
export { parseManifest, type ParsedManifest } from './parse.js';
export { interpolate, interpolateString, InterpolationError, escapeInterpolation, type Env, type Lookup } from './interpolate.js';
export { validate, validateSchema, checkSemantics, manifestSchema, SCHEMA_URL } from './validate.js';
export { normalize, topologicalOrder, projectHash, canonicalJSON, DEFAULTS, type NormalizeOptions } from './normalize.js';
export { renderProject, projectToJSON, projectToManifest } from './render.js';
export { splitShell, joinShell, ShellSplitError } from './shell.js';
export { parseDuration, formatDuration, DurationError } from './durations.js';
export { parsePortSpec, parseLongPort, formatPort, PortError } from './ports.js';
export { parseVolumeSpec, parseLongVolume, VolumeError } from './volumes.js';
export { parseDotenv, resolveEnvironment } from './environment.js';
export { formatIssues, formatPath, manifestError, didYouMean, Locator, type Issue, type Path } from './problems.js';
