// ckpt's loader against a reference: `docker-compose config` of Debian's docker-compose 1.29
// (bootstrap installs it; it reads the Compose Specification of its time, without `name:`) on the
// fixtures of test/fixtures/manifests/reference. Both outputs are brought to one form, service by
// service and key by key, with ckpt's own parsers for the short forms docker-compose keeps
// (ports, volumes, durations, sizes), and compared.
import t from 'tap';
import { execa } from 'execa';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadProjectWithWarnings } from '../../src/manifest/load.js';
import { parseDuration } from '../../src/manifest/durations.js';
import { parseBytes } from '../../src/manifest/build.js';
import { parseLongPort, parsePortSpec } from '../../src/manifest/ports.js';
import { parseLongVolume, parseVolumeSpec } from '../../src/manifest/volumes.js';
import { splitShell } from '../../src/manifest/shell.js';
import type { Project, Service } from '../../src/manifest/types.js';
import { packageRoot } from '../../src/paths.js';
import { inCI } from '../helpers/env.js';

const DIR = join(packageRoot, 'test/fixtures/manifests/reference');
type Dict = Record<string, unknown>;

const argv = (v: unknown): string[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v.map(String) : splitShell(String(v)));
const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);
const bytes = (v: unknown): number | undefined => (v === undefined ? undefined : parseBytes(v as string | number));
const clean = (o: Dict): Dict => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0) && !(v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)));

/** What docker-compose made of a service, in the comparable form. */
function fromReference(name: string, s: Dict): Dict {
  const hc = s['healthcheck'] as Dict | undefined;
  const test = hc ? list(hc['test']) : [];
  const b = s['build'] as Dict | undefined;
  const secrets = (s['secrets'] as (string | Dict)[] | undefined) ?? [];
  const nets = s['networks'] as Dict | string[] | undefined;
  return clean({
    image: s['image'],
    entrypoint: argv(s['entrypoint']),
    command: argv(s['command']),
    working_dir: s['working_dir'],
    user: s['user'],
    hostname: s['hostname'] ?? name,
    environment: s['environment'] ?? {},
    labels: s['labels'],
    depends_on: Object.fromEntries(Object.entries((s['depends_on'] as Dict | undefined) ?? {}).map(([k, v]) => [k, (v as Dict)['condition']])),
    healthcheck:
      hc && test[0] !== 'NONE'
        ? { test: test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', test.slice(1).join(' ')] : test.slice(1), interval: parseDuration(String(hc['interval'] ?? '30s')), timeout: parseDuration(String(hc['timeout'] ?? '30s')), retries: hc['retries'] ?? 3, start_period: parseDuration(String(hc['start_period'] ?? '0s')) }
        : undefined,
    restart: s['restart'] ?? 'no',
    stop_grace_period: parseDuration(String(s['stop_grace_period'] ?? '10s')),
    volumes: ((s['volumes'] as (string | Dict)[] | undefined) ?? []).map((v) => {
      const m = typeof v === 'string' ? parseVolumeSpec(v) : parseLongVolume(v as never);
      return { type: m.type, source: m.source, target: m.target, readOnly: m.readOnly };
    }),
    ports: ((s['ports'] as (string | number | Dict)[] | undefined) ?? []).flatMap((p) => (typeof p === 'object' ? parseLongPort(p as never) : parsePortSpec(p))),
    networks: (Array.isArray(nets) ? nets.map((n) => [n, {}] as const) : Object.entries(nets ?? { default: null }))
      .map(([n, o]) => clean({ network: n, aliases: ((o as Dict | null)?.['aliases'] as string[] | undefined) ?? [], ipv4Address: (o as Dict | null)?.['ipv4_address'] }))
      .sort((x, y) => String(x['network']).localeCompare(String(y['network']))),
    secrets: secrets.map((x) => (typeof x === 'string' ? { name: x, target: `/run/secrets/${x}` } : { name: x['source'], target: String(x['target'] ?? x['source']).startsWith('/') ? x['target'] : `/run/secrets/${x['target'] ?? x['source']}` })),
    build: b && clean({ context: b['context'], dockerfile: b['dockerfile'] ?? 'Dockerfile', args: b['args'] ?? {}, target: b['target'], labels: b['labels'], cache_from: b['cache_from'], network: b['network'], shm_size: bytes(b['shm_size']) }),
    cap_add: s['cap_add'],
    cap_drop: s['cap_drop'],
    sysctls: s['sysctls'],
    dns: s['dns'] && list(s['dns']),
    dns_search: s['dns_search'] && list(s['dns_search']),
    dns_opt: s['dns_opt'],
    extra_hosts: s['extra_hosts'],
    tmpfs: s['tmpfs'] && list(s['tmpfs']),
    shm_size: bytes(s['shm_size']),
    mem_limit: bytes(s['mem_limit']),
    memswap_limit: bytes(s['memswap_limit']),
    mem_reservation: bytes(s['mem_reservation']),
    cpus: s['cpus'] === undefined ? undefined : Number(s['cpus']),
    cpu_shares: s['cpu_shares'],
    cpuset: s['cpuset'],
    pids_limit: s['pids_limit'],
    oom_score_adj: s['oom_score_adj'],
    read_only: s['read_only'],
    privileged: s['privileged'],
    security_opt: s['security_opt'],
    group_add: s['group_add'] && list(s['group_add']),
    stop_signal: s['stop_signal'],
    domainname: s['domainname'],
  });
}

/** What ckpt made of a service, in the same form. */
function fromCkpt(s: Service): Dict {
  const c = s.container ?? {};
  const b = s.build;
  return clean({
    image: s.build && s.image === undefined ? undefined : s.image,
    entrypoint: s.entrypoint,
    command: s.commandOnly,
    working_dir: s.workingDir,
    user: s.user,
    hostname: s.xCkpt.hostname ?? s.name,
    environment: s.environment,
    labels: s.labels,
    depends_on: Object.fromEntries(Object.entries(s.dependsOn).map(([k, v]) => [k, v.condition])),
    healthcheck: s.healthcheck && { test: s.healthcheck.test, interval: s.healthcheck.intervalMs, timeout: s.healthcheck.timeoutMs, retries: s.healthcheck.retries, start_period: s.healthcheck.startPeriodMs },
    restart: s.restart === 'on-failure' && s.restartMaxRetries !== undefined ? `on-failure:${s.restartMaxRetries}` : s.restart,
    stop_grace_period: s.xCkpt.stopGracePeriodMs,
    volumes: s.volumes.map((v) => ({ type: v.type, source: v.source, target: v.target, readOnly: v.readOnly })),
    ports: s.ports,
    networks: [...(s.networks ?? [])].map((a) => clean({ network: a.network, aliases: a.aliases, ipv4Address: a.ipv4Address })).sort((x, y) => String(x['network']).localeCompare(String(y['network']))),
    secrets: (s.secrets ?? []).filter((m) => m.kind === 'secret').map((m) => ({ name: m.name, target: m.target })),
    build: b && clean({ context: b.context, dockerfile: b.dockerfile, args: b.args, target: b.target, labels: b.labels, cache_from: b.cacheFrom, network: b.network, shm_size: b.shmSizeBytes }),
    cap_add: c.capAdd,
    cap_drop: c.capDrop,
    sysctls: c.sysctls,
    dns: c.dns,
    dns_search: c.dnsSearch,
    dns_opt: c.dnsOpt,
    extra_hosts: c.extraHosts,
    tmpfs: c.tmpfs,
    shm_size: c.shmSizeBytes,
    mem_limit: c.memLimitBytes,
    memswap_limit: c.memswapLimitBytes,
    mem_reservation: c.memReservationBytes,
    cpus: c.cpus,
    cpu_shares: c.cpuShares,
    cpuset: c.cpuset,
    pids_limit: c.pidsLimit,
    oom_score_adj: c.oomScoreAdj,
    read_only: c.readOnly,
    privileged: c.privileged,
    security_opt: c.securityOpt,
    group_add: c.groupAdd,
    stop_signal: c.stopSignal,
    domainname: c.domainname,
  });
}

function topLevel(p: Project): Dict {
  return clean({
    networks: Object.fromEntries((p.networks ?? []).filter((n) => n.key !== 'default').map((n) => [n.key, clean({ internal: n.internal, subnets: n.ipam?.map((c) => c.subnet) })])),
    secrets: Object.fromEntries(p.services.flatMap((s) => (s.secrets ?? []).filter((m) => m.kind === 'secret' && 'file' in m.from).map((m) => [m.name, (m.from as { file: string }).file]))),
  });
}

function topLevelReference(r: Dict): Dict {
  return clean({
    networks: Object.fromEntries(Object.entries((r['networks'] as Dict | undefined) ?? {}).map(([k, v]) => [k, clean({ internal: (v as Dict)['internal'], subnets: (((v as Dict)['ipam'] as Dict | undefined)?.['config'] as Dict[] | undefined)?.map((c) => c['subnet']) })])),
    secrets: Object.fromEntries(Object.entries((r['secrets'] as Dict | undefined) ?? {}).map(([k, v]) => [k, (v as Dict)['file']])),
  });
}

t.test('ckpt config and docker-compose config agree, key by key', async (t) => {
  const dc = await execa('docker-compose', ['version'], { reject: false });
  if (dc.exitCode !== 0) {
    if (inCI) t.fail('docker-compose is not installed (scripts/bootstrap.sh installs Debian\'s docker-compose)');
    else t.skip('docker-compose is not installed (apt-get install docker-compose)', () => undefined);
    return;
  }
  const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
  t.ok(files.length >= 1, `${files.length} reference fixture(s)`);
  for (const f of files) await compare(t, f, [join(DIR, f)], DIR);
  // several files (and extends across files): -f twice, and the override file found beside compose.yaml
  await compare(t, 'multi -f -f', [join(DIR, 'multi/compose.yaml'), join(DIR, 'multi/compose.override.yaml')], DIR);
  await compare(t, 'multi (override found)', [], join(DIR, 'multi'));
});

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/** docker-compose config and ckpt's loader on the same files (none: found in `cwd`), service by service. */
async function compare(t: Test, f: string, files: string[], cwd: string): Promise<void> {
  const env = { HOME: '/root', PATH: process.env.PATH ?? '' };
  const ref = await execa('docker-compose', [...files.flatMap((x) => ['-f', x]), 'config'], { reject: false, env, extendEnv: false, cwd });
  t.equal(ref.exitCode, 0, `${f}: docker-compose config accepts it (${ref.stderr.trim()})`);
  const theirs = parse(ref.stdout) as Dict;
  const { project } = await loadProjectWithWarnings({ files, cwd, env, projectName: 'reference' });
  const ours = new Map(project.services.map((s) => [s.name, fromCkpt(s)]));
  const services = theirs['services'] as Dict;
  t.same([...ours.keys()].sort(), Object.keys(services).sort(), `${f}: the same services`);
  for (const [name, s] of Object.entries(services)) {
    const a = fromReference(name, s as Dict);
    const b = ours.get(name) ?? {};
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) t.same(b[key], a[key], `${f}: services.${name}.${key}`);
  }
  t.same(topLevel(project), topLevelReference(theirs), `${f}: top-level networks and secrets`);
}
