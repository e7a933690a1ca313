// Services as isolated process trees: each runs under its own ckpt-shim (native/ckpt-shim.c),
// which puts the service in fresh pid/mount/uts/ipc namespaces (and net, with
// `x-ckpt.network: private`) below a tiny init. The tree from that init down is what CRIU dumps.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../util/exec.js';
import { CkptError } from '../../errors.js';
import type { Project, Service } from '../../manifest/types.js';
import { shimPath } from '../../paths.js';
import { isAlive, readStat, startTimeMs, treeCpuTicks, treeRssBytes } from '../../util/proc.js';
import { waitFor } from '../../util/time.js';
import type { ExecResult, ServiceRecord, ServiceRuntime, ServiceStatus, StartDirs } from '../types.js';
import type { CutContext, RestoreContext, SetServiceMeta } from '../cut.js';
import { ProcessCheckpoint, ProcessRestore } from './cut.js';
import { createCgroup, removeCgroup, serviceCgroup, thaw } from './freezer.js';
import { serviceConfigHash } from '../config-hash.js';
import { addressesOf, onDockerNetworks, onHubNetworks, planComposeNetworks } from './compose-network.js';
import { joinDockerNetworks } from './docker-networks.js';
import { publishedPorts, savedConfig } from '../docker/saved-config.js';
import { mountArgs, prepareMounts, type ServiceMount } from './volumes.js';
import { attachHolderToHub, netnsPath, startServiceNetns, stopStackNetwork } from './stack-network.js';

/** The environment a process service sees: a minimal base plus what the manifest says. */
export function serviceEnvironment(service: Service, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {
    PATH: base.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  };
  for (const key of ['LANG', 'LC_ALL', 'TZ', 'HOME'] as const) {
    const v = base[key];
    if (v !== undefined) env[key] = v;
  }
  return { ...env, ...service.environment };
}

/** Where the service's network is: the stack's namespace, or (compose networks) its own and its hosts file. */
export interface ServiceNet {
  stackNetns?: string;
  ownNetns?: string;
  hostsFile?: string;
  resolvFile?: string;
}

export function shimArgs(service: Service, serviceDir: string, logFile: string, cgroup: string, net: ServiceNet = {}, mounts: ServiceMount[] = []): string[] {
  const args = ['run', '--state', serviceDir, '--log', logFile, '--cgroup', cgroup, ...mountArgs(mounts)];
  if (service.xCkpt.network === 'private') args.push('--net', 'private');
  if (service.xCkpt.network === 'stack') {
    if (!net.stackNetns) throw new Error(`service ${service.name} wants the stack network, but none was created`);
    args.push('--netns', net.stackNetns);
  }
  if (service.xCkpt.network === 'compose') {
    if (!net.ownNetns || !net.hostsFile) throw new Error(`service ${service.name} joins compose networks, but its namespace was not made`);
    args.push('--netns', net.ownNetns, '--hosts', net.hostsFile);
    if (net.resolvFile) args.push('--resolv', net.resolvFile);
  }
  if (service.xCkpt.pidNamespace === 'host') args.push('--pid', 'host');
  else args.push('--hostname', service.xCkpt.hostname ?? service.name);
  if (service.workingDir) args.push('--workdir', service.workingDir);
  if (service.user) args.push('--user', service.user);
  // The namespace's init restarts the service (a program of ckpt run has no init of its own).
  if (service.restart !== 'no' && service.xCkpt.pidNamespace !== 'host') {
    args.push('--restart', service.restart === 'on-failure' && service.restartMaxRetries ? `on-failure:${service.restartMaxRetries}` : service.restart);
  }
  args.push('--', ...service.command);
  return args;
}

function readPidFile(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function readExit(serviceDir: string): string | undefined {
  try {
    return readFileSync(join(serviceDir, 'exit'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export class ProcessRuntime implements ServiceRuntime {
  checkpointPart(ctx: CutContext, records: ServiceRecord[]): ProcessCheckpoint {
    return new ProcessCheckpoint(ctx, records);
  }

  restorePart(ctx: RestoreContext, services: Service[], meta: Record<string, SetServiceMeta>): ProcessRestore {
    return new ProcessRestore(ctx, services, meta);
  }

  readonly kind = 'process' as const;

  async start(project: Project, service: Service, { serviceDir, stateRoot, stackNetwork }: StartDirs): Promise<ServiceRecord> {
    if (process.getuid?.() !== 0) {
      throw new CkptError('NOT_ROOT', `cannot start ${service.name}: process services need root`, {
        hint: 'Run ckpt as root (sudo ckpt up): creating namespaces and dumping them with CRIU needs it.',
      });
    }
    const shim = shimPath();
    if (!existsSync(shim)) {
      throw new CkptError('TOOL_MISSING', `the service shim is missing: ${shim}`, {
        hint: 'Run `npm run build` in the ckpt checkout (it compiles native/ckpt-shim.c).',
      });
    }
    mkdirSync(serviceDir, { recursive: true, mode: 0o700 });
    const logFile = join(serviceDir, 'service.log');
    for (const stale of ['init.pid', 'shim.pid', 'exit']) rmSync(join(serviceDir, stale), { force: true });
    // volumes first: a refusal (a missing bind source) leaves nothing else made
    const mounts = prepareMounts(project, service);
    const cgroup = serviceCgroup(stateRoot, project.name, service.name);
    createCgroup(cgroup);
    const stackNetns = stackNetwork && netnsPath(stackNetwork);
    const held = onDockerNetworks(project, service) ? await joinDockerNetworks(project, service, serviceDir, stateRoot) : undefined;
    let heldAddresses: string[] | undefined;
    if (held && onHubNetworks(project, service)) {
      try {
        heldAddresses = await attachHolderToHub(project, service, held.pid, held.net.hostsFile, stackNetns);
      } catch (e) {
        await (await import('../docker/net-holder.js')).removeNetHolder(held.containerId);
        throw e;
      }
    }
    const own = onHubNetworks(project, service) && !held ? await startServiceNetns(project, service, serviceDir, stackNetns) : undefined;
    const net: ServiceNet = { ...(stackNetns ? { stackNetns } : {}), ...(own ? { ownNetns: own.netns, hostsFile: own.hostsFile } : {}), ...(held?.net ?? {}) };
    const child = spawn(shim, shimArgs(service, serviceDir, logFile, cgroup, net, mounts), {
      detached: true,
      stdio: 'ignore',
      env: serviceEnvironment(service),
      cwd: project.workingDir,
    });
    let spawnError: Error | undefined;
    child.on('error', (e) => (spawnError = e));
    child.unref();

    const initPidFile = join(serviceDir, 'init.pid');
    const initPid = await waitFor(() => readPidFile(initPidFile), { timeoutMs: 5000, intervalMs: 10 });
    if (spawnError || initPid === undefined) {
      if (own) await stopStackNetwork(own.holder);
      if (held) await (await import('../docker/net-holder.js')).removeNetHolder(held.containerId);
      throw new CkptError('SERVICE_START_FAILED', `service ${service.name} did not start`, {
        hint: 'See the shim log for why.',
        details: [tail(join(serviceDir, 'shim.log'), 5), spawnError?.message ?? ''].filter(Boolean),
        logFile: join(serviceDir, 'shim.log'),
      });
    }
    const st = readStat(initPid);
    return {
      service: service.name,
      runtime: 'process',
      configHash: serviceConfigHash(service),
      startedAt: new Date().toISOString(),
      logFile,
      shimPid: child.pid,
      cgroup,
      initPid,
      initStartTicks: st?.startTicks,
      ...(own ? { netnsPid: own.holder.pid, netnsStartTicks: own.holder.startTicks, addresses: own.addresses, ...(stackNetwork ? { hubPid: stackNetwork.pid } : {}) } : {}),
      ...(held ? { netHolder: { containerId: held.containerId, logFile: held.logFile } } : {}),
      ...(heldAddresses ? { addresses: heldAddresses, ...(stackNetwork ? { hubPid: stackNetwork.pid } : {}) } : {}),
    };
  }

  drift(project: Project, service: Service, record: ServiceRecord): string | undefined {
    if (!onHubNetworks(project, service) || !record.addresses) return undefined;
    const now = addressesOf(planComposeNetworks(project), service.name) ?? [];
    return now.join(' ') === record.addresses.join(' ') ? undefined : `address moved (${record.addresses.join(', ')} → ${now.join(', ')})`;
  }

  refresh(project: Project, service: Service, record: ServiceRecord): void {
    if (!onHubNetworks(project, service)) return;
    // written in place: the file bound over the service's /etc/hosts is this inode
    writeFileSync(join(serviceDirOf(record), 'hosts'), planComposeNetworks(project).services.get(service.name)!.hosts);
  }

  status(record: ServiceRecord): ServiceStatus {
    const pid = record.initPid;
    const base = { service: record.service, runtime: 'process' as const };
    if (pid !== undefined && isAlive(pid, record.initStartTicks)) {
      const st = readStat(pid)!;
      return {
        ...base,
        state: st.state === 'T' ? 'paused' : 'running',
        pid,
        rssBytes: treeRssBytes(pid),
        cpuTicks: treeCpuTicks(pid),
        uptimeMs: Date.now() - startTimeMs(st),
        // Docker publishes the ports of a service in a holder's namespace
        ...(record.netHolder ? { ports: publishedPorts(savedConfig({ ...record, logFile: record.netHolder.logFile })?.NetworkSettings?.Ports) } : {}),
      };
    }
    const exit = readExit(serviceDirOf(record));
    return { ...base, state: exit ? 'exited' : 'dead', ...(exit ? { exit } : {}) };
  }

  async stop(record: ServiceRecord, graceMs: number): Promise<void> {
    const { initPid, initStartTicks, shimPid } = record;
    const alive = (): boolean => initPid !== undefined && isAlive(initPid, initStartTicks);
    // A frozen task acts on no signal, not even SIGKILL, until thawed.
    if (record.cgroup) thaw(record.cgroup);
    if (alive()) {
      signal(initPid!, 'SIGTERM');
      await waitFor(() => (alive() ? undefined : true), { timeoutMs: graceMs, intervalMs: 20 });
      // SIGKILL of a pid namespace's init kills every process in the namespace.
      if (alive()) signal(initPid!, 'SIGKILL');
      await waitFor(() => (alive() ? undefined : true), { timeoutMs: 5000, intervalMs: 10 });
    }
    // The shim records the exit and leaves by itself; it must not outlive the service.
    if (shimPid !== undefined) {
      const shimGone = await waitFor(() => (isAlive(shimPid) ? undefined : true), { timeoutMs: 2000, intervalMs: 10 });
      if (!shimGone && isShim(shimPid)) signal(shimPid, 'SIGKILL');
    }
    if (alive()) {
      throw new CkptError('SERVICE_START_FAILED', `service ${record.service} (pid ${initPid}) did not stop`, {
        hint: `Check it with: ps -o pid,stat,cmd --ppid ${initPid}`,
      });
    }
    if (record.cgroup) removeCgroup(record.cgroup);
    if (record.netnsPid !== undefined) await stopStackNetwork({ pid: record.netnsPid, startTicks: record.netnsStartTicks });
    if (record.netHolder) await (await import('../docker/net-holder.js')).removeNetHolder(record.netHolder.containerId);
  }

  async exec(record: ServiceRecord, argv: string[], timeoutMs: number): Promise<ExecResult> {
    const pid = record.initPid;
    if (pid === undefined || !isAlive(pid, record.initStartTicks)) {
      return { exitCode: -1, stdout: '', stderr: 'service is not running', timedOut: false };
    }
    // nsenter forks after joining the pid namespace, so argv runs as a process of the service.
    const r = await run('nsenter', ['-t', String(pid), '-m', '-u', '-i', '-n', '-p', '--', ...argv], {
      timeoutMs,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut };
  }
}

function serviceDirOf(record: ServiceRecord): string {
  return join(record.logFile, '..');
}

function isShim(pid: number): boolean {
  return readStat(pid)?.comm === 'ckpt-shim';
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}
