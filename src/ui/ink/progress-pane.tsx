// Per service: a bar of bytes dumped or restored out of the expected total, with rate and ETA.
import React from 'react';
import { Box, Text } from 'ink';
import { barText, fractionOf, progressFigures, type ServiceProgress } from '../progress.js';
import { Pane } from './pane.js';
import { cell } from './text.js';
import { tint, useTheme } from './theme.js';

export interface ProgressPaneProps {
  title: string;
  rows: ServiceProgress[];
  width: number;
}

export function progressPaneHeight(rows: number): number {
  return Math.max(1, rows) + 2;
}

export interface ProgressBarProps {
  p: ServiceProgress;
  width: number;
  /** columns for the service name and for the figures, the same on every row so bars line up */
  nameW?: number;
  figuresW?: number;
}

export function ProgressBar({ p, width, nameW = Math.min(16, p.service.length + 1), figuresW = 0 }: ProgressBarProps): React.JSX.Element {
  const theme = useTheme();
  const figures = progressFigures(p).padEnd(figuresW);
  const pct = `${Math.floor(fractionOf(p) * 100)}%`.padStart(5);
  const barW = Math.max(4, width - nameW - pct.length - figures.length - 3);
  const color = tint(theme, p.final ? 'green' : 'cyan');
  return (
    <Box width={width}>
      <Text wrap="truncate">
        {cell(p.service, nameW)}
        <Text {...(color ? { color } : {})}>{barText(fractionOf(p), barW)}</Text>
        {pct} {cell(figures, Math.max(0, width - nameW - barW - pct.length - 1))}
      </Text>
    </Box>
  );
}

export function ProgressPane({ title, rows, width }: ProgressPaneProps): React.JSX.Element {
  return (
    <Pane title={title} width={width} height={progressPaneHeight(rows.length)}>
      {rows.length === 0 ? (
        <Text dimColor wrap="truncate">
          {cell('…', width - 2)}
        </Text>
      ) : (
        rows.map((p) => (
          <ProgressBar
            key={p.service}
            p={p}
            width={width - 2}
            nameW={Math.min(16, Math.max(...rows.map((r) => r.service.length)) + 1)}
            figuresW={Math.max(...rows.map((r) => progressFigures(r).length))}
          />
        ))
      )}
    </Pane>
  );
}
