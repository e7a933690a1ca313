// Which stack a command acts on, by compose's rules: -p names it; otherwise the manifest (-f, or
// ckpt.yaml / compose.yaml / docker-compose.yml here) does. Commands that only act on a running
// stack accept -p alone, so a clone (which has no manifest of its own) is reachable by name.
import * as core from '../core/index.js';

export interface TargetOpts {
  file?: string;
  projectName?: string;
}

export interface Target {
  name: string;
  project?: core.Project;
  warnings: string[];
}

export async function resolveTarget(opts: TargetOpts, { needManifest }: { needManifest: boolean }): Promise<Target> {
  if (!needManifest && opts.projectName && !opts.file) {
    const state = core.readStack({ stateRoot: core.stateRoot(), events: core.nullSink }, opts.projectName);
    return { name: opts.projectName, ...(state ? { project: state.spec } : {}), warnings: [] };
  }
  const { project, warnings } = await core.loadProjectWithWarnings({
    ...(opts.file ? { file: opts.file } : {}),
    cwd: process.cwd(),
    env: process.env,
    ...(opts.projectName ? { projectName: opts.projectName } : {}),
  });
  return { name: project.name, project, warnings };
}
