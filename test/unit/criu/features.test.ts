import t from 'tap';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { criuFeatures, parseFeatures, requireFeatures } from '../../../src/criu/features.js';
import { CkptError } from '../../../src/errors.js';
import { tempDir } from '../../helpers/env.js';

const PATCHED_HELP = `
  --inherit-fd fd[NUM]:RES
  --inherit-stdio       restore: the root task gets CRIU's own fds 0, 1, 2
  --inherit-creds       restore with the restorer's ids, groups and caps
     --restore-pidns    restore into a new pid namespace (saved pids inside)
     --allow-changed-files  restore files replaced or modified since the dump
  --ghost-file PATH     store PATH's contents in the image
  --map-pages           restore: map private memory from the pages images
  --tmpfs-inline        write simple tmpfs contents to their image without
`;

t.test('parseFeatures reads the options from criu --help, not look-alikes', async (t) => {
  t.same(parseFeatures(PATCHED_HELP), { inheritStdio: true, inheritCreds: true, restorePidns: true, allowChangedFiles: true, ghostFile: true, mapPages: true, tmpfsInline: true });
  t.same(parseFeatures('  --inherit-fd fd[NUM]:RES\n  --inherit-stdio-foo x\n  --map-pages-later y\n  --tmpfs-inline-x\n'), { inheritStdio: false, inheritCreds: false, restorePidns: false, allowChangedFiles: false, ghostFile: false, mapPages: false, tmpfsInline: false });
});

t.test('a CRIU without the options is refused up front with CRIU_UNPATCHED and the build command', async (t) => {
  const dir = tempDir(t);
  const stock = join(dir, 'criu');
  writeFileSync(stock, '#!/bin/sh\necho "  --inherit-fd fd[NUM]:RES"\n');
  chmodSync(stock, 0o755);
  t.same(await criuFeatures(stock), { inheritStdio: false, inheritCreds: false, restorePidns: false, allowChangedFiles: false, ghostFile: false, mapPages: false, tmpfsInline: false });
  const err = await requireFeatures(['restorePidns', 'inheritStdio'], 'restoring set warm', stock).catch((e: unknown) => e);
  t.ok(err instanceof CkptError);
  t.match(err, { code: 'CRIU_UNPATCHED', exitCode: 69, message: /lacks --restore-pidns, --inherit-stdio, needed for restoring set warm/, hint: /criu-patches\/build\.sh/ });

  const patched = join(dir, 'criu-patched');
  writeFileSync(patched, `#!/bin/sh\ncat <<'X'\n${PATCHED_HELP}\nX\n`);
  chmodSync(patched, 0o755);
  await t.resolves(requireFeatures(['restorePidns', 'inheritStdio', 'inheritCreds'], 'x', patched));
});
