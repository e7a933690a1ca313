// The JSON Schema is a public file (editors use it), so check that it is well formed and that it
// agrees with what the loader accepts.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { SCHEMA_URL, manifestSchema, validateSchema } from '../../../src/manifest/index.js';

interface Node {
  [k: string]: unknown;
}

t.test('the schema is a draft-07 schema with an $id, a title and descriptions', async (t) => {
  const raw = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as Node;
  t.equal(raw['$schema'], 'http://json-schema.org/draft-07/schema#');
  t.match(raw['$id'], /^https:\/\/.+ckpt-manifest\.schema\.json$/);
  t.type(raw['title'], 'string');
  t.type(raw['description'], 'string');
  t.strictSame(manifestSchema(), raw);
  const defs = raw['definitions'] as Record<string, Node>;
  const service = defs['service']!;
  for (const [key, prop] of Object.entries(service['properties'] as Record<string, Node>)) {
    t.ok(typeof prop['description'] === 'string' || typeof prop['$ref'] === 'string', `services.*.${key} is described`);
  }
});

t.test('the schema lists exactly the keys the loader understands', async (t) => {
  const raw = manifestSchema() as Node;
  const props = (n: Node): string[] => Object.keys(n['properties'] as object).sort();
  const defs = raw['definitions'] as Record<string, Node>;
  t.strictSame(props(raw), ['name', 'networks', 'services', 'version', 'volumes', 'x-ckpt']);
  t.strictSame(props(defs['service']!), [
    'build',
    'command',
    'depends_on',
    'entrypoint',
    'env_file',
    'environment',
    'healthcheck',
    'hostname',
    'image',
    'labels',
    'ports',
    'restart',
    'stop_grace_period',
    'user',
    'volumes',
    'working_dir',
    'x-ckpt',
  ]);
  t.strictSame(props(defs['healthcheck']!), ['disable', 'interval', 'retries', 'start_period', 'test', 'timeout']);
  t.strictSame(props(defs['serviceCkpt']!), ['checkpoint', 'network', 'restore', 'runtime']);
});

t.test('x- keys are allowed everywhere a mapping is closed', async (t) => {
  t.strictSame(
    validateSchema({
      'x-top': 1,
      services: {
        a: {
          command: 'x',
          'x-svc': 1,
          healthcheck: { test: 'true', 'x-h': 1 },
          ports: [{ target: 1, 'x-p': 1 }],
          volumes: [{ target: '/a', 'x-v': 1 }],
          depends_on: { b: { 'x-d': 1 } },
          env_file: [{ path: 'a', 'x-e': 1 }],
          'x-ckpt': { 'x-c': 1 },
        },
        b: { command: 'y' },
      },
    }),
    [],
  );
});

t.test('schema problems point at the path, with human messages', async (t) => {
  const issues = validateSchema({ services: { web: { image: 5, ports: [{ target: 'x' }], bogus: true } } });
  const byMessage = (a: { message: string }, b: { message: string }): number => (a.message < b.message ? -1 : 1);
  t.strictSame([...issues].sort(byMessage), [
    { at: ['services', 'web', 'ports', 0, 'target'], message: 'must be a port number' },
    { at: ['services', 'web', 'image'], message: 'must be an image name, like `postgres:16`' },
    { at: ['services', 'web', 'bogus'], key: true, path: ['services', 'web'], message: 'unknown key `bogus`' },
  ]);
});
