// The kernel features ckpt relies on, each with what it is for, probed one by one.
//
// Design: `criu check --all` asks for everything CRIU could ever use, autofs and soft-dirty
// among them, and fails on a kernel built without either although ckpt needs neither. So ckpt
// keeps its own list, derived from what its runtimes and tests do: what a process stack needs
// (namespaces, the v1 freezer for the consistent cut, clone3 with set_tid for the saved pids,
// the stack network's nft lock), what a container needs on top (seccomp, cgroup namespaces,
// overlayfs), and what CRIU would use that ckpt does not. Each is `required` (ckpt cannot run
// without it), `containers` (image services cannot), or `optional` (a warning naming what would
// not work). CRIU-side features are asked of `criu check --feature NAME`, which answers one per
// call (a later --feature replaces an earlier one), so they are asked in parallel.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { criuHasFeature } from '../criu/probe.js';
import { FREEZER_ROOT, freezerAvailable } from '../runtime/process/freezer.js';

export type FeatureNeed = 'required' | 'containers' | 'optional';

export interface KernelFeature {
  name: string;
  need: FeatureNeed;
  /** what ckpt uses it for */
  for: string;
  /** what does not work without it (for a warning) */
  without?: string;
  /** how it is probed: a `criu check --feature` name, or a check of the host */
  probe: { criu: string } | { host: () => { ok: boolean; detail?: string } };
}

export interface KernelFeatureResult {
  name: string;
  need: FeatureNeed;
  for: string;
  ok: boolean;
  detail: string;
  without?: string;
}

const filesystems = (): string[] => {
  try {
    return readFileSync('/proc/filesystems', 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/).pop() ?? '')
      .filter(Boolean);
  } catch {
    return [];
  }
};

const NAMESPACES = ['pid', 'mnt', 'net', 'uts', 'ipc'];

/** A probe of the host: `missing` says what is absent and how to get it. */
const host = (present: () => boolean, missing: string): KernelFeature['probe'] => ({ host: () => (present() ? { ok: true } : { ok: false, detail: missing }) });

/** A bridge-family nft table can be made (and is removed at once). */
function bridgeTables(): boolean {
  const table = `ckpt_probe_${process.pid}`;
  const made = spawnSync('nft', ['add', 'table', 'bridge', table], { stdio: 'ignore', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }).status === 0;
  if (made) spawnSync('nft', ['delete', 'table', 'bridge', table], { stdio: 'ignore', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  return made;
}

const onPath = (cmd: string): boolean =>
  (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')
    .split(':')
    .concat(['/usr/sbin', '/sbin'])
    .some((d) => d && existsSync(`${d}/${cmd}`));

export const KERNEL_FEATURES: KernelFeature[] = [
  {
    name: 'namespaces',
    need: 'required',
    for: 'each process service runs in pid, mount, network, UTS and IPC namespaces of its own',
    probe: {
      host: () => {
        const missing = NAMESPACES.filter((n) => !existsSync(`/proc/self/ns/${n}`));
        return missing.length ? { ok: false, detail: `no ${missing.join(', ')} namespace` } : { ok: true };
      },
    },
  },
  {
    name: 'freezer',
    need: 'required',
    for: 'the consistent cut: every service frozen (cgroup-v1 freezer) before the first dump starts',
    probe: host(freezerAvailable, `not mounted at ${FREEZER_ROOT}`),
  },
  { name: 'clone3_set_tid', need: 'required', for: 'restoring tasks with the pids they were dumped with', probe: { criu: 'clone3_set_tid' } },
  { name: 'ns_pid', need: 'required', for: 'the pids of tasks inside the services\' pid namespaces (NSpid)', probe: { criu: 'ns_pid' } },
  { name: 'mnt_id', need: 'required', for: 'which mount each open file is on (services have mount namespaces of their own)', probe: { criu: 'mnt_id' } },
  { name: 'can_map_vdso', need: 'required', for: 'mapping the vDSO into restored tasks', probe: { criu: 'can_map_vdso' } },
  { name: 'kcmp_epoll', need: 'required', for: 'epoll instances: the event loop of Node, Redis, PostgreSQL and most servers', probe: { criu: 'kcmp_epoll' } },
  { name: 'timerfd', need: 'required', for: 'timer file descriptors of event loops', probe: { criu: 'timerfd' } },
  { name: 'fdinfo_lock', need: 'required', for: 'file locks, such as a database\'s lock file', probe: { criu: 'fdinfo_lock' } },
  { name: 'sk_unix_file', need: 'required', for: 'unix sockets bound to a path (a database\'s or Redis\'s socket)', probe: { criu: 'sk_unix_file' } },
  { name: 'sk_ns', need: 'required', for: 'sockets of the stack\'s network namespace, which its services share', probe: { criu: 'sk_ns' } },
  { name: 'nsid', need: 'required', for: 'telling the stack\'s network namespace from the host\'s', probe: { criu: 'nsid' } },
  { name: 'external_net_ns', need: 'required', for: 'the stack\'s network namespace recorded as external, so every service is restored into one', probe: { criu: 'external_net_ns' } },
  { name: 'nftables', need: 'required', for: 'a restored stack\'s network stays locked (nft) until every service is back', probe: { criu: 'nftables' } },
  {
    name: 'nft',
    need: 'required',
    for: 'the nft command, which sets that lock',
    probe: host(() => onPath('nft'), 'nft is not installed (apt-get install nftables)'),
  },
  {
    name: 'iptables',
    need: 'required',
    for: 'CRIU locks each established TCP connection with iptables while it dumps and restores',
    probe: host(() => onPath('iptables-restore'), 'iptables-restore is not installed (apt-get install iptables)'),
  },
  {
    name: 'tcp_half_closed',
    need: 'optional',
    for: 'TCP connections shut down in one direction',
    without: 'a service holding a half-closed TCP connection cannot be checkpointed',
    probe: { criu: 'tcp_half_closed' },
  },
  { name: 'seccomp_suspend', need: 'containers', for: 'tasks under a seccomp filter: every container runs under Docker\'s default profile', probe: { criu: 'seccomp_suspend' } },
  { name: 'seccomp_filters', need: 'containers', for: 'dumping those seccomp filters', probe: { criu: 'seccomp_filters' } },
  { name: 'cgroupns', need: 'containers', for: 'containers\' cgroup namespaces', probe: { criu: 'cgroupns' } },
  {
    name: 'nft_bridge',
    need: 'containers',
    for: 'holding the traffic between a stack\'s containers (or process services on compose networks) on its bridges while they are dumped and restored (their connections survive)',
    probe: host(bridgeTables, 'nft cannot make a table of the bridge family (the kernel lacks nf_tables_bridge: modprobe nf_tables_bridge)'),
  },
  {
    name: 'ip',
    need: 'optional',
    for: 'compose networks of process services: bridges and veth pairs (iproute2)',
    without: 'a process service cannot join compose networks (x-ckpt.network: compose)',
    probe: host(() => onPath('ip'), 'ip is not installed (apt-get install iproute2)'),
  },
  {
    name: 'overlay',
    need: 'containers',
    for: 'Docker\'s overlay2 storage: containers\' root filesystems and writable layers',
    probe: host(() => filesystems().includes('overlay'), 'overlay is not in /proc/filesystems (modprobe overlay)'),
  },
  {
    name: 'mem_dirty_track',
    need: 'optional',
    for: 'soft-dirty page tracking: CRIU\'s pre-dump and --track-mem',
    without: 'no incremental dumps: every checkpoint writes all of a service\'s memory while the stack is frozen',
    probe: { criu: 'mem_dirty_track' },
  },
  {
    name: 'autofs',
    need: 'optional',
    for: 'autofs mounts inside a dumped mount namespace',
    without: 'a service whose mount namespace holds an autofs mount cannot be checkpointed; ckpt mounts none itself',
    probe: { criu: 'autofs' },
  },
  {
    name: 'aio_remap',
    need: 'optional',
    for: 'Linux AIO rings (io_setup), used by some databases (MariaDB\'s InnoDB)',
    without: 'a service with an AIO ring cannot be restored',
    probe: { criu: 'aio_remap' },
  },
  { name: 'uffd', need: 'optional', for: 'userfaultfd: CRIU\'s lazy restore', without: 'criu lazy-pages; ckpt does not use it', probe: { criu: 'uffd' } },
  { name: 'tun', need: 'optional', for: 'tun/tap devices inside a service', without: 'a service holding a tun/tap device cannot be checkpointed', probe: { criu: 'tun' } },
  { name: 'timens', need: 'optional', for: 'time namespaces', without: 'a service in a time namespace of its own cannot be checkpointed; ckpt makes none', probe: { criu: 'timens' } },
];

/** Every feature of the list, probed (CRIU's in parallel); a feature CRIU cannot probe is reported as missing, with CRIU's words. */
export async function probeKernelFeatures(criu: string, features: KernelFeature[] = KERNEL_FEATURES): Promise<KernelFeatureResult[]> {
  return Promise.all(
    features.map(async (f) => {
      const base = { name: f.name, need: f.need, for: f.for, ...(f.without ? { without: f.without } : {}) };
      if ('host' in f.probe) {
        const r = f.probe.host();
        return { ...base, ok: r.ok, detail: r.detail ?? (r.ok ? 'present' : 'missing') };
      }
      const r = await criuHasFeature(criu, f.probe.criu);
      return { ...base, ok: r.ok, detail: r.ok ? 'supported' : r.output || `criu check --feature ${f.probe.criu} failed` };
    }),
  );
}
