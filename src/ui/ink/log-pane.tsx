// The selected service's output: follows the end, or stays where it was scrolled to.
import React from 'react';
import { Text } from 'ink';
import { Pane } from './pane.js';
import { cell } from './text.js';

export interface LogPaneProps {
  service?: string;
  lines: string[];
  /** lines scrolled up from the end; 0 follows */
  scroll: number;
  width: number;
  height: number;
}

/** The largest useful scroll for these lines in a pane of this height. */
export function maxLogScroll(lines: number, height: number): number {
  return Math.max(0, lines - Math.max(1, height - 2));
}

/** A service's line as the pane shows it: its own escape sequences would move the cursor. */
function clean(line: string): string {
  return line.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\t/g, '  ').replace(/[\x00-\x1f\x7f]/g, '');
}

/** Long lines wrap, so nothing a service says is cut off; the newest rows are at the bottom. */
function rowsEndingAt(lines: string[], end: number, width: number, count: number): string[] {
  const rows: string[] = [];
  for (let i = end - 1; i >= 0 && rows.length < count; i--) {
    const l = clean(lines[i]!);
    const parts: string[] = [];
    for (let p = 0; p < Math.max(1, l.length); p += width) parts.push(l.slice(p, p + width));
    rows.unshift(...parts);
  }
  return rows.slice(-count);
}

export function LogPane({ service, lines, scroll, width, height }: LogPaneProps): React.JSX.Element {
  const inner = width - 2;
  const visible = Math.max(1, height - 2);
  const off = Math.min(scroll, maxLogScroll(lines.length, height));
  const shown = rowsEndingAt(lines, lines.length - off, Math.max(1, inner), visible);
  const title = service ? `Logs · ${service} ${off === 0 ? '(following)' : `(up ${off}; f follows)`}` : 'Logs';
  return (
    <Pane title={title} width={width} height={height}>
      {shown.length === 0 ? (
        <Text dimColor wrap="truncate">
          {cell(service ? '(no output yet)' : '(no service)', inner)}
        </Text>
      ) : (
        shown.map((l, i) => (
          <Text key={i} wrap="truncate">
            {cell(l, inner)}
          </Text>
        ))
      )}
    </Pane>
  );
}
