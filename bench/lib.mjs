// Helpers shared by the benchmarks (run.mjs, map-pages.mjs): timing child processes, medians,
// killing restored trees, tables.
import { spawn } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const log = (s) => process.stderr.write(`${s}\n`);
export const fmtMs = (ms) => (ms === undefined || Number.isNaN(ms) ? '-' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms)}ms`);
export const fmtRatio = (r) => (r === undefined || Number.isNaN(r) ? '-' : r.toFixed(2));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return undefined;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
export const min = (xs) => (xs.length ? Math.min(...xs) : undefined);
export const max = (xs) => (xs.length ? Math.max(...xs) : undefined);
export const summary = (xs) => ({ median: median(xs), min: min(xs), max: max(xs), n: xs.length, all: xs });

/** Runs a command; resolves with its wall time (from spawn to exit) and output. */
export function timed(cmd, args, opts = {}) {
  return new Promise((resolveP, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolveP({ ms: performance.now() - t0, code, signal, stdout, stderr }));
  });
}

export async function mustRun(what, cmd, args, opts) {
  const r = await timed(cmd, args, opts);
  if (r.code !== 0) {
    throw Object.assign(new Error(`${what} failed (exit ${r.code ?? r.signal}): ${cmd} ${args.join(' ')}\n${r.stderr || r.stdout}`), { signal: r.signal });
  }
  return r;
}

export function lastJsonLine(text) {
  const lines = text.trim().split('\n').filter(Boolean);
  return JSON.parse(lines.at(-1));
}

export function dirBytes(dir) {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

export function fsyncDir(dir) {
  for (const f of readdirSync(dir)) {
    const fd = openSync(join(dir, f), 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function alive(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export async function killTree(pid) {
  try {
    process.kill(pid, 'SIGKILL'); // the init of a pid namespace: the whole namespace goes with it
  } catch {
    return;
  }
  for (let i = 0; i < 500 && alive(pid); i++) await sleep(10);
  if (alive(pid)) throw new Error(`restored tree ${pid} did not die`);
}

export function table(headers, rows) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  return [line(headers), ...rows.map(line)].join('\n');
}

