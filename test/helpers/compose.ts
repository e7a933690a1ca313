// Loading a compose file written by a unit test, as `ckpt config` loads it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProjectWithWarnings } from '../../src/manifest/load.js';

/** `load` writes compose.yaml in a temporary directory (removed at teardown) and loads it; `problems` gives a refused file's details, one string. */
export function composeLoader(t: { teardown(fn: () => void): void }, prefix = 'ckpt-compose-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const load = async (yaml: string) => {
    const file = join(dir, 'compose.yaml');
    writeFileSync(file, yaml);
    return loadProjectWithWarnings({ file, env: {} });
  };
  const problems = async (yaml: string): Promise<string> => {
    try {
      await load(yaml);
    } catch (e) {
      return ((e as { details?: string[] }).details ?? [(e as Error).message]).join('\n');
    }
    return 'loaded without problems';
  };
  return { dir, load, problems };
}
