// Shared test plumbing: temporary state, the "needs root + CRIU" gate, leak checks.
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';

import type { Test } from 'tap';

/** the root `t` or any subtest */
type T = Pick<Test, 'skip' | 'fail' | 'teardown'>;

export const inCI = process.env.CI === 'true';

/**
 * True when the test can run. Otherwise it skips with the reason — except under CI=true, where a
 * skipped integration test is a failure (CI must have set the machine up).
 */
export function requireIntegration(t: T, needs: { criu?: boolean; docker?: boolean } = {}): boolean {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  if (needs.criu && !existsSync(process.env.CKPT_CRIU || '/usr/local/sbin/criu')) {
    missing.push('CRIU (run: sudo bash criu-patches/build.sh)');
  }
  if (needs.docker && !existsSync('/var/run/docker.sock')) {
    missing.push('dockerd (run: sudo bash scripts/dockerd.sh && sudo bash scripts/build-devcontainer-image.sh)');
  }
  if (!missing.length) return true;
  const msg = `needs ${missing.join(' and ')}`;
  if (inCI) t.fail(`integration test cannot run under CI: ${msg}`);
  else t.skip(msg, () => undefined);
  return false;
}

export function tempDir(t: T, prefix = 'ckpt-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeManifest(dir: string, yaml: string, name = 'ckpt.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

/** Every pid whose process is in the given mount namespace (by inode of /proc/PID/ns/mnt). */
export function pidsInMountNs(nsLink: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readlinkSync(`/proc/${d}/ns/mnt`) === nsLink) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

export function nsLink(pid: number, ns: 'mnt' | 'pid' | 'net'): string {
  return readlinkSync(`/proc/${pid}/ns/${ns}`);
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The environment a user's shell would give bin/ckpt: not tap's (its NODE_OPTIONS loaders). */
export function userEnv(extra: Record<string, string> = {}): Record<string, string> {
  const keep = ['PATH', 'HOME', 'LANG', 'TERM', 'CI', 'CKPT_CRIU'];
  const base = Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]!]));
  return { ...base, NO_COLOR: '1', ...extra };
}


/**
 * Process services' volumes in the test's own directory (CKPT_VOLUMES, read by the core at each
 * call): nothing lands in /var/lib/ckpt/volumes. Returns the directory.
 */
export function volumesDir(t: T, dir: string): string {
  const before = process.env.CKPT_VOLUMES;
  const root = join(dir, 'volumes');
  process.env.CKPT_VOLUMES = root;
  t.teardown(() => {
    if (before === undefined) delete process.env.CKPT_VOLUMES;
    else process.env.CKPT_VOLUMES = before;
  });
  return root;
}
