// Progress of a checkpoint or restore as the sinks show it: the core's 'progress' events per
// service, with rate and ETA worked out here the same way for the plain, JSON and Ink outputs.
import { formatBytes, formatDuration, type CoreEvent } from '../core/index.js';

export type ProgressEvent = Extract<CoreEvent, { type: 'progress' }>;

export interface ServiceProgress {
  op: 'checkpoint' | 'restore';
  set: string;
  service: string;
  doneBytes: number;
  totalBytes: number;
  elapsedMs: number;
  final: boolean;
  /** bytes per second over the last second or so (a live display's samples), when known */
  recentRate?: number;
}

/**
 * Bytes per second: over the last second while it runs (CRIU writes little at first, so the
 * average since the start would promise minutes for a dump of a second), over the whole dump or
 * restore once it is done.
 */
export function rateOf(p: ServiceProgress): number {
  if (!p.final && p.recentRate !== undefined) return p.recentRate;
  return p.elapsedMs > 0 ? (p.doneBytes * 1000) / p.elapsedMs : 0;
}

const RATE_WINDOW_MS = 1000;

/** Time left at the rate so far; undefined when it cannot be told (no rate, or past the estimate). */
export function etaMs(p: ServiceProgress): number | undefined {
  if (p.final) return 0;
  const rate = rateOf(p);
  if (rate <= 0 || p.doneBytes >= p.totalBytes) return undefined;
  return ((p.totalBytes - p.doneBytes) * 1000) / rate;
}

/** 0..1; below 1 until the final event, since the total is an estimate until then. */
export function fractionOf(p: ServiceProgress): number {
  if (p.final) return 1;
  if (p.totalBytes <= 0) return 0;
  return Math.min(0.99, p.doneBytes / p.totalBytes);
}

export function barText(fraction: number, width: number, ascii = false): string {
  const w = Math.max(0, width);
  const full = Math.round(fraction * w);
  return (ascii ? '#' : '█').repeat(full) + (ascii ? '-' : '░').repeat(w - full);
}

/** "81.7MiB/85.7MiB  226MiB/s  ETA 0.2s" */
export function progressFigures(p: ServiceProgress): string {
  const rate = rateOf(p);
  const eta = etaMs(p);
  const etaText = p.final ? 'done' : eta === undefined ? 'ETA -' : `ETA ${formatDuration(eta)}`;
  return `${formatBytes(p.doneBytes)}/${formatBytes(p.totalBytes)}  ${rate > 0 ? `${formatBytes(rate)}/s` : '-'}  ${etaText}`;
}

export function fromEvent(e: ProgressEvent): ServiceProgress {
  return { op: e.op, set: e.set, service: e.service, doneBytes: e.doneBytes, totalBytes: e.totalBytes, elapsedMs: e.elapsedMs, final: Boolean(e.final) };
}

/** The latest progress per service of one operation; a new operation (another set or op) starts afresh. */
export class ProgressBoard {
  private readonly byService = new Map<string, ServiceProgress>();
  private readonly samples = new Map<string, { ms: number; bytes: number }[]>();
  private key = '';

  /** Returns true when the event was a progress event (and so changed the board). */
  apply(e: CoreEvent): boolean {
    if (e.type !== 'progress') return false;
    const key = `${e.op}:${e.project}:${e.set}`;
    if (key !== this.key) {
      this.clear();
      this.key = key;
    }
    const window = (this.samples.get(e.service) ?? []).filter((x) => x.ms >= e.elapsedMs - RATE_WINDOW_MS);
    window.push({ ms: e.elapsedMs, bytes: e.doneBytes });
    this.samples.set(e.service, window);
    const first = window[0]!;
    const span = e.elapsedMs - first.ms;
    const p = fromEvent(e);
    if (span >= 150) p.recentRate = ((e.doneBytes - first.bytes) * 1000) / span;
    this.byService.set(e.service, p);
    return true;
  }

  rows(): ServiceProgress[] {
    return [...this.byService.values()].sort((a, b) => a.service.localeCompare(b.service));
  }

  clear(): void {
    this.byService.clear();
    this.samples.clear();
    this.key = '';
  }
}
