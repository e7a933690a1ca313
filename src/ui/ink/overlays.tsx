// What takes the place of the sets and log panes for a moment: help, a question, a name to type,
// and the inspect view (which takes the whole screen below the header).
import React from 'react';
import { Box, Text } from 'ink';
import { Pane } from './pane.js';
import { cell } from './text.js';
import { tint, useTheme } from './theme.js';

export const KEYS: [string, string][] = [
  ['↑/↓ j/k', 'select a service or a set'],
  ['tab ←/→', 'switch between services and sets'],
  ['c', 'checkpoint the stack into a new set (asks for a name)'],
  ['r', 'restore the selected set over the stack'],
  ['n', 'clone the selected set as a new stack'],
  ['x del', 'remove the selected set (asks first)'],
  ['i enter', 'inspect the selected set'],
  ['s', 'stop or start the selected service'],
  ['pgup/pgdn', 'scroll the log; f follows it again'],
  ['?', 'this help'],
  ['q ctrl-c', 'quit (asks whether to leave the stack running)'],
];

const HELP_NOTES = [
  '',
  'Sets: a set taken from a restored stack sits below the set it came from;',
  '* marks the set the stack was restored from; other stacks\' sets are dimmed.',
];

export function HelpOverlay({ width, height }: { width: number; height: number }): React.JSX.Element {
  const inner = width - 2;
  // the keys first; the notes only where there is room for them
  const lines = [...KEYS.map(([k, what]) => `${k.padEnd(11)} ${what}`), ...HELP_NOTES].slice(0, Math.max(1, height - 2));
  return (
    <Pane title="Help · any key closes" width={width} height={height} focused>
      {lines.map((l, i) => (
        <Text key={i} wrap="truncate" dimColor={i >= KEYS.length}>
          {cell(`  ${l}`, inner)}
        </Text>
      ))}
    </Pane>
  );
}

export interface QuestionProps {
  title: string;
  lines: string[];
  choices: string;
  width: number;
  height: number;
}

export function Question({ title, lines, choices, width, height }: QuestionProps): React.JSX.Element {
  const theme = useTheme();
  const inner = width - 2;
  const color = tint(theme, 'yellow');
  return (
    <Pane title={title} width={width} height={height} focused>
      {lines.map((l, i) => (
        <Text key={i} wrap="truncate">
          {cell(`  ${l}`, inner)}
        </Text>
      ))}
      <Text wrap="truncate">{cell('', inner)}</Text>
      <Text bold wrap="truncate" {...(color ? { color } : {})}>
        {cell(`  ${choices}`, inner)}
      </Text>
    </Pane>
  );
}

export interface PromptProps {
  title: string;
  label: string;
  value: string;
  /** the default is shown selected: typing replaces it */
  pristine: boolean;
  error?: string;
  width: number;
  height: number;
}

export function Prompt({ title, label, value, pristine, error, width, height }: PromptProps): React.JSX.Element {
  const theme = useTheme();
  const inner = width - 2;
  const red = tint(theme, 'red');
  return (
    <Pane title={title} width={width} height={height} focused>
      <Text wrap="truncate">
        {`  ${label} `}
        <Text inverse={pristine}>{value}</Text>
        <Text inverse>{pristine ? '' : ' '}</Text>
      </Text>
      <Text wrap="truncate">{cell('', inner)}</Text>
      <Text dimColor wrap="truncate">
        {cell('  enter accepts · esc cancels · typing replaces the suggested name', inner)}
      </Text>
      {error ? (
        <Text wrap="truncate" {...(red ? { color: red } : {})}>
          {cell(`  ${error}`, inner)}
        </Text>
      ) : null}
    </Pane>
  );
}

export function InspectOverlay({ set, lines, scroll, width, height }: { set: string; lines: string[]; scroll: number; width: number; height: number }): React.JSX.Element {
  const inner = width - 2;
  const visible = Math.max(1, height - 2);
  const top = Math.max(0, Math.min(scroll, lines.length - visible));
  return (
    <Pane title={`Inspect · ${set} · ↑/↓ pgup/pgdn scroll · esc closes`} width={width} height={height} focused>
      {lines.slice(top, top + visible).map((l, i) => (
        <Text key={i} wrap="truncate">
          {cell(l, inner)}
        </Text>
      ))}
      <Box flexGrow={1} />
    </Pane>
  );
}
