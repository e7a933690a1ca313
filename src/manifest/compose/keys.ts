// What ckpt does with each Compose key its own schema does not model: honours it, warns (saying
// what happens instead), or refuses it (only where it contradicts checkpointing, with the way
// out). Nothing the spec allows is dropped in silence: a key the spec knows that is missing here
// still gets a warning (see `classifyKeys`), and a unit test checks that every key of the spec's
// service and top level is either in ckpt's schema or in this table.
import { isRecord, processNetworkMode, serviceRuntime, type RawService } from '../raw.js';
import type { Issue, Path } from '../problems.js';

type Verdict = { warn: string } | { refuse: string } | { honour: true };
/** per runtime, or one verdict for both */
type Rule = Verdict | { process: Verdict; docker: Verdict };

const IGNORED = 'is not acted on by ckpt yet';
const warn = (text: string): Verdict => ({ warn: text });
const refuse = (text: string): Verdict => ({ refuse: text });
const split = (process: Verdict, docker: Verdict): Rule => ({ process, docker });
/** passed to Docker as it is (compose/container-options.ts); a process service has no equivalent */
const containerOption = (what: string): Rule => split(warn(`is a container option; a process service ignores it (${what})`), { honour: true });
/** a Docker option a process service has no equivalent of */
const dockerOnly = (what: string): Rule =>
  split(warn(`is a container option; a process service ignores it (${what})`), warn(`${IGNORED}: the container runs without it (${what})`));

export const SERVICE_KEYS: Record<string, Rule> = {
  annotations: dockerOnly('OCI annotations'),
  attach: warn(`${IGNORED}: every service's output is in \`ckpt logs\`, attached or not`),
  blkio_config: dockerOnly('block I/O weights and limits'),
  cap_add: containerOption('added capabilities'),
  cap_drop: containerOption('dropped capabilities'),
  cgroup: dockerOnly('cgroup namespace mode'),
  cgroup_parent: warn(`${IGNORED}: ckpt puts each service in a cgroup of its own`),
  configs: split(warn(`${IGNORED} for a process service: it is not mounted; the program reads the file at its own path`), { honour: true }),
  container_name: warn('is ignored: ckpt names containers <project>-<service>-1, so clones (-p / clone --as) never collide'),
  cpu_count: dockerOnly('CPU count'),
  cpu_percent: dockerOnly('CPU percent'),
  cpu_period: dockerOnly('CFS period'),
  cpu_quota: dockerOnly('CFS quota'),
  cpu_rt_period: dockerOnly('realtime period'),
  cpu_rt_runtime: dockerOnly('realtime runtime'),
  cpu_shares: containerOption('CPU shares'),
  cpus: containerOption('CPU limit'),
  cpuset: containerOption('CPUs it may run on'),
  credential_spec: warn('is for Windows containers; ignored'),
  // a container takes deploy.resources' limits (container-options.ts); the rest is named by deployWarnings
  deploy: split(warn(`${IGNORED} for a process service: one instance runs, without deploy's limits`), { honour: true }),
  develop: warn(`${IGNORED}: \`compose watch\` has no ckpt equivalent; bind-mount the source with \`volumes:\` instead`),
  device_cgroup_rules: dockerOnly('device cgroup rules'),
  devices: dockerOnly('devices'),
  dns: containerOption('DNS servers'),
  dns_opt: containerOption('resolver options'),
  dns_search: containerOption('DNS search domains'),
  domainname: containerOption('domain name'),
  expose: warn('is documentation here: ports are not published by `expose`; services reach each other on any port, published with `ports:`'),
  // honoured by the loader (compose/extends.ts), which removes it before validation
  extends: { honour: true },
  external_links: warn(`${IGNORED}: no links are made to containers outside the stack`),
  extra_hosts: containerOption('extra /etc/hosts entries'),
  gpus: split(warn('is a container option; a process service sees the host\'s devices'), refuse('GPU state cannot be checkpointed by CRIU: run the GPU work outside the stack, or without `gpus:`')),
  group_add: containerOption('supplementary groups'),
  init: split(
    warn('is a container option; a process service always has an init: the namespace\'s'),
    warn('is passed to Docker (docker-init as pid 1), but `ckpt checkpoint` refuses such a container: runc cannot restore it; run an init from the image\'s entrypoint instead'),
  ),
  ipc: split(warn(`${IGNORED}: every process service has an IPC namespace of its own`), warn(`${IGNORED}: the container gets a private IPC namespace`)),
  isolation: warn('is for Windows containers; ignored'),
  label_file: dockerOnly('labels from a file'),
  links: warn(`${IGNORED}: links are legacy; a service is reached by its address on the stack's network`),
  logging: warn(`${IGNORED}: ckpt keeps each service's output itself (\`ckpt logs\`)`),
  mac_address: dockerOnly('MAC address'),
  mem_limit: containerOption('memory limit'),
  mem_reservation: containerOption('memory reservation'),
  mem_swappiness: dockerOnly('swappiness'),
  memswap_limit: containerOption('memory+swap limit'),
  // a process service takes host and none (compose/networks.ts warns about the rest)
  network_mode: { honour: true },
  // a process service joins them on x-ckpt.network: compose (compose/networks.ts warns otherwise)
  networks: { honour: true },
  oom_kill_disable: dockerOnly('OOM killer setting'),
  oom_score_adj: containerOption('OOM score'),
  pid: split(
    warn(`${IGNORED}: a process service has a pid namespace of its own (x-ckpt.pid_namespace: host shares the host's)`),
    refuse('a container in another pid namespace (the host\'s or a service\'s) cannot be checkpointed on its own: remove `pid:`'),
  ),
  pids_limit: containerOption('pids limit'),
  platform: warn(`${IGNORED}: the image runs on this machine's platform; a checkpoint restores only on the same CPU architecture`),
  post_start: warn(`${IGNORED}: the lifecycle hook does not run; put it in the command`),
  pre_stop: warn(`${IGNORED}: the lifecycle hook does not run; handle SIGTERM in the program`),
  privileged: containerOption('privileged mode'),
  // honoured by the loader (load.ts activeServices): --profile, COMPOSE_PROFILES
  profiles: { honour: true },
  pull_policy: warn('is ignored: ckpt never pulls (no registry is used); the image must be present'),
  read_only: containerOption('read-only root filesystem'),
  runtime: dockerOnly('OCI runtime (ckpt uses ckpt-runc for restores)'),
  scale: warn(`${IGNORED}: one instance of the service runs`),
  secrets: split(warn(`${IGNORED} for a process service: nothing is mounted at /run/secrets; the program reads the file at its own path`), { honour: true }),
  security_opt: containerOption('security options'),
  shm_size: containerOption('/dev/shm size'),
  // a restored container's stdin is the shim's again (runc hands CRIU the new pipe, or the new pty)
  stdin_open: split(warn('is a container option; a process service\'s stdin is /dev/null'), { honour: true }),
  stop_signal: split(warn(`${IGNORED}: \`ckpt down\` stops a process service with SIGTERM, then SIGKILL after its grace period`), { honour: true }),
  storage_opt: dockerOnly('storage driver options'),
  sysctls: containerOption('namespaced sysctls'),
  // a process service's tmpfs mounts are made in its mount namespace, as its volumes are
  tmpfs: { honour: true },
  // CRIU restores the program on a new pty whose master goes to the shim (ckpt-runc.sh)
  tty: split(warn('is a container option; a process service has no terminal'), { honour: true }),
  ulimits: warn(`${IGNORED}: the service runs with ckpt's limits (raising them needs CAP_SYS_RESOURCE, which root lacks on some hosts)`),
  userns_mode: dockerOnly('user namespace mode'),
  uts: dockerOnly('UTS namespace mode'),
  volumes_from: warn(`${IGNORED}: mount the same named volumes with \`volumes:\` instead`),
};

export const TOP_LEVEL_KEYS: Record<string, Verdict> = {
  // honoured by the loader (compose/include.ts), which removes it before validation
  include: { honour: true },
  // declarations: what a service that names one gets is that service's verdict
  secrets: { honour: true },
  configs: { honour: true },
};

function verdictFor(rule: Rule, runtime: 'process' | 'docker'): Verdict {
  return 'process' in rule ? rule[runtime] : rule;
}

/**
 * The verdict on each key the spec allows and ckpt's schema does not model (`specOnly`, found by
 * validate.ts): refusals as issues, the rest as warnings.
 */
export function classifyKeys(value: unknown, specOnly: { at: Path; key: string }[]): { issues: Issue[]; warnings: Issue[] } {
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  const services = isRecord(value) && isRecord(value['services']) ? value['services'] : {};
  for (const { at, key } of specOnly) {
    let verdict: Verdict;
    if (at.length === 0 && TOP_LEVEL_KEYS[key]) verdict = TOP_LEVEL_KEYS[key];
    else if (at.length === 2 && at[0] === 'services' && SERVICE_KEYS[key]) {
      const s = services[String(at[1])];
      verdict = verdictFor(SERVICE_KEYS[key], isRecord(s) ? serviceRuntime(s as RawService) : 'process');
    } else verdict = warn(`is a Compose key that ${IGNORED}; it is ignored`);
    if ('honour' in verdict) continue;
    const where = { at: [...at, key], key: true, path: at };
    if ('refuse' in verdict) issues.push({ ...where, message: `\`${key}\` is refused: ${verdict.refuse}` });
    else warnings.push({ ...where, message: `\`${key}\` ${verdict.warn}` });
  }
  return { issues, warnings };
}

/** Options of top-level declarations and values that ckpt's schema accepts but ckpt does not act on. */
export function declarationWarnings(value: unknown): Issue[] {
  const out: Issue[] = [];
  if (!isRecord(value)) return out;
  const networks = isRecord(value['networks']) ? value['networks'] : {};
  const services0 = isRecord(value['services']) ? Object.values(value['services']) : [];
  const projectMode = isRecord(value['x-ckpt']) && typeof value['x-ckpt']['network'] === 'string' ? value['x-ckpt']['network'] : undefined;
  const joins = (s: unknown): boolean =>
    isRecord(s) && (serviceRuntime(s as RawService) === 'docker' || processNetworkMode(s as RawService, projectMode) === 'compose');
  if (!services0.some(joins)) {
    for (const name of Object.keys(networks).sort()) {
      out.push({ at: ['networks', name], key: true, path: ['networks'], message: `\`${name}\` is not created: no service joins compose networks (containers do, and process services with x-ckpt.network: compose)` });
    }
  }
  const volumes = isRecord(value['volumes']) ? value['volumes'] : {};
  for (const name of Object.keys(volumes).sort()) {
    const opts = volumes[name];
    if (!isRecord(opts)) continue;
    for (const k of Object.keys(opts).sort()) {
      // `name:` names an external volume; on one ckpt makes, the project's prefix stays (a clone gets its own)
      if (k === 'external' || (k === 'name' && opts['external'] === true) || k.startsWith('x-')) continue;
      if (k === 'name') {
        out.push({ at: ['volumes', name, k], key: true, path: ['volumes', name], message: `\`name\` ${IGNORED} for a volume ckpt makes: it is named <project>_${name}, so that a clone gets a volume of its own` });
        continue;
      }
      out.push({ at: ['volumes', name, k], key: true, path: ['volumes', name], message: `\`${k}\` ${IGNORED}: the volume is made with Docker's defaults (local driver, no options)` });
    }
  }
  const services = isRecord(value['services']) ? value['services'] : {};
  for (const name of Object.keys(services).sort()) {
    const s = services[name];
    if (isRecord(s) && serviceRuntime(s as RawService) === 'docker') out.push(...containerWarnings(name, s));
    if (!isRecord(s) || serviceRuntime(s as RawService) !== 'process') continue;
    if (s['build'] !== undefined) {
      out.push({ at: ['services', name, 'build'], key: true, path: ['services', name], message: '`build` is ignored: the service runs as a process (x-ckpt.runtime: process)' });
    }
    if (s['labels'] !== undefined) {
      out.push({ at: ['services', name, 'labels'], key: true, path: ['services', name], message: '`labels` is a container option; a process service ignores it' });
    }
  }
  return out;
}

/** What a container's deploy: and network_mode: ask that ckpt does not do, or that a checkpoint will refuse. */
function containerWarnings(name: string, s: Record<string, unknown>): Issue[] {
  const out: Issue[] = [];
  const at = (...p: (string | number)[]): Issue['at'] => ['services', name, ...p];
  const d = s['deploy'];
  if (isRecord(d)) {
    for (const k of Object.keys(d).sort()) {
      if (k === 'resources' || k.startsWith('x-')) continue;
      if (k === 'replicas') {
        if (Number(d[k]) !== 1) out.push({ at: at('deploy', k), key: true, path: at('deploy'), message: `\`replicas\` ${IGNORED}: one instance of the service runs (${String(d[k])} asked for)` });
        continue;
      }
      out.push({ at: at('deploy', k), key: true, path: at('deploy'), message: `\`${k}\` is for a swarm, which ckpt does not use: it is ignored` });
    }
    const res = isRecord(d['resources']) ? d['resources'] : {};
    const reservations = isRecord(res['reservations']) ? res['reservations'] : {};
    for (const k of Object.keys(reservations).sort()) {
      if (k !== 'memory') out.push({ at: at('deploy', 'resources', 'reservations', k), key: true, path: at('deploy', 'resources', 'reservations'), message: `\`${k}\` ${IGNORED}: the container runs without the reservation` });
    }
  }
  const mode = s['network_mode'];
  if (typeof mode === 'string' && (mode === 'host' || mode.startsWith('service:') || mode.startsWith('container:'))) {
    out.push({
      at: at('network_mode'),
      message: `the container runs in ${mode === 'host' ? 'the host\'s network namespace' : 'another container\'s network namespace'}, and \`ckpt checkpoint\` refuses it: its sockets are not its own to restore`,
    });
  }
  return out;
}
