// The Compose keys that are options of a container and that ckpt passes to Docker as they are
// (capabilities, sysctls, DNS, limits, tmpfs, the stop signal…). Their shape is the spec's schema's
// to check; here their values are read into ContainerOptions, with compose's coercions: booleans
// and numbers may be strings (after interpolation), sizes are byte strings like `512m`.
import { parseBytes } from '../build.js';
import { isRecord } from '../raw.js';
import type { ContainerOptions } from '../types.js';

/**
 * Each option's compose key. `ckpt config` writes the options back under these names
 * (render.ts); the reading below uses the same keys.
 */
export const COMPOSE_KEYS: Record<keyof ContainerOptions, string> = {
  capAdd: 'cap_add',
  capDrop: 'cap_drop',
  privileged: 'privileged',
  init: 'init',
  readOnly: 'read_only',
  securityOpt: 'security_opt',
  sysctls: 'sysctls',
  dns: 'dns',
  dnsSearch: 'dns_search',
  dnsOpt: 'dns_opt',
  extraHosts: 'extra_hosts',
  shmSizeBytes: 'shm_size',
  tmpfs: 'tmpfs',
  groupAdd: 'group_add',
  memLimitBytes: 'mem_limit',
  memswapLimitBytes: 'memswap_limit',
  memReservationBytes: 'mem_reservation',
  cpus: 'cpus',
  cpuShares: 'cpu_shares',
  cpuset: 'cpuset',
  pidsLimit: 'pids_limit',
  oomScoreAdj: 'oom_score_adj',
  domainname: 'domainname',
  stopSignal: 'stop_signal',
  networkMode: 'network_mode',
  tty: 'tty',
  stdinOpen: 'stdin_open',
};

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

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const int = (v: unknown, key: string, p: OptionProblem[]): number | undefined => num(key, v, p, true);
type Reader<T> = (v: unknown, key: string, p: OptionProblem[]) => T | undefined;

/** How each option's value is read from its compose key (COMPOSE_KEYS). */
const READERS: { [K in keyof ContainerOptions]-?: Reader<ContainerOptions[K]> } = {
  capAdd: list,
  capDrop: list,
  privileged: (v, k, p) => bool(k, v, p),
  init: (v, k, p) => bool(k, v, p),
  readOnly: (v, k, p) => bool(k, v, p),
  securityOpt: list,
  sysctls: (v) => (v === undefined ? undefined : Object.fromEntries(pairs(v, '='))),
  dns: list,
  dnsSearch: list,
  dnsOpt: list,
  extraHosts: (v) => pairs(v, ':').map(([h, a]) => `${h}:${a}`),
  shmSizeBytes: (v, k, p) => bytes(k, v, p),
  tmpfs: list,
  groupAdd: list,
  memLimitBytes: (v, k, p) => bytes(k, v, p),
  memswapLimitBytes: (v, k, p) => bytes(k, v, p),
  memReservationBytes: (v, k, p) => bytes(k, v, p),
  cpus: (v, k, p) => num(k, v, p),
  cpuShares: int,
  cpuset: str,
  pidsLimit: int,
  oomScoreAdj: int,
  domainname: str,
  stopSignal: str,
  networkMode: str,
  tty: (v, k, p) => bool(k, v, p),
  stdinOpen: (v, k, p) => bool(k, v, p),
};

export function readContainerOptions(s: Record<string, unknown>): { options: ContainerOptions; problems: OptionProblem[] } {
  const p: OptionProblem[] = [];
  const o: Record<string, unknown> = {};
  const set = (k: keyof ContainerOptions, v: unknown): void => {
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) o[k] = v;
  };
  for (const [field, key] of Object.entries(COMPOSE_KEYS) as [keyof ContainerOptions, string][]) set(field, READERS[field](s[key], key, p));
  // deploy's resource limits, where the service does not set the same key itself (it wins)
  const res = isRecord(s['deploy']) && isRecord(s['deploy']['resources']) ? s['deploy']['resources'] : {};
  const limits = isRecord(res['limits']) ? res['limits'] : {};
  const reservations = isRecord(res['reservations']) ? res['reservations'] : {};
  if (o['cpus'] === undefined) set('cpus', num('deploy.resources.limits.cpus', limits['cpus'], p));
  if (o['memLimitBytes'] === undefined) set('memLimitBytes', bytes('deploy.resources.limits.memory', limits['memory'], p));
  if (o['pidsLimit'] === undefined) set('pidsLimit', num('deploy.resources.limits.pids', limits['pids'], p, true));
  if (o['memReservationBytes'] === undefined) set('memReservationBytes', bytes('deploy.resources.reservations.memory', reservations['memory'], p));
  return { options: o as ContainerOptions, problems: p };
}
