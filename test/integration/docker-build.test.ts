// `build:` against the real dockerd: an image built from a Dockerfile FROM the local dev-container
// image, with .dockerignore, build args, a target stage and an inline Dockerfile; up builds what is
// missing, up --build rebuilds and recreates; a failed build prints its log; a set records the
// image's ID, a restore after a rebuild runs the image the set was taken on, and a set whose image
// is gone is refused with the way to get it back.
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '../../src/core/index.js';
import { docker } from '../../src/runtime/docker/client.js';
import { contextEntries } from '../../src/runtime/docker/build.js';
import { freePort, requireIntegration, tempDir, writeManifest } from '../helpers/env.js';
import { ckptCli, httpAnswer } from '../fixtures/stack-util.js';

const BASE = 'ckpt-devcontainer:1';

t.test('build: up builds, up --build rebuilds, a set keeps its image', { timeout: 300_000 }, async (t) => {
  if (!requireIntegration(t, { docker: true, criu: true })) return;
  const dir = tempDir(t);
  const project = `bld${process.pid}`;
  const ctx: core.CoreContext = { stateRoot: join(dir, 'state'), events: () => {} };
  const storeRoot = join(dir, 'store');
  const images: string[] = [];
  t.teardown(async () => {
    for (const p of core.listStacks(ctx).map((s) => s.project)) await core.down(ctx, p, { timeoutMs: 1000 }).catch(() => {});
    for (const i of images) await docker().getImage(i).remove({ force: true }).catch(() => {});
  });
  const app = join(dir, 'app');
  mkdirSync(join(app, 'ignored'), { recursive: true });
  writeFileSync(
    join(app, 'Dockerfile'),
    // the label makes this run's images its own: Docker's cache would give another run (a CI run
    // beside a developer's) the same image IDs, and removing one would hit the other's containers
    `FROM ${BASE} AS base\nLABEL ckpt.test=${project}\nARG GREETING=hello\nRUN echo "$GREETING" > /greeting\nFROM base AS dev\nCOPY . /ctx/\nCMD ["node", "/ctx/server.js"]\nFROM base AS other\nCMD ["false"]\n`,
  );
  const server = (v: string) =>
    `const fs = require('fs');\nrequire('http').createServer((q, s) => s.end('${v} ' + fs.readFileSync('/greeting', 'utf8').trim() + ' ' + fs.readdirSync('/ctx').sort().join(','))).listen(3000);\n`;
  writeFileSync(join(app, 'server.js'), server('v1'));
  writeFileSync(join(app, 'ignored', 'secret'), 'x');
  writeFileSync(join(app, 'debug.log'), 'x');
  writeFileSync(join(app, '.dockerignore'), 'ignored\n*.log\n');
  t.same(contextEntries(app), ['.dockerignore', 'Dockerfile', 'server.js'], '.dockerignore keeps the ignored directory and the logs out of the context');

  const port = await freePort();
  const file = writeManifest(
    dir,
    `name: ${project}
services:
  web:
    build:
      context: ./app
      target: dev
      args:
        GREETING: bonjour
    ports: ["127.0.0.1:${port}:3000"]
  inline:
    build:
      context: ./app
      dockerfile_inline: |
        FROM ${BASE}
        CMD ["sleep", "600"]
`,
    'compose.yaml',
  );
  images.push(`${project}-web`, `${project}-inline`);
  const env = { CKPT_STATE_DIR: ctx.stateRoot, CKPT_STORE: storeRoot };
  const up = await ckptCli(['up', '-d', '-f', file], env);
  t.equal(up.exitCode, 0, up.stderr);
  t.match(up.stdout, new RegExp(`${project}-web  Building ${project}-web[\\s\\S]*Step 1/\\d+ : FROM ${BASE} AS base[\\s\\S]*${project}-web  Built ${project}-web \\([0-9a-f]{12}\\) in`), 'progress: the steps, then the image');
  t.match(up.stdout, new RegExp(`${project}-inline  Built ${project}-inline`), 'the inline Dockerfile is built too');
  t.equal(await httpAnswer(port), 'v1 bonjour .dockerignore,Dockerfile,server.js', 'the target stage, the build arg, and the context without the ignored files');
  const first = (await docker().getImage(`${project}-web`).inspect()).Id;

  const again = await ckptCli(['up', '-d', '-f', file], env);
  t.notMatch(again.stdout, /Building/, 'up does not build an image that exists');

  const cp = await ckptCli(['checkpoint', 'v1', '-f', file], env);
  t.equal(cp.exitCode, 0, cp.stderr);
  const set = core.getSet(storeRoot, 'v1');
  t.equal((set.extra as { services: Record<string, { imageId?: string }> }).services['web']!.imageId, first, 'the set records the image ID');

  writeFileSync(join(app, 'server.js'), server('v2'));
  const rebuilt = await ckptCli(['up', '-d', '--build', '-f', file], env);
  t.equal(rebuilt.exitCode, 0, rebuilt.stderr);
  t.match(rebuilt.stdout, new RegExp(`${project}-web  Recreating`), 'a rebuilt image recreates its container');
  t.match(await httpAnswer(port), /^v2 /, 'the new code runs');
  const second = (await docker().getImage(`${project}-web`).inspect()).Id;
  t.not(second, first);

  const rs = await ckptCli(['restore', 'v1', '--replace', '-f', file], env);
  t.equal(rs.exitCode, 0, rs.stderr);
  t.match(await httpAnswer(port), /^v1 bonjour/, 'the restore runs the image the set was taken on, not the rebuilt tag');
  const insp = await docker().getContainer(core.readStack(ctx, project)!.services['web']!.containerId!).inspect();
  t.equal(insp.Image, first);

  t.equal((await ckptCli(['down', '-t', '1', '-f', file], env)).exitCode, 0);
  await docker().getImage(first).remove({ force: true });
  const gone = await ckptCli(['restore', 'v1', '-f', file], env);
  t.equal(gone.exitCode, 73, 'a set whose image is gone is refused');
  t.match(gone.stderr, new RegExp(`set v1: the image of service web \\(${project}-web, ${first.slice(7, 19)}\\) is not on this machine; ${project}-web is now another image`));
  t.match(gone.stderr, /docker load -i image\.tar/);
  t.same(core.listStacks(ctx).map((s) => s.project), [], 'nothing was started');

  const only = await ckptCli(['build', 'inline', '--json', '-f', file], env);
  t.equal(only.exitCode, 0, only.stderr);
  const built = JSON.parse(only.stdout.trim().split('\n').at(-1)!) as { service: string; built: boolean }[];
  t.same(built.map((b) => [b.service, b.built]), [['inline', true]], 'ckpt build builds the services named');
});

t.test('a failed build: exit 71, the error and the end of its log', { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t, { docker: true })) return;
  const dir = tempDir(t);
  const project = `bldf${process.pid}`;
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${BASE}\nLABEL ckpt.test=${project}\nRUN echo about to fail && false\n`);
  const file = writeManifest(dir, `name: ${project}\nservices:\n  web:\n    build: .\n`, 'compose.yaml');
  const env = { CKPT_STATE_DIR: join(dir, 'state') };
  const r = await ckptCli(['build', '-f', file], env);
  t.equal(r.exitCode, 71);
  t.match(r.stderr, new RegExp(`service web: building ${project}-web failed: The command '/bin/sh -c echo about to fail && false' returned a non-zero code: 1`));
  t.match(r.stderr, /about to fail/, 'the log is printed');
  t.match(r.stderr, /hint: Fix the Dockerfile or the context/);
  const missing = await ckptCli(['build', '-f', writeManifest(dir, `name: ${project}\nservices:\n  web:\n    build: ./nowhere\n`, 'other.yaml')], env);
  t.equal(missing.exitCode, 71);
  t.match(missing.stderr, /the build context \S+nowhere is not a directory/);
});
