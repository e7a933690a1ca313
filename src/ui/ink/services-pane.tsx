// The stack's services: what runs, how healthy, how big, how busy.
import React from 'react';
import { Text } from 'ink';
import { formatBytes, formatDuration } from '../../core/index.js';
import type { ServiceRow } from '../stack-controller.js';
import { Pane } from './pane.js';
import { cell } from './text.js';
import { tint, useTheme, type Theme } from './theme.js';

export interface ServicesPaneProps {
  project: string;
  rows: ServiceRow[];
  selected: number;
  focused: boolean;
  width: number;
  fromSet?: string;
  stackUp: boolean;
}

const COLUMNS: [string, number, 'left' | 'right'][] = [
  ['RUNTIME', 8, 'left'],
  ['STATE', 9, 'left'],
  ['HEALTH', 10, 'left'],
  ['PID', 7, 'right'],
  ['RSS', 8, 'right'],
  ['CPU', 7, 'right'],
  ['UPTIME', 8, 'right'],
];

export function servicesPaneHeight(rows: number): number {
  return Math.max(1, rows) + 3;
}

function stateColor(theme: Theme, r: ServiceRow): string | undefined {
  if (r.state !== 'running') return tint(theme, 'red');
  if (r.health === 'unhealthy') return tint(theme, 'yellow');
  return tint(theme, 'green');
}

export function serviceCells(r: ServiceRow): string[] {
  return [
    r.runtime,
    r.state === 'exited' && r.exit ? r.exit : r.state,
    r.health,
    r.pid === undefined ? '-' : String(r.pid),
    r.rssBytes === undefined ? '-' : formatBytes(r.rssBytes),
    r.cpuPercent === undefined ? '-' : `${r.cpuPercent.toFixed(1)}%`,
    r.uptimeMs === undefined ? '-' : formatDuration(r.uptimeMs).replace(/\.\d+s$/, 's'),
  ];
}

export function ServicesPane({ project, rows, selected, focused, width, fromSet, stackUp }: ServicesPaneProps): React.JSX.Element {
  const theme = useTheme();
  const inner = width - 2;
  const nameW = Math.max(10, ...rows.map((r) => r.service.length + 3));
  const title = `Services · ${project}${fromSet ? ` (restored from ${fromSet})` : ''}`;
  const header = '  ' + cell('SERVICE', nameW - 2) + COLUMNS.map(([h, w, a]) => cell(h, w, a)).join('');
  return (
    <Pane title={title} width={width} height={servicesPaneHeight(rows.length)} focused={focused}>
      <Text bold wrap="truncate">
        {cell(header, inner)}
      </Text>
      {rows.length === 0 ? (
        <Text dimColor wrap="truncate">
          {cell(stackUp ? '  (no services)' : `  stack ${project} is not running`, inner)}
        </Text>
      ) : (
        rows.map((r, i) => {
          const sel = i === selected;
          const cells = serviceCells(r);
          const rest = COLUMNS.map(([, w, a], j) => cell(cells[j]!, w, a));
          const color = stateColor(theme, r);
          return (
            <Text key={r.service} wrap="truncate" inverse={sel && focused}>
              {sel ? '› ' : '  '}
              {cell(r.service, nameW - 2)}
              {rest[0]}
              <Text {...(color ? { color } : {})}>{rest[1]}</Text>
              {cell(rest.slice(2).join(''), Math.max(0, inner - nameW - rest[0]!.length - rest[1]!.length))}
            </Text>
          );
        })
      )}
    </Pane>
  );
}
