// `ckpt build` and the builds of `up`: the image of each service with `build:`, built through
// runtime/docker/build.ts. `up` builds only the images that are missing (compose's default);
// `up --build` and `ckpt build` build them all again.
import { CkptError } from '../errors.js';
import type { Project } from '../manifest/types.js';
import { buildServiceImage, imageId } from '../runtime/docker/build.js';
import { ev } from './events.js';
import type { CoreContext } from './stack.js';

export interface BuildOptions {
  /** only these services (default: every service with `build:`) */
  services?: string[];
  /** build even when the image exists */
  always: boolean;
}

export interface ServiceBuild {
  service: string;
  image: string;
  /** the image's ID after the step, built or found */
  id: string;
  built: boolean;
  ms?: number;
}

export async function build(ctx: CoreContext, project: Project, opts: BuildOptions): Promise<ServiceBuild[]> {
  const withBuild = project.services.filter((s) => s.build && s.xCkpt.runtime === 'docker');
  for (const name of opts.services ?? []) {
    const s = project.services.find((x) => x.name === name);
    if (!s) throw new CkptError('SERVICE_UNKNOWN', `no service ${name} in ${project.file}`, { hint: `Services: ${project.services.map((x) => x.name).join(', ')}` });
    if (!withBuild.includes(s)) throw new CkptError('USAGE', `service ${name} has nothing to build (no \`build:\`)`, { hint: `Services with build: ${withBuild.map((x) => x.name).join(', ') || 'none'}` });
  }
  const wanted = opts.services?.length ? withBuild.filter((s) => opts.services!.includes(s.name)) : withBuild;
  const out: ServiceBuild[] = [];
  for (const s of wanted) {
    const have = opts.always ? undefined : await imageId(s.image!);
    if (have) {
      out.push({ service: s.name, image: s.image!, id: have, built: false });
      continue;
    }
    const emit = (phase: string, extra: { line?: string; detail?: Record<string, unknown> } = {}): void =>
      ctx.events(ev({ type: 'build', project: project.name, service: s.name, phase, ...extra }));
    emit('building', { detail: { image: s.image, context: s.build!.context } });
    const r = await buildServiceImage(s, (line) => emit('output', { line }));
    emit('built', { detail: { image: r.image, id: r.id, ms: r.ms } });
    out.push({ service: s.name, image: r.image, id: r.id, built: true, ms: r.ms });
  }
  return out;
}
