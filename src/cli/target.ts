// Which stack a command acts on, by compose's rules: -p names it; otherwise the manifest (-f, or
// ckpt.yaml / compose.yaml / docker-compose.yml here) does. Commands that only act on a running
// stack accept -p alone, so a clone (which has no manifest of its own) is reachable by name.
import { Option } from 'commander';
import * as core from '../core/index.js';

export interface TargetOpts {
  /** -f, repeatable: the manifest files, merged in order */
  file?: string[];
  projectName?: string;
  /** --profile, repeatable: the active compose profiles */
  profile?: string[];
}

/**
 * -f / --file: a manifest file, repeatable as in compose: the files are merged in order (the
 * first one's directory is the project directory), so each -f adds to the list.
 */
export function fileOption(flags: string, description: string): Option {
  return new Option(flags, `${description} (repeatable: the files are merged in order)`).argParser((v: string, previous: string[] | undefined) => [...(previous ?? []), v]);
}

/** The -f files of the program (before the command) and of the command, in the order given. */
export function mergedFiles(before: TargetOpts, after: TargetOpts): string[] | undefined {
  const all = [...(before.file ?? []), ...(after.file ?? [])];
  return all.length > 0 ? all : undefined;
}

/** The options with the command's `[manifest]` argument (the same as one more -f) added. */
export function withManifestArgument(opts: TargetOpts, manifest: string | undefined): TargetOpts {
  return manifest ? { ...opts, file: [...(opts.file ?? []), manifest] } : opts;
}

/** --profile NAME, repeatable (compose's global option). */
export function profileOption(): Option {
  return new Option('--profile <name>', 'activate a compose profile (repeatable; default: $COMPOSE_PROFILES)').argParser((v: string, previous: string[] | undefined) => [...(previous ?? []), v]);
}

export interface Target {
  name: string;
  project?: core.Project;
  warnings: string[];
}

export async function resolveTarget(opts: TargetOpts, { needManifest }: { needManifest: boolean }): Promise<Target> {
  if (!needManifest && opts.projectName && !opts.file?.length) {
    const state = core.readStack({ stateRoot: core.stateRoot(), events: core.nullSink }, opts.projectName);
    return { name: opts.projectName, ...(state ? { project: state.spec } : {}), warnings: [] };
  }
  const { project, warnings } = await core.loadProjectWithWarnings({
    ...(opts.file?.length ? { files: opts.file } : {}),
    cwd: process.cwd(),
    env: process.env,
    ...(opts.projectName ? { projectName: opts.projectName } : {}),
    ...(opts.profile?.length ? { profiles: opts.profile } : {}),
  });
  return { name: project.name, project, warnings };
}
