// Asks native/bin/ckpt-fhandle where the file behind a dump-time handle is now (Node has no
// open_by_handle_at). The directory handed over only has to be on the file's filesystem.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packageRoot } from '../../paths.js';
import type { KeptByHandle } from './read.js';

export type HandleLocation =
  | { kind: 'found'; path: string; deleted: boolean; ino: number; mtimeNs: string; size: number; mode: number }
  | { kind: 'stale' }
  | { kind: 'unknown'; why: string };

const fhandleBin = (): string => process.env.CKPT_FHANDLE || join(packageRoot, 'native/bin/ckpt-fhandle');

function nearestDir(path: string): string {
  for (let d = dirname(path); ; d = dirname(d)) {
    if (existsSync(d) || d === '/') return d;
  }
}

export function locateByHandle(path: string, kept: KeptByHandle): Promise<HandleLocation> {
  return new Promise((resolve) => {
    execFile(fhandleBin(), [nearestDir(path), String(kept.handleType), kept.handle], { timeout: 5000 }, (err, stdout) => {
      const line = String(stdout).trim();
      if (line === 'stale') return resolve({ kind: 'stale' });
      const m = /^ok (\d+) (\d+) (\d+) ([0-7]+) (.*)$/.exec(line);
      if (!m) return resolve({ kind: 'unknown', why: line || String(err?.message ?? 'no answer') });
      const p = m[5]!;
      const deleted = p.endsWith(' (deleted)');
      resolve({ kind: 'found', ino: Number(m[1]), mtimeNs: m[2]!, size: Number(m[3]), mode: parseInt(m[4]!, 8), path: deleted ? p.slice(0, -' (deleted)'.length) : p, deleted });
    });
  });
}
