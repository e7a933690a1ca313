// Building a service's image, as `docker compose build` does: the context directory tarred
// (with .dockerignore's rules), sent to dockerd's /build with the service's args, target and
// Dockerfile, and tagged with the service's image name (`image:`, else <project>-<service>).
//
// Design: the tar is made here, not by dockerode's helper, which applies .dockerignore only to
// directories and cannot carry an inline Dockerfile. Docker's classic builder streams JSON lines
// ({stream}, {aux: {ID}}, {error}); each line is handed to the caller for a progress display,
// and kept so a failed build can print its log. Only this module (and the rest of
// runtime/docker) talks to Docker.
import { lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import dockerignoreModule, { type Ignore } from '@balena/dockerignore';
import tarStream from 'tar-stream';
import { CkptError } from '../../errors.js';
import type { BuildSpec, Service } from '../../manifest/types.js';
import { docker, requireDocker, unreachable } from './client.js';

// a CommonJS module whose typings declare an ES default export: at run time the default is the factory
const dockerignore = dockerignoreModule as unknown as (o?: { ignorecase?: boolean }) => Ignore;

/** The file an inline Dockerfile is sent as (inside the tar only). */
export const INLINE_DOCKERFILE = '.ckpt-inline.Dockerfile';

/** The context's files (relative, `/`-separated, sorted) that .dockerignore lets through. */
export function contextEntries(context: string): string[] {
  let rules = '';
  try {
    rules = readFileSync(join(context, '.dockerignore'), 'utf8');
  } catch {
    rules = '';
  }
  const keep = dockerignore({ ignorecase: false }).add(rules).createFilter();
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const rel = relative(context, abs).split(sep).join('/');
      const st = lstatSync(abs);
      // a directory that is ignored may still hold a file an exception (!) brings back
      if (st.isDirectory()) {
        if (keep(rel)) out.push(rel);
        walk(abs);
      } else if (keep(rel)) out.push(rel);
    }
  };
  walk(context);
  return out;
}

/** The build context as a tar stream: the kept entries, the Dockerfile and .dockerignore always (Docker needs them). */
export function contextTar(spec: BuildSpec): Readable {
  const entries = contextEntries(spec.context);
  for (const always of [spec.dockerfile, '.dockerignore']) {
    if (always && !entries.includes(always)) {
      try {
        statSync(join(spec.context, always));
        entries.push(always);
      } catch {
        /* not there */
      }
    }
  }
  const pack = tarStream.pack();
  const add = async (): Promise<void> => {
    for (const rel of entries) {
      const abs = join(spec.context, rel);
      const st = lstatSync(abs);
      const header = { name: rel, mode: st.mode & 0o7777, mtime: st.mtime, uid: 0, gid: 0 };
      if (st.isDirectory()) pack.entry({ ...header, type: 'directory' });
      else if (st.isSymbolicLink()) pack.entry({ ...header, type: 'symlink', linkname: readlinkSync(abs) });
      else if (st.isFile()) {
        await new Promise<void>((resolve, reject) => {
          const entry = pack.entry({ ...header, size: st.size }, (err) => (err ? reject(err) : resolve()));
          createReadStream(abs).on('error', reject).pipe(entry);
        });
      }
    }
    if (spec.dockerfileInline !== undefined) pack.entry({ name: INLINE_DOCKERFILE, mode: 0o644 }, spec.dockerfileInline);
    pack.finalize();
  };
  add().catch((e: Error) => pack.destroy(e));
  return pack as unknown as Readable;
}

/** dockerd's /build query for a service's BuildSpec. */
export function buildOptions(spec: BuildSpec, tag: string): Record<string, unknown> {
  return {
    t: tag,
    dockerfile: spec.dockerfileInline !== undefined ? INLINE_DOCKERFILE : spec.dockerfile,
    buildargs: spec.args,
    labels: spec.labels,
    rm: true,
    forcerm: true,
    ...(spec.target ? { target: spec.target } : {}),
    ...(spec.cacheFrom.length ? { cachefrom: spec.cacheFrom } : {}),
    ...(spec.network ? { networkmode: spec.network } : {}),
    ...(spec.shmSizeBytes !== undefined ? { shmsize: spec.shmSizeBytes } : {}),
    ...(spec.extraHosts.length ? { extrahosts: spec.extraHosts.join(',') } : {}),
    ...(spec.pull ? { pull: true } : {}),
    ...(spec.noCache ? { nocache: true } : {}),
  };
}

export interface BuildResult {
  service: string;
  image: string;
  /** the built image's ID (sha256:…) */
  id: string;
  ms: number;
}

/** Builds and tags the service's image; `onLine` gets each line of the build's output. */
export async function buildServiceImage(service: Service, onLine: (line: string) => void = () => {}): Promise<BuildResult> {
  const spec = service.build;
  if (!spec || !service.image) throw new CkptError('INTERNAL', `internal error: service ${service.name} has no build`);
  try {
    if (!statSync(spec.context).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new CkptError('BUILD_FAILED', `service ${service.name}: the build context ${spec.context} is not a directory`, {
      hint: 'Fix build.context (relative to the manifest\'s directory).',
    });
  }
  if (spec.dockerfile !== undefined) {
    try {
      statSync(join(spec.context, spec.dockerfile));
    } catch {
      throw new CkptError('BUILD_FAILED', `service ${service.name}: no Dockerfile at ${join(spec.context, spec.dockerfile)}`, {
        hint: 'Set build.dockerfile (relative to the context), or write the Dockerfile inline with build.dockerfile_inline.',
      });
    }
  }
  await requireDocker();
  const t0 = performance.now();
  const log: string[] = [];
  const say = (line: string): void => {
    log.push(line);
    onLine(line);
  };
  let id: string | undefined;
  let failure: string | undefined;
  try {
    const stream = (await docker().buildImage(contextTar(spec) as unknown as NodeJS.ReadableStream, buildOptions(spec, service.image) as never)) as unknown as NodeJS.ReadableStream;
    let rest = '';
    const take = (line: string): void => {
      if (!line.trim()) return;
      let m: { stream?: string; status?: string; error?: string; aux?: { ID?: string } };
      try {
        m = JSON.parse(line);
      } catch {
        return say(line);
      }
      if (m.aux?.ID) id = m.aux.ID;
      if (m.error) failure = m.error.trim();
      const text = (m.stream ?? m.status ?? m.error ?? '').replace(/\n$/, '');
      for (const l of text.split('\n')) if (l.trim()) say(l);
    };
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => {
        const lines = (rest + chunk.toString()).split('\n');
        rest = lines.pop() ?? '';
        lines.forEach(take);
      });
      stream.on('end', () => {
        take(rest);
        resolve();
      });
      stream.on('error', reject);
    });
  } catch (e) {
    throw unreachable(e) ?? new CkptError('BUILD_FAILED', `service ${service.name}: docker could not build ${service.image}: ${(e as Error).message}`, { cause: e });
  }
  if (failure || !id) {
    const tail = log.slice(-15).map((l) => `  ${l}`).join('\n');
    throw new CkptError('BUILD_FAILED', `service ${service.name}: building ${service.image} failed: ${failure ?? 'dockerd reported no image'}\n${tail}`, {
      hint: `Fix the Dockerfile or the context (${spec.context}), then: ckpt build ${service.name}`,
    });
  }
  return { service: service.name, image: service.image, id, ms: performance.now() - t0 };
}

/** The ID of the image of that name here, or undefined when there is none. */
export async function imageId(name: string): Promise<string | undefined> {
  try {
    return (await docker().getImage(name).inspect()).Id;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw unreachable(e) ?? e;
  }
}
