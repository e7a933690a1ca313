// The Compose keys that are options of a container and that ckpt passes to Docker as they are
// (capabilities, sysctls, DNS, limits, tmpfs, the stop signal…). Their shape is the spec's schema's
// to check; here their values are read into ContainerOptions, with compose's coercions: booleans
// and numbers may be strings (after interpolation), sizes are byte strings like `512m`.
import { parseBytes } from '../build.js';
import { isRecord } from '../raw.js';
import type { ContainerOptions } from '../types.js';

/** The keys read here: a container honours them; a process service is warned that it does not. */
export const CONTAINER_OPTION_KEYS = [
  'cap_add',
  'cap_drop',
  'privileged',
  'init',
  'read_only',
  'security_opt',
  'sysctls',
  'dns',
  'dns_search',
  'dns_opt',
  'extra_hosts',
  'shm_size',
  'tmpfs',
  'group_add',
  'mem_limit',
  'memswap_limit',
  'mem_reservation',
  'cpus',
  'cpu_shares',
  'cpuset',
  'pids_limit',
  'oom_score_adj',
  'domainname',
  'stop_signal',
  'network_mode',
  'deploy',
] as const;

export interface OptionProblem {
  key: string;
  message: string;
}

const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

function bool(key: string, v: unknown, problems: OptionProblem[]): boolean | undefined {
  if (v === undefined || typeof v === 'boolean') return v;
  if (/^(true|1|yes)$/i.test(String(v))) return true;
  if (/^(false|0|no)$/i.test(String(v))) return false;
  problems.push({ key, message: 'must be true or false' });
  return undefined;
}

function num(key: string, v: unknown, problems: OptionProblem[], integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : /^\s*-?[0-9]+(\.[0-9]+)?\s*$/.test(String(v)) ? Number(v) : NaN;
  if (Number.isNaN(n) || (integer && !Number.isInteger(n))) {
    problems.push({ key, message: integer ? 'must be a whole number' : 'must be a number' });
    return undefined;
  }
  return n;
}

function bytes(key: string, v: unknown, problems: OptionProblem[]): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' || typeof v === 'string' ? parseBytes(v) : undefined;
  // memswap_limit -1: unlimited swap, as Docker takes it
  if (n === undefined && String(v).trim() === '-1') return -1;
  if (n === undefined) problems.push({ key, message: 'must be a size: a number of bytes, or like `512m`, `1g`' });
  return n;
}

/** sysctls and extra_hosts come as a list of `k=v` (or `host:addr`) or as a mapping. */
function pairs(v: unknown, sep: string): [string, string][] {
  if (v === undefined) return [];
  if (Array.isArray(v)) {
    return v.map((item) => {
      const s = String(item);
      const i = s.search(/[=]/) >= 0 ? s.indexOf('=') : s.indexOf(sep);
      return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
    });
  }
  if (isRecord(v)) return Object.entries(v).flatMap(([k, x]) => (Array.isArray(x) ? x.map((y) => [k, String(y)] as [string, string]) : [[k, x === null ? '' : String(x)] as [string, string]]));
  return [];
}

export function readContainerOptions(s: Record<string, unknown>): { options: ContainerOptions; problems: OptionProblem[] } {
  const p: OptionProblem[] = [];
  const o: ContainerOptions = {};
  const set = <K extends keyof ContainerOptions>(k: K, v: ContainerOptions[K] | undefined): void => {
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) o[k] = v;
  };
  set('capAdd', list(s['cap_add']));
  set('capDrop', list(s['cap_drop']));
  set('privileged', bool('privileged', s['privileged'], p));
  set('init', bool('init', s['init'], p));
  set('readOnly', bool('read_only', s['read_only'], p));
  set('securityOpt', list(s['security_opt']));
  if (s['sysctls'] !== undefined) set('sysctls', Object.fromEntries(pairs(s['sysctls'], '=')));
  set('dns', list(s['dns']));
  set('dnsSearch', list(s['dns_search']));
  set('dnsOpt', list(s['dns_opt']));
  set('extraHosts', pairs(s['extra_hosts'], ':').map(([h, a]) => `${h}:${a}`));
  set('shmSizeBytes', bytes('shm_size', s['shm_size'], p));
  set('tmpfs', list(s['tmpfs']));
  set('groupAdd', list(s['group_add']));
  set('memLimitBytes', bytes('mem_limit', s['mem_limit'], p));
  set('memswapLimitBytes', bytes('memswap_limit', s['memswap_limit'], p));
  set('memReservationBytes', bytes('mem_reservation', s['mem_reservation'], p));
  set('cpus', num('cpus', s['cpus'], p));
  set('cpuShares', num('cpu_shares', s['cpu_shares'], p, true));
  if (typeof s['cpuset'] === 'string') set('cpuset', s['cpuset']);
  set('pidsLimit', num('pids_limit', s['pids_limit'], p, true));
  set('oomScoreAdj', num('oom_score_adj', s['oom_score_adj'], p, true));
  if (typeof s['domainname'] === 'string') set('domainname', s['domainname']);
  if (typeof s['stop_signal'] === 'string') set('stopSignal', s['stop_signal']);
  if (typeof s['network_mode'] === 'string') set('networkMode', s['network_mode']);
  // deploy's resource limits, where the service does not set the same key itself (it wins)
  const res = isRecord(s['deploy']) && isRecord(s['deploy']['resources']) ? s['deploy']['resources'] : {};
  const limits = isRecord(res['limits']) ? res['limits'] : {};
  const reservations = isRecord(res['reservations']) ? res['reservations'] : {};
  if (o.cpus === undefined) set('cpus', num('deploy.resources.limits.cpus', limits['cpus'], p));
  if (o.memLimitBytes === undefined) set('memLimitBytes', bytes('deploy.resources.limits.memory', limits['memory'], p));
  if (o.pidsLimit === undefined) set('pidsLimit', num('deploy.resources.limits.pids', limits['pids'], p, true));
  if (o.memReservationBytes === undefined) set('memReservationBytes', bytes('deploy.resources.reservations.memory', reservations['memory'], p));
  return { options: o, problems: p };
}
