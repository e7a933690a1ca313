import type { DoctorReport, PsRow } from '../core/index.js';
import type { StackState } from '../state/stack-state.js';
import { renderTable } from '../ui/plain/table.js';
import { formatBytes, formatDuration } from '../util/time.js';

export function printPs(rows: PsRow[], json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  const table = renderTable(
    ['SERVICE', 'RUNTIME', 'STATE', 'HEALTH', 'PID', 'RSS', 'UPTIME', 'PORTS'],
    rows.map((r) => [
      r.service,
      r.runtime,
      r.state === 'exited' && r.exit ? `exited (${r.exit})` : r.state,
      r.health,
      r.pid === undefined ? '-' : String(r.pid),
      r.rssBytes === undefined ? '-' : formatBytes(r.rssBytes),
      r.uptimeMs === undefined ? '-' : formatDuration(r.uptimeMs),
      r.ports.join(', '),
    ]),
  );
  process.stdout.write(table + '\n');
}

export function printStacks(stacks: StackState[], json: boolean): void {
  if (json) {
    process.stdout.write(
      JSON.stringify(
        stacks.map((s) => ({ name: s.project, manifest: s.manifestFile, services: Object.keys(s.services).sort(), createdAt: s.createdAt })),
        null,
        2,
      ) + '\n',
    );
    return;
  }
  const table = renderTable(
    ['NAME', 'SERVICES', 'MANIFEST'],
    stacks.map((s) => [s.project, String(Object.keys(s.services).length), s.manifestFile]),
  );
  process.stdout.write(table + '\n');
}

export function printDoctor(report: DoctorReport, json: boolean, color: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return;
  }
  const mark = (ok: boolean, optional?: boolean): string => {
    const s = ok ? 'ok  ' : optional ? 'warn' : 'FAIL';
    if (!color) return s;
    return `\x1b[${ok ? 32 : optional ? 33 : 31}m${s}\x1b[0m`;
  };
  const width = Math.max(...report.checks.map((c) => c.name.length));
  for (const c of report.checks) {
    process.stdout.write(`${mark(c.ok, c.optional)}  ${c.name.padEnd(width)}  ${c.detail}\n`);
    if (!c.ok && c.fix) process.stdout.write(`      ${' '.repeat(width)}  fix: ${c.fix}\n`);
  }
  process.stdout.write(report.ok ? 'ready\n' : 'not ready: fix the FAIL lines above\n');
}
