// A bordered pane whose title sits in its top border; the focused pane's title is bracketed,
// so focus shows without colour too.
import React from 'react';
import { Box, Text } from 'ink';
import { fit } from './text.js';
import { tint, useTheme } from './theme.js';

export interface PaneProps {
  title: string;
  width: number;
  height: number;
  focused?: boolean;
  children?: React.ReactNode;
}

export function topBorder(title: string, width: number, focused: boolean): string {
  const label = focused ? `[ ${title} ]` : ` ${title} `;
  const head = '┌─' + fit(label, Math.max(0, width - 3));
  return head + '─'.repeat(Math.max(0, width - 1 - head.length)) + '┐';
}

export function Pane({ title, width, height, focused = false, children }: PaneProps): React.JSX.Element {
  const theme = useTheme();
  const borderColor = focused ? tint(theme, 'cyan') : undefined;
  return (
    <Box flexDirection="column" width={width} height={height} flexShrink={0}>
      <Text bold={focused} {...(borderColor ? { color: borderColor } : {})}>
        {topBorder(title, width, focused)}
      </Text>
      <Box
        flexDirection="column"
        width={width}
        height={Math.max(1, height - 1)}
        borderStyle="single"
        borderTop={false}
        overflow="hidden"
        {...(borderColor ? { borderColor } : {})}
      >
        {children}
      </Box>
    </Box>
  );
}
