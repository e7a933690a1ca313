// The plain sink: one line per event, for terminals without the Ink UI, pipes and CI.
import type { CoreEvent, EventSink } from '../../core/events.js';
import { formatBytes, formatDuration } from '../../util/time.js';
import { fromEvent, rateOf } from '../progress.js';

const ACTION_TEXT: Record<string, string> = {
  starting: 'Starting',
  started: 'Started',
  running: 'Running',
  recreating: 'Recreating',
  waiting: 'Waiting',
  healthy: 'Healthy',
  unhealthy: 'Unhealthy',
  exited: 'Exited',
  stopping: 'Stopping',
  stopped: 'Stopped',
};

export interface PlainSinkOptions {
  write?: (s: string) => void;
  /** width of the "service |" prefix of log lines */
  prefixWidth?: number;
  /** false: log lines without the "service |" prefix (logs --no-log-prefix) */
  logPrefix?: boolean;
  color?: boolean;
}

const PALETTE = [36, 33, 32, 35, 34, 31];

function phaseLine(e: Extract<CoreEvent, { type: 'checkpoint' | 'restore' }>): string | undefined {
  const d = e.detail ?? {};
  const ms = typeof d.ms === 'number' ? ` in ${formatDuration(d.ms)}` : '';
  if (e.service) {
    switch (e.phase) {
      // 'dumping' and 'dumped' are told by the progress events: the estimate, then the bytes and rate
      case 'restoring':
        return ` ${e.project}-${e.service}  Restoring`;
      case 'restored':
        return ` ${e.project}-${e.service}  Restored${ms} (pid ${d.pid})`;
      case 'dumped': {
        // what each volume's capture cost the frozen stack, and why that method
        const data = Array.isArray(d.data) ? (d.data as { volume: string; method: string; why: string; ms: number }[]) : [];
        return data.length ? data.map((v) => ` ${e.project}-${e.service}  Volume ${v.volume} captured by ${v.method} in ${formatDuration(v.ms)} (${v.why})`).join('\n') : undefined;
      }
    }
    return undefined;
  }
  switch (e.phase) {
    case 'frozen':
      return ` ${e.project}  Frozen${ms}`;
    case 'thawed':
      return ` ${e.project}  Thawed (frozen ${formatDuration(Number(d.frozenMs ?? 0))})`;
    case 'verified': {
      const kept = Number(d.unchanged ?? 0);
      return ` set ${e.set}  Verified${ms}${kept ? ` (${kept} file${kept === 1 ? '' : 's'} unchanged since hashed, not re-read)` : ''}`;
    }
  }
  return undefined;
}

export function plainSink(opts: PlainSinkOptions = {}): EventSink {
  const write = opts.write ?? ((s: string) => process.stdout.write(s));
  const colors = new Map<string, number>();
  const paint = (service: string, text: string): string => {
    if (!opts.color) return text;
    if (!colors.has(service)) colors.set(service, PALETTE[colors.size % PALETTE.length]!);
    return `\x1b[${colors.get(service)}m${text}\x1b[0m`;
  };
  const started = new Set<string>();
  return (e: CoreEvent) => {
    switch (e.type) {
      case 'service': {
        const detail = e.detail ? ` (${e.detail})` : '';
        write(` ${e.project}-${e.service}  ${ACTION_TEXT[e.action] ?? e.action}${detail}\n`);
        break;
      }
      case 'log': {
        if (opts.logPrefix === false) {
          write(`${e.line}\n`);
          break;
        }
        const prefix = `${e.service.padEnd(opts.prefixWidth ?? e.service.length)} | `;
        write(`${paint(e.service, prefix)}${e.line}\n`);
        break;
      }
      case 'checkpoint':
      case 'restore': {
        const line = phaseLine(e);
        if (line) write(line + '\n');
        break;
      }
      case 'progress': {
        // The first figure of a dump (its estimate) and each service's last one; the figures in
        // between are for live displays.
        const key = `${e.op} ${e.project} ${e.set} ${e.service}`;
        const who = ` ${e.project}-${e.service}`;
        if (e.final) {
          started.delete(key);
          const how = `in ${formatDuration(e.elapsedMs)} (${formatBytes(rateOf(fromEvent(e)))}/s)`;
          write(`${who}  ${e.op === 'checkpoint' ? 'Dumped' : 'Read'} ${formatBytes(e.doneBytes)}${e.op === 'restore' ? ' of images' : ''} ${how}\n`);
        } else if (!started.has(key)) {
          started.add(key);
          if (e.op === 'checkpoint') write(`${who}  Dumping (~${formatBytes(e.totalBytes)} expected)\n`);
        }
        break;
      }
      case 'build': {
        // the steps of the build (its full output goes to --json, and into the error if it fails)
        const who = ` ${e.project}-${e.service}`;
        const d = e.detail ?? {};
        if (e.phase === 'building') write(`${who}  Building ${String(d.image)}\n`);
        else if (e.phase === 'built') write(`${who}  Built ${String(d.image)} (${String(d.id).replace(/^sha256:/, '').slice(0, 12)}) in ${formatDuration(Number(d.ms ?? 0))}\n`);
        else if (e.line && /^Step \d+\/\d+ :/.test(e.line)) write(`${who}  ${e.line}\n`);
        break;
      }
      case 'message':
        write(`${e.level === 'warn' ? 'WARN ' : ''}${e.text}\n`);
        break;
    }
  };
}
