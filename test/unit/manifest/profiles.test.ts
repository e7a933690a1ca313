// Compose's profiles, COMPOSE_PROFILES, COMPOSE_PROJECT_NAME and COMPOSE_FILE in the loader, and
// the override file found beside the manifest.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProjectWithWarnings } from '../../../src/manifest/load.js';

const YAML = `services:
  web: {image: x, depends_on: [db]}
  db: {image: y}
  debug: {image: z, profiles: [debug]}
  tools: {image: t, profiles: [tools, all], depends_on: [debug]}
`;

function setup(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-prof-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'compose.yaml'), YAML);
  const load = (o: { profiles?: string[]; env?: Record<string, string> } = {}) => loadProjectWithWarnings({ cwd: dir, env: o.env ?? {}, ...(o.profiles ? { profiles: o.profiles } : {}) });
  const names = async (o: Parameters<typeof load>[0] = {}) => (await load(o)).project.services.map((s) => s.name).sort();
  return { dir, load, names };
}

t.test('services with profiles run only when one is active', async (t) => {
  const { names } = setup(t);
  t.same(await names(), ['db', 'web'], 'no profile: the services without profiles');
  t.same(await names({ profiles: ['debug'] }), ['db', 'debug', 'web']);
  t.same(await names({ env: { COMPOSE_PROFILES: 'debug, all' } }), ['db', 'debug', 'tools', 'web'], 'COMPOSE_PROFILES, comma-separated');
  t.same(await names({ profiles: ['debug'], env: { COMPOSE_PROFILES: 'all' } }), ['db', 'debug', 'web'], '--profile wins over COMPOSE_PROFILES');
  t.same(await names({ profiles: ['*'] }), ['db', 'debug', 'tools', 'web'], '* activates every profile');
});

t.test('an active service that depends on an inactive one names the profile to activate', async (t) => {
  const { load } = setup(t);
  await t.rejects(load({ profiles: ['tools'] }), { details: [/services\.tools\.depends_on: depends on `debug`, whose profiles \(debug\) are not active — activate one: --profile debug/] } as never);
});

t.test('COMPOSE_PROJECT_NAME names the project after -p; COMPOSE_FILE names the file', async (t) => {
  const { dir, load } = setup(t);
  t.equal((await load({ env: { COMPOSE_PROJECT_NAME: 'fromenv' } })).project.name, 'fromenv');
  writeFileSync(join(dir, 'other.yaml'), 'name: other\nservices:\n  a: {image: x}\n');
  t.equal((await load({ env: { COMPOSE_FILE: 'other.yaml' } })).project.name, 'other');
  const both = await load({ env: { COMPOSE_FILE: 'other.yaml:compose.yaml' } });
  t.same(both.project.files, [join(dir, 'other.yaml'), join(dir, 'compose.yaml')], 'a list of files, merged in order');
  t.same(both.project.services.map((s) => s.name).sort(), ['a', 'db', 'web']);
  const sep = await load({ env: { COMPOSE_FILE: 'compose.yaml;other.yaml', COMPOSE_PATH_SEPARATOR: ';' } });
  t.equal(sep.project.name, 'other', 'COMPOSE_PATH_SEPARATOR splits it; the later name wins');
});

t.test('an override file beside the manifest is merged over it', async (t) => {
  const { dir, load } = setup(t);
  writeFileSync(join(dir, 'compose.override.yaml'), 'services:\n  web: {image: other}\n');
  const r = await load();
  t.same(r.warnings, []);
  t.equal(r.project.services.find((s) => s.name === 'web')!.image, 'other');
  t.same(r.project.files, [join(dir, 'compose.yaml'), join(dir, 'compose.override.yaml')]);
  writeFileSync(join(dir, 'docker-compose.override.yml'), 'services:\n  web: {image: third}\n');
  t.match((await load()).warnings, [/found several override files .*\(compose\.override\.yaml, docker-compose\.override\.yml\); using compose\.override\.yaml/]);
});
