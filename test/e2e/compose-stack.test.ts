// A compose stack as users write them, end to end through bin/ckpt.js against the real dockerd:
// three services built from Dockerfiles (FROM the locally built dev-container image), a network
// with an alias, a file secret, and an app holding one pooled TCP connection to its database by
// name. It is checkpointed under traffic, taken down and restored: the same connection answers
// (the database counts its connections: a reconnect would show). A clone beside the original
// answers on its own connection, with the original unaffected.
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { docker } from '../../src/runtime/docker/client.js';
import { freePort, requireIntegration, tempDir, writeManifest } from '../helpers/env.js';
import { ckptCli, httpAnswer } from '../fixtures/stack-util.js';

const BASE = 'ckpt-devcontainer:1';

// The database: a line protocol over TCP. A client must first send the secret; every query
// answers with the connection's number and the database's query count.
const DB = `const fs = require('fs');
const secret = fs.readFileSync('/run/secrets/db_password', 'utf8').trim();
let conns = 0, queries = 0;
require('net').createServer((s) => {
  const id = ++conns; let authed = false, buf = '';
  s.on('data', (d) => {
    buf += d; let i;
    while ((i = buf.indexOf('\\n')) >= 0) {
      const line = buf.slice(0, i); buf = buf.slice(i + 1);
      if (!authed) { authed = line === secret; s.write(authed ? 'ok\\n' : 'denied\\n'); continue; }
      s.write('conn=' + id + ' queries=' + (++queries) + '\\n');
    }
  });
  s.on('error', () => {});
}).listen(5432);
`;

// The app: one connection to the database (opened at start, never again), and for every request
// a fresh HTTP call to the cache by its service name.
const APP = `const fs = require('fs'), net = require('net'), http = require('http');
const secret = fs.readFileSync('/run/secrets/db_password', 'utf8').trim();
let opened = 0; const waiting = []; let buf = '';
const db = net.connect(5432, 'database', () => { opened++; db.write(secret + '\\n'); });
waiting.push(() => {});
db.on('data', (d) => {
  buf += d; let i;
  while ((i = buf.indexOf('\\n')) >= 0) { const line = buf.slice(0, i); buf = buf.slice(i + 1); waiting.shift()(line); }
});
db.on('error', (e) => { console.error('db connection lost', e.code); process.exit(3); });
db.on('close', () => { console.error('db connection closed'); process.exit(3); });
const cache = () => new Promise((ok) => http.get('http://cache:6379/', { agent: false }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => ok(b)); }).on('error', (e) => ok('cache error ' + e.code)));
http.createServer(async (q, s) => {
  const answer = await new Promise((ok) => { waiting.push(ok); db.write('q\\n'); });
  s.end(answer + ' opened=' + opened + ' ' + (await cache()));
}).listen(3000);
`;

const CACHE = `let hits = 0; require('http').createServer((q, s) => s.end('cache=' + (++hits))).listen(6379);\n`;

const fields = (answer: string): Record<string, string> => Object.fromEntries(answer.split(' ').map((kv) => kv.split('=') as [string, string]));

t.test('a built three-service stack: checkpoint under traffic, restore and clone keep the pooled connection', { timeout: 600_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true, docker: true })) return;
  const dir = tempDir(t);
  const name = `cst${process.pid}`;
  const copy = `${name}copy`;
  const env = { CKPT_STATE_DIR: join(dir, 'state'), CKPT_STORE: join(dir, 'store') };
  t.teardown(async () => {
    for (const p of [name, copy]) await ckptCli(['down', '-p', p, '-t', '1'], env);
    for (const s of ['db', 'app', 'cache']) await docker().getImage(`${name}-${s}`).remove({ force: true }).catch(() => {});
  });
  for (const [svc, program] of [['db', DB], ['app', APP], ['cache', CACHE]] as const) {
    mkdirSync(join(dir, svc));
    writeFileSync(join(dir, svc, 'main.js'), program);
    // the label keeps this run's images its own (Docker's cache would share them across runs)
    writeFileSync(join(dir, svc, 'Dockerfile'), `FROM ${BASE}\nLABEL ckpt.test=${name}\nCOPY main.js /srv/main.js\nCMD ["node", "/srv/main.js"]\n`);
  }
  writeFileSync(join(dir, 'db_password.txt'), 'swordfish\n');
  const port = await freePort();
  const file = writeManifest(
    dir,
    `name: ${name}
services:
  db:
    build: ./db
    networks:
      back:
        aliases: [database]
    secrets: [db_password]
  cache:
    build: ./cache
    networks: [back]
  app:
    build: ./app
    depends_on: [db, cache]
    networks: [back]
    secrets: [db_password]
    ports: ["127.0.0.1:${port}:3000"]
networks:
  back: {}
secrets:
  db_password:
    file: ./db_password.txt
`,
    'compose.yaml',
  );
  const up = await ckptCli(['up', '-d', '-f', file], env);
  t.equal(up.exitCode, 0, up.stderr);
  const first = fields(await httpAnswer(port));
  t.same([first['conn'], first['opened'], first['cache']], ['1', '1', '1'], `the app reached the database by its alias with the secret, and the cache by name: ${JSON.stringify(first)}`);

  // traffic through the pooled connection while the stack is cut
  let stop = false;
  const errors: string[] = [];
  let served = 0;
  const traffic = (async () => {
    while (!stop) {
      try {
        const a = fields(await (await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(20_000) })).text());
        if (a['conn'] !== '1') errors.push(`answered on connection ${a['conn']}`);
        served++;
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  })();
  const cp = await ckptCli(['checkpoint', 'warm', '-f', file, '--json'], env);
  stop = true;
  await traffic;
  t.equal(cp.exitCode, 0, cp.stderr);
  t.same(errors, [], `${served} requests during the checkpoint, all answered on the pooled connection`);
  t.ok(served > 0, 'requests ran during the checkpoint');
  const atCut = Number(fields(await httpAnswer(port))['queries']);

  const down = await ckptCli(['down', '-f', file, '-t', '1'], env);
  t.equal(down.exitCode, 0, down.stderr);
  const rs = await ckptCli(['restore', 'warm', '-f', file], env);
  t.equal(rs.exitCode, 0, rs.stderr);
  const back = fields(await httpAnswer(port));
  t.equal(back['conn'], '1', 'the restored app answers on the same database connection');
  t.equal(back['opened'], '1', 'it never reconnected');
  t.ok(Number(back['queries']) <= atCut, `the database's state is the cut's (queries ${back['queries']} ≤ ${atCut})`);
  t.match(back['cache'], /^\d+$/, 'the cache is reached by name after the restore');

  const cl = await ckptCli(['clone', 'warm', '--as', copy, '--json'], env);
  t.equal(cl.exitCode, 0, cl.stderr);
  const ps = JSON.parse((await ckptCli(['ps', '-p', copy, '--json'], env)).stdout) as { service: string; ports?: string[] }[];
  const published = ps.find((s) => s.service === 'app')?.ports?.[0];
  const clonePort = Number(/:(\d+)->3000/.exec(published ?? '')?.[1]);
  t.ok(clonePort > 0 && clonePort !== port, `the clone publishes on a port of its own (${published})`);
  const c1 = fields(await httpAnswer(clonePort));
  const c2 = fields(await httpAnswer(clonePort));
  t.same([c1['conn'], c1['opened'], c2['conn']], ['1', '1', '1'], 'the clone answers on its own copy of the pooled connection');
  t.equal(Number(c2['queries']), Number(c1['queries']) + 1, 'its database counts on its own');
  const orig = fields(await httpAnswer(port));
  t.equal(orig['conn'], '1', 'the original still answers on its connection');
  t.equal(Number(orig['queries']), Number(back['queries']) + 1, 'and its database did not see the clone\'s queries');
  const nets = (await docker().listNetworks()).filter((n) => n.Name === `${name}_back` || n.Name === `${copy}_back`);
  const subnets = nets.map((n) => n.IPAM?.Config?.[0]?.Subnet);
  t.equal(new Set(subnets).size, 2, `the clone's network is its own, on another subnet (${subnets.join(', ')})`);
});
