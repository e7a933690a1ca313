// The files behind a container's secrets and configs (manifest/compose/secrets.ts), made when the
// container is made, for `up` and for a restore alike: a file source is mounted as it is, unless
// the service asks for an owner or mode; an environment variable's value, a config's inline
// content, or a file given an owner or mode is written under the stack's state directory (0700,
// removed by `down`) with that owner and mode, and mounted from there. Mounts are read-only.
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { CkptError } from '../../errors.js';
import type { Project, SecretMount, Service } from '../../manifest/types.js';
import { projectStateDir } from '../../paths.js';

export interface SecretBind {
  source: string;
  target: string;
}

/** Where a materialized secret lives: one file per target, under the stack's state directory. */
export function secretFile(stateRoot: string, project: string, service: string, m: SecretMount): string {
  const tag = createHash('sha256').update(m.target).digest('hex').slice(0, 12);
  return join(projectStateDir(stateRoot, project), 'secrets', service, `${m.name}-${tag}`);
}

function content(service: Service, m: SecretMount, env: NodeJS.ProcessEnv): Buffer {
  if ('content' in m.from) return Buffer.from(m.from.content);
  if ('env' in m.from) {
    const v = env[m.from.env];
    if (v === undefined) {
      throw new CkptError('SERVICE_START_FAILED', `service ${service.name}: ${m.kind} ${m.name} comes from the environment variable ${m.from.env}, which is not set`, {
        hint: `Set ${m.from.env} in the environment ckpt runs in (a restore needs it too).`,
      });
    }
    return Buffer.from(v);
  }
  try {
    return readFileSync(m.from.file);
  } catch (e) {
    throw new CkptError('SERVICE_START_FAILED', `service ${service.name}: ${m.kind} ${m.name}: cannot read ${m.from.file}: ${(e as Error).message}`, {
      hint: `Create the file, or fix \`${m.kind}s.${m.name}.file\` (relative to the manifest's directory).`,
    });
  }
}

/** Writes what must be written and returns the binds, in the service's order. */
export function materializeSecrets(project: Project, service: Service, stateRoot: string, env: NodeJS.ProcessEnv = process.env): SecretBind[] {
  const binds: SecretBind[] = [];
  for (const m of service.secrets ?? []) {
    const asIs = 'file' in m.from && m.uid === undefined && m.gid === undefined && m.mode === undefined;
    if (asIs) {
      const file = (m.from as { file: string }).file;
      try {
        statSync(file);
      } catch {
        throw new CkptError('SERVICE_START_FAILED', `service ${service.name}: ${m.kind} ${m.name}: ${file} does not exist`, {
          hint: `Create the file, or fix \`${m.kind}s.${m.name}.file\` (relative to the manifest's directory).`,
        });
      }
      binds.push({ source: file, target: m.target });
      continue;
    }
    const data = content(service, m, env);
    const file = secretFile(stateRoot, project.name, service.name, m);
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
    writeFileSync(file, data, { mode: 0o600 });
    chownSync(file, m.uid ?? 0, m.gid ?? 0);
    // compose's default for secrets and configs is world-readable (0444)
    chmodSync(file, m.mode ?? 0o444);
    binds.push({ source: file, target: m.target });
  }
  return binds;
}
