// Which stack a command acts on, by compose's rules: -p names it; otherwise the manifest (-f, or
// ckpt.yaml / compose.yaml / docker-compose.yml here) does. Commands that only act on a running
// stack accept -p alone, so a clone (which has no manifest of its own) is reachable by name.
import { Option } from 'commander';
import * as core from '../core/index.js';

export interface TargetOpts {
  file?: string;
  projectName?: string;
  /** --profile, repeatable: the active compose profiles */
  profile?: string[];
}

/**
 * -f / --file: one manifest. Compose merges several -f files; ckpt does not yet, and taking the
 * last one given would drop the others in silence, so a second -f is refused.
 */
export function fileOption(flags: string, description: string): Option {
  return new Option(flags, description).argParser((v: string, previous: string | undefined) => {
    if (previous !== undefined) {
      throw new core.CkptError('USAGE', `-f given twice (${previous}, ${v}): ckpt does not merge several compose files yet`, {
        hint: 'Merge them into one file (docker compose config > merged.yaml prints the merge), and name that one.',
      });
    }
    return v;
  });
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
  if (!needManifest && opts.projectName && !opts.file) {
    const state = core.readStack({ stateRoot: core.stateRoot(), events: core.nullSink }, opts.projectName);
    return { name: opts.projectName, ...(state ? { project: state.spec } : {}), warnings: [] };
  }
  const { project, warnings } = await core.loadProjectWithWarnings({
    ...(opts.file ? { file: opts.file } : {}),
    cwd: process.cwd(),
    env: process.env,
    ...(opts.projectName ? { projectName: opts.projectName } : {}),
    ...(opts.profile?.length ? { profiles: opts.profile } : {}),
  });
  return { name: project.name, project, warnings };
}
