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

export function LogPane({ service, lines, scroll, width, height }: LogPaneProps): React.JSX.Element {
  const inner = width - 2;
  const visible = Math.max(1, height - 2);
  const off = Math.min(scroll, maxLogScroll(lines.length, height));
  const end = lines.length - off;
  const shown = lines.slice(Math.max(0, end - visible), end);
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
            {/* a service's own escape sequences would move the cursor inside the pane */}
            {cell(l.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').replace(/\t/g, '  '), inner)}
          </Text>
        ))
      )}
    </Pane>
  );
}
