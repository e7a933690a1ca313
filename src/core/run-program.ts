// `ckpt run --name N -- CMD…`: one program as a stack of its own, DragonFly's checkpoint(2) flow.
// The program runs in the host's pid and mount namespaces as the root of its tree (no ckpt init
// in between), so a restore can hand it the restorer's fds 0-2 and creds; its copies get fresh
// pids (CRIU --restore-pidns) and never collide with the original.
import { resolve } from 'node:path';
import { CkptError } from '../errors.js';
import { isValidProjectName } from '../manifest/project-name.js';
import { projectHash } from '../manifest/canonical.js';
import type { Project, Service } from '../manifest/types.js';

export function programProject(name: string, argv: string[], cwd: string, env: Record<string, string> = {}): Project {
  if (!isValidProjectName(name)) {
    throw new CkptError('USAGE', `the name ${JSON.stringify(name)} is not valid`, {
      hint: 'Use lowercase letters, digits, `-` and `_`, starting with a letter or digit (it names the project and its one service).',
    });
  }
  if (argv.length === 0) {
    throw new CkptError('USAGE', 'no program to run', { hint: `Give it after --: ckpt run --name ${name} -- <program> [args…]` });
  }
  const service: Service = {
    name,
    command: [...argv],
    workingDir: resolve(cwd),
    environment: env,
    dependsOn: {},
    restart: 'no',
    volumes: [],
    ports: [],
    xCkpt: {
      runtime: 'process',
      network: 'host',
      pidNamespace: 'host',
      stopGracePeriodMs: 10_000,
      checkpoint: {},
      restore: { stdio: 'image', creds: 'image', pid: 'fresh', pages: 'copy' },
    },
  };
  const project: Omit<Project, 'hash'> = {
    name,
    file: '',
    workingDir: resolve(cwd),
    services: [service],
    xCkpt: { program: true },
  };
  return { ...project, hash: projectHash(project) };
}
