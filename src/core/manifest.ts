// The manifest loader, loaded when first used: it pulls in the YAML parser and the JSON Schema
// validator (about 140 modules, tens of milliseconds of every start-up), and the commands that
// act on a running stack or a stored set (ps, logs, checkpoint, restore, clone) never need them.
import type { LoadOptions, LoadResult, Project } from '../manifest/index.js';

const loader = () => import('../manifest/index.js');

export async function loadProject(opts: LoadOptions = {}): Promise<Project> {
  return (await loader()).loadProject(opts);
}

export async function loadProjectWithWarnings(opts: LoadOptions = {}): Promise<LoadResult> {
  return (await loader()).loadProjectWithWarnings(opts);
}

export async function findManifest(cwd: string): Promise<string | undefined> {
  return (await loader()).findManifest(cwd);
}

/** `ckpt config`: compose-like YAML of the normalized project */
export async function renderProject(p: Project): Promise<string> {
  return (await loader()).renderProject(p);
}

export async function projectToJSON(p: Project): Promise<string> {
  return (await loader()).projectToJSON(p);
}
