// The store's sets as a lineage tree: a set taken from a restored stack hangs below the set the
// stack was restored from. Size and age on the right; the set the stack came from is starred.
import React from 'react';
import { Text } from 'ink';
import { formatBytes, type SetInfo } from '../../core/index.js';
import { lineageRows } from '../lineage.js';
import { Pane } from './pane.js';
import { cell, shortAge } from './text.js';
import { tint, useTheme } from './theme.js';

export interface SetsPaneProps {
  sets: SetInfo[];
  selected: number;
  focused: boolean;
  width: number;
  height: number;
  fromSet?: string;
  /** the stack the UI watches: sets of other stacks (the store is shared) are dimmed */
  project?: string;
  now: number;
}

/** The sets in the order the pane shows them (selection indexes into this). */
export function orderedSets(sets: SetInfo[]): SetInfo[] {
  return lineageRows(sets).map((r) => r.set);
}

export function SetsPane({ sets, selected, focused, width, height, fromSet, project, now }: SetsPaneProps): React.JSX.Element {
  const theme = useTheme();
  const inner = width - 2;
  const rows = lineageRows(sets);
  const visible = Math.max(1, height - 2);
  // keep the selection in view
  const start = Math.max(0, Math.min(selected - visible + 1, rows.length - visible));
  const nameW = Math.max(4, inner - 2 - 8 - 5);
  return (
    <Pane title={`Sets (${sets.length})`} width={width} height={height} focused={focused}>
      {rows.length === 0 ? (
        <Text dimColor wrap="truncate">
          {cell('  none yet: c takes one', inner)}
        </Text>
      ) : (
        rows.slice(start, start + visible).map((r, k) => {
          const i = start + k;
          const sel = i === selected;
          const mark = r.set.name === fromSet ? '*' : ' ';
          const size = formatBytes(r.set.sizeBytes);
          const age = shortAge(now - Date.parse(r.set.createdAt));
          const color = r.set.name === fromSet ? tint(theme, 'green') : undefined;
          return (
            <Text key={r.set.name} wrap="truncate" inverse={sel && focused} dimColor={project !== undefined && r.set.project !== project}>
              {sel ? '›' : ' '}
              <Text {...(color ? { color } : {})}>{mark}</Text>
              {cell(r.prefix + r.set.name, nameW)}
              {cell(size, 8, 'right')}
              {cell(age, 5, 'right')}
            </Text>
          );
        })
      )}
    </Pane>
  );
}
