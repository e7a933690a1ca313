import t from 'tap';
import { compileManifest, formatIssues, projectToJSON, renderProject, type Project } from '../../../src/manifest/index.js';

function load(yaml: string): Project {
  const r = compileManifest(yaml, { file: '/srv/app/ckpt.yaml', env: { HOME: '/home/u' } });
  if (!r.project) throw new Error(formatIssues(r.issues, 'ckpt.yaml', r.locator).join('\n'));
  return r.project;
}

const MANIFEST = `
name: shop
services:
  web:
    image: nginx
    ports: ["127.0.0.1:8080:80"]
    depends_on: {api: {condition: service_healthy}}
    restart: "no"
  api:
    command: ./api --price '$$5'
    working_dir: ./api
    environment: {Z: last, A: first, ON: "on"}
    healthcheck: {test: curl -f localhost, interval: 1m30s}
    volumes: ["./data:/data:ro", "cache:/cache"]
    restart: on-failure:2
    stop_grace_period: 500ms
    x-ckpt: {network: private, checkpoint: {tcp: close, capture_binds: [/data]}}
volumes:
  cache:
x-ckpt: {z: 1, a: 2}
`;

t.test('renderProject: compose-like YAML, deterministic', async (t) => {
  const p = load(MANIFEST);
  const yaml = renderProject(p);
  t.equal(renderProject(load(MANIFEST)), yaml, 'same input, same text');
  t.equal(
    yaml,
    `name: shop
services:
  api:
    command:
      - ./api
      - --price
      - $$5
    working_dir: /srv/app/api
    environment:
      A: first
      "ON": "on"
      Z: last
    healthcheck:
      test:
        - CMD
        - /bin/sh
        - -c
        - curl -f localhost
      interval: 1m30s
      timeout: 30s
      retries: 3
      start_period: 0s
    restart: on-failure:2
    volumes:
      - type: bind
        source: /srv/app/data
        target: /data
        read_only: true
        bind:
          create_host_path: true
      - type: volume
        source: cache
        target: /cache
        read_only: false
    stop_grace_period: 500ms
    x-ckpt:
      runtime: process
      network: private
      checkpoint:
        capture_binds:
          - /data
        tcp: close
      restore:
        creds: image
        pages: copy
        pid: image
        stdio: image
  web:
    image: nginx
    depends_on:
      api:
        condition: service_healthy
    restart: "no"
    ports:
      - target: 80
        published: 8080
        host_ip: 127.0.0.1
        protocol: tcp
    stop_grace_period: 10s
    x-ckpt:
      runtime: docker
      network: host
      checkpoint: {}
      restore:
        creds: image
        pages: copy
        pid: image
        stdio: image
volumes:
  cache: {}
x-ckpt:
  a: 2
  z: 1
`,
  );
});

t.test('the rendered YAML loads back to the same project', async (t) => {
  const p = load(MANIFEST);
  const again = compileManifest(renderProject(p), { file: '/elsewhere/ckpt.yaml', env: {} });
  t.strictSame(again.issues, []);
  t.strictSame({ ...again.project!, file: p.file, workingDir: p.workingDir, hash: p.hash }, p);
  t.strictSame(again.project!.services.find((s) => s.name === 'api')!.command, ['./api', '--price', '$5']);
});

t.test('projectToJSON: sorted keys, services in order', async (t) => {
  const p = load(MANIFEST);
  const json = projectToJSON(p);
  const parsed = JSON.parse(json) as Project;
  t.strictSame(Object.keys(parsed), ['file', 'hash', 'name', 'networks', 'services', 'workingDir', 'xCkpt']);
  t.strictSame(parsed.services.map((s) => s.name), ['api', 'web']);
  t.strictSame(parsed, JSON.parse(JSON.stringify(p)));
  t.equal(projectToJSON(load(MANIFEST)), json);
});
